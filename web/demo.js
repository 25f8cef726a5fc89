// The demo page: a full-window RemoteFramebufferView with a small status overlay.
// Sets `window.rfbView` (the view) and `window.rfbEvents` (every state and error, in order)
// for tests and for poking at it from the console.
import init, { RemoteFramebufferView } from "/pkg/rfb_viewer.js";

const params = new URLSearchParams(location.search);
const overlay = document.getElementById("overlay");
const events = [];
window.rfbEvents = events;

const status = {
  state: "loading",
  transport: "-",
  fps: 0,
  latency: null,
  displayed: 0,
  dropped: 0,
  error: null,
};

function render() {
  const latency = status.latency === null ? "-" : `${status.latency.value.toFixed(1)} ms (${status.latency.kind})`;
  const lines = [
    `${status.state} · ${status.transport} · ${status.fps.toFixed(1)} fps · latency ${latency}`,
    `frames ${status.displayed} shown, ${status.dropped} dropped`,
  ];
  if (status.error) lines.push(status.error);
  overlay.textContent = lines.join("\n");
  overlay.classList.toggle("error", status.error !== null);
}

function numberParam(name) {
  const value = params.get(name);
  return value === null ? undefined : Number(value);
}

function options() {
  const transport = params.get("transport");
  if (transport !== null && transport !== "image" && transport !== "video") {
    throw new Error(`transport=${transport}: expected image or video`);
  }
  let last = { frames: 0, at: performance.now() };
  return {
    url: params.get("url") ?? undefined,
    token: params.get("token") ?? undefined,
    imageOnly: transport === "image",
    fit: params.get("fit") ?? undefined,
    background: params.get("bg") ?? undefined,
    devicePixelRatio: numberParam("dpr"),
    maxInflight: numberParam("inflight"),
    input: params.get("input") !== "0",
    debug: params.get("debug") === "1",
    onState(state) {
      events.push({ type: "state", state, at: performance.now() });
      status.state = state;
      render();
    },
    onError(error) {
      events.push({ type: "error", stage: error.stage, code: error.code, message: error.message });
      status.error = error.message;
      render();
    },
    onStats(stats, timing) {
      const now = performance.now();
      status.fps = ((stats.framesDisplayed - last.frames) * 1000) / Math.max(1, now - last.at);
      last = { frames: stats.framesDisplayed, at: now };
      status.transport = stats.transport ?? "-";
      status.displayed = stats.framesDisplayed;
      status.dropped = stats.framesDropped;
      // The server's ack round trip when it reports one, else receive -> display here.
      if (timing.server) status.latency = { value: timing.server.rttMs, kind: "ack rtt" };
      else if (timing.receiveToDisplayMs !== null) {
        status.latency = { value: timing.receiveToDisplayMs, kind: "receive→display" };
      }
      render();
    },
  };
}

await init();
window.rfbView = new RemoteFramebufferView(document.getElementById("view"), options());
render();
