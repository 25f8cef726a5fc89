// The demo page: a full-window RemoteFramebufferView with a small HUD overlay.
// Sets `window.rfbView` (the view) and `window.rfbEvents` (every state and error, in order)
// for tests and for poking at it from the console; `document.body.dataset.state` follows
// the connection state.
import init, { RemoteFramebufferView, WorkerView } from "/pkg/rfb_viewer.js";

const params = new URLSearchParams(location.search);
const overlay = document.getElementById("overlay");
const events = [];
window.rfbEvents = events;

const status = {
  state: "loading",
  stream: params.get("stream"),
  transport: "-",
  fps: 0,
  latency: null,
  stats: null,
  error: null,
};

const mbps = (bps) => `${(bps / 1e6).toFixed(bps < 1e6 ? 2 : 1)} Mbps`;
const ms = (v) => `${v.toFixed(1)} ms`;

/** The HUD text: viewer line, frame counts, then the server's report when it sends one. */
function hudLines() {
  const s = status.stats;
  const latency = status.latency === null ? "-" : `${ms(status.latency.value)} (${status.latency.kind})`;
  const where = status.stream ? ` · stream ${status.stream}` : "";
  const lines = [`${status.state}${where} · ${status.transport} · ${status.fps.toFixed(1)} fps · latency ${latency}`];
  if (s) {
    let frames = `frames ${s.framesDisplayed} shown, ${s.framesDropped} dropped`;
    if (s.format && s.format !== s.transport) frames += ` · on screen: ${s.format} still`;
    if (s.decoderResets > 0) frames += ` · decoder resets ${s.decoderResets}`;
    lines.push(frames);
    if (s.serverRttMs !== null) {
      lines.push(
        `server: rtt ${ms(s.serverRttMs)} · sent ${s.serverFpsSent.toFixed(1)} / acked ${s.serverFpsAcked.toFixed(1)} fps` +
          ` · ${mbps(s.serverBitrateBps)} · encode ${ms(s.serverEncodeMs)} · dropped ${s.serverDropped}`,
      );
    }
    const st = s.stages;
    if (st.decodeMs !== null) {
      const part = (name, v) => (v === null ? "" : ` · ${name} ${v.toFixed(1)}`);
      let line = `stages ms:${part("queue", st.queueMs)}${part("encode", st.encodeMs)}${part("send", st.sendMs)}` +
        `${part("network", st.networkMs)}${part("decode", st.decodeMs)}${part("draw", st.drawMs)}${part("ack", st.ackMs)}`;
      if (s.inputToPhoton !== null) line += ` · input→photon p50 ${ms(s.inputToPhoton.p50Ms)}`;
      lines.push(line);
    }
    if (s.targetBitrate !== null) {
      let target = `target: ${mbps(s.targetBitrate)} @ ${s.targetFps.toFixed(0)} fps`;
      if (s.targetMaxInflight !== null) target += ` · in flight ${s.targetMaxInflight} · jpeg q${s.targetJpegQuality}`;
      if (s.qualityChanges > 0) target += ` · ${s.qualityChanges} changes`;
      lines.push(target);
    }
  }
  if (status.error) lines.push(status.error);
  return lines;
}

function render() {
  overlay.textContent = hudLines().join("\n");
  overlay.classList.toggle("error", status.error !== null);
  // An error is announced (and shown even with hud=0); otherwise the overlay is a status.
  overlay.setAttribute("role", status.error !== null ? "alert" : "status");
  if (status.error !== null) overlay.hidden = false;
  document.body.dataset.state = status.state;
}

function numberParam(name) {
  const value = params.get(name);
  return value === null ? undefined : Number(value);
}

/** `url=` wins; `stream=NAME` connects to ws(s)://<this host>/NAME; else the default stream. */
function streamUrl() {
  const url = params.get("url");
  if (url !== null) return url;
  const stream = params.get("stream");
  if (stream === null || stream === "") return undefined;
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  return `${scheme}://${location.host}/${encodeURIComponent(stream)}`;
}

function options() {
  const transport = params.get("transport");
  if (transport !== null && transport !== "image" && transport !== "video") {
    throw new Error(`transport=${transport}: expected image or video`);
  }
  let last = { frames: 0, at: performance.now() };
  return {
    url: streamUrl(),
    token: params.get("token") ?? undefined,
    imageOnly: transport === "image",
    fit: params.get("fit") ?? undefined,
    background: params.get("bg") ?? undefined,
    devicePixelRatio: numberParam("dpr"),
    maxInflight: numberParam("inflight"),
    decoderStallMs: numberParam("stall"),
    input: params.get("input") !== "0",
    reconnect: params.get("reconnect") !== "0",
    debug: params.get("debug") === "1",
    onState(state) {
      events.push({ type: "state", state, at: performance.now() });
      status.state = state;
      if (state === "negotiated") status.error = null;
      render();
    },
    onClipboard(text) {
      events.push({ type: "clipboard", text, at: performance.now() });
    },
    onError(error) {
      events.push({ type: "error", stage: error.stage, code: error.code, message: error.message, at: performance.now() });
      // A refused credential is final (the viewer never reconnects): say so plainly.
      status.error = error.code === 4401 ? `not authorized (${error.message})` : error.message;
      if (error.retryInMs !== undefined) status.error += ` (retrying in ${Math.round(error.retryInMs)} ms)`;
      render();
    },
    onStats(stats, timing) {
      const now = performance.now();
      status.fps = ((stats.framesDisplayed - last.frames) * 1000) / Math.max(1, now - last.at);
      last = { frames: stats.framesDisplayed, at: now };
      status.transport = stats.transport ?? "-";
      status.stats = stats;
      // The server's ack round trip when it reports one, else receive -> display here.
      if (stats.serverRttMs !== null) status.latency = { value: stats.serverRttMs, kind: "ack rtt" };
      else if (timing.receiveToDisplayMs !== null) {
        status.latency = { value: timing.receiveToDisplayMs, kind: "receive→display" };
      }
      render();
    },
  };
}

if (params.get("hud") === "0") overlay.hidden = true;
try {
  await init();
  const element = document.getElementById("view");
  // worker=1: the socket, decoder and drawing run in a Web Worker on an OffscreenCanvas.
  window.rfbView =
    params.get("worker") === "1"
      ? new WorkerView(element, new Worker("/pkg/worker.js", { type: "module", name: "rfb-viewer" }), options())
      : new RemoteFramebufferView(element, options());
} catch (error) {
  // The wasm did not load (a missing /pkg/: build it with `npm run build:viewer`), or the
  // options were refused: say so instead of "loading…" for ever.
  console.error("rfb demo: the viewer could not start:", error);
  status.state = "error";
  status.error = `the viewer could not start: ${error?.message ?? error}`;
}
render();
