// A TypeScript app using every documented export, option, event, property and method of
// the rfb-viewer package, compiled by `npm run test:types` (`tsc --noEmit`, strict) against
// the built package (client-wasm/pkg). It is never run: it fails to compile when the
// package's declarations change under it (a field renamed, retyped, added or removed in the
// Rust types they are generated from, a facade function or element member dropped).
// `shapes.ts` lists the fields of each object exhaustively; here every value is read into
// a variable of the type the docs promise, and every union is switched on exhaustively.
import init, {
  RemoteFramebufferView,
  WorkerView,
  createView,
  createWorker,
  expectedQuadrantColor,
  init as initAgain,
  supportsWorker,
  type CanvasColorSpace,
  type CaptureOutcome,
  type CaptureResult,
  type CreateViewOptions,
  type ErrorDetails,
  type FitMode,
  type FrameTarget,
  type FromWorker,
  type InitInput,
  type InitOutput,
  type InputStamp,
  type PhotonStats,
  type ReconnectChoice,
  type ReconnectOptions,
  type RemoteFramebufferViewOptions,
  type RfbView,
  type RfbViewerError,
  type RoleName,
  type ServerStatsReport,
  type StageStats,
  type StartWorker,
  type StatsTiming,
  type ToWorker,
  type ViewState,
  type ViewerStats,
  type WorkerChoice,
  type WorkerError,
  type WorkerLayout,
} from "rfb-viewer";
import {
  RfbViewElement,
  defineRfbView,
  type RfbCapture,
  type RfbStatsDetail,
  type RfbViewEventMap,
  type RfbViewOptions,
} from "rfb-viewer/element";

/** Fails to compile when a union grows a member the switch above it does not handle. */
function exhaustive(value: never): never {
  throw new Error(`unhandled ${String(value)}`);
}

function describeState(state: ViewState): string {
  switch (state) {
    case "connecting":
    case "open":
    case "negotiated":
    case "reconnecting":
      return `live: ${state}`;
    case "closed":
    case "error":
      return `ended: ${state}`;
    default:
      return exhaustive(state);
  }
}

function describeFit(fit: FitMode): string {
  switch (fit) {
    case "contain":
      return "letterboxed";
    case "cover":
      return "cropped";
    case "fill":
      return "stretched";
    default:
      return exhaustive(fit);
  }
}

function describeColor(color: CanvasColorSpace): string {
  switch (color) {
    case "srgb":
      return "sRGB";
    case "display-p3":
      return "Display P3";
    default:
      return exhaustive(color);
  }
}

function describeRole(role: RoleName): boolean {
  switch (role) {
    case "control":
      return true;
    case "view":
      return false;
    default:
      return exhaustive(role);
  }
}

/** Every stats field, read with the type the README documents. */
function readStats(stats: ViewerStats): string[] {
  const transport: string | null = stats.transport;
  const framesDisplayed: number = stats.framesDisplayed;
  const framesDropped: number = stats.framesDropped;
  const lastDisplayedSeq: number | null = stats.lastDisplayedSeq;
  const lastFrameSeq: number | null = stats.lastFrameSeq;
  const decodeQueueSize: number = stats.decodeQueueSize;
  const frameWidth: number | null = stats.frameWidth;
  const frameHeight: number | null = stats.frameHeight;
  const pixelRatio: number | null = stats.pixelRatio;
  const colorSpace: CanvasColorSpace | null = stats.colorSpace;
  const format: string | null = stats.format;
  const stills: number = stats.stills;
  const decoderResets: number = stats.decoderResets;
  const serverRttMs: number | null = stats.serverRttMs;
  const serverFpsSent: number | null = stats.serverFpsSent;
  const serverFpsAcked: number | null = stats.serverFpsAcked;
  const serverBitrateBps: number | null = stats.serverBitrateBps;
  const serverEncodeMs: number | null = stats.serverEncodeMs;
  const serverDropped: number | null = stats.serverDropped;
  const serverKeyframes: number | null = stats.serverKeyframes;
  const serverInflight: number | null = stats.serverInflight;
  const targetBitrate: number | null = stats.targetBitrate;
  const targetFps: number | null = stats.targetFps;
  const targetMaxInflight: number | null = stats.targetMaxInflight;
  const targetJpegQuality: number | null = stats.targetJpegQuality;
  const qualityChanges: number = stats.qualityChanges;
  const role: RoleName | null = stats.role;
  const stages: StageStats = stats.stages;
  const photon: PhotonStats | null = stats.inputToPhoton;
  return [
    `${transport ?? "-"} ${format ?? "-"} ${framesDisplayed}/${framesDropped} ${decodeQueueSize}`,
    `${lastDisplayedSeq ?? -1} ${lastFrameSeq ?? -1} ${frameWidth ?? 0}x${frameHeight ?? 0}@${pixelRatio ?? 1}`,
    colorSpace === null ? "no frame" : describeColor(colorSpace),
    `${stills} stills, ${decoderResets} resets, ${qualityChanges} quality changes`,
    `${serverRttMs} ${serverFpsSent} ${serverFpsAcked} ${serverBitrateBps} ${serverEncodeMs}`,
    `${serverDropped} ${serverKeyframes} ${serverInflight}`,
    `${targetBitrate} ${targetFps} ${targetMaxInflight} ${targetJpegQuality}`,
    role === null ? "role unknown" : String(describeRole(role)),
    readStages(stages),
    photon === null ? "no input answered" : `${photon.p50Ms} / ${photon.p95Ms} ms (${photon.samples})`,
  ];
}

/** Every stage, server's (null without `Stats`) and viewer's (null before a frame). */
function readStages(stages: StageStats): string {
  const server: (number | null)[] = [stages.queueMs, stages.encodeMs, stages.sendMs, stages.networkMs];
  const viewer: (number | null)[] = [
    stages.decodeMs, stages.decodeP95Ms, stages.drawMs, stages.drawP95Ms, stages.ackMs,
    stages.receiveToAckMs, stages.receiveToAckP95Ms,
  ];
  return [...server, ...viewer].map((v) => (v === null ? "-" : v.toFixed(1))).join(" ");
}

function readServerReport(report: ServerStatsReport): number {
  const rttMs: number = report.rttMs;
  const fpsSent: number = report.fpsSent;
  const fpsAcked: number = report.fpsAcked;
  const bitrateBps: number = report.bitrateBps;
  const encodeMs: number = report.encodeMs;
  const framesDropped: number = report.framesDropped;
  const keyframesSent: number = report.keyframesSent;
  const inflight: number = report.inflight;
  const targetBitrateBps: number = report.targetBitrateBps;
  const targetFps: number = report.targetFps;
  const queueMs: number = report.queueMs;
  const sendMs: number = report.sendMs;
  const networkMs: number = report.networkMs;
  return rttMs + fpsSent + fpsAcked + bitrateBps + encodeMs + framesDropped + keyframesSent +
    inflight + targetBitrateBps + targetFps + queueMs + sendMs + networkMs;
}

function readTiming(timing: StatsTiming): number {
  const receiveToDisplayMs: number | null = timing.receiveToDisplayMs;
  const server: ServerStatsReport | null = timing.server;
  return (receiveToDisplayMs ?? 0) + (server === null ? 0 : readServerReport(server));
}

function readCapture(capture: CaptureResult | RfbCapture): number {
  const width: number = capture.width;
  const height: number = capture.height;
  const colorSpace: CanvasColorSpace | null = capture.colorSpace;
  const data: Uint8ClampedArray<ArrayBuffer> = capture.data;
  const stats: ViewerStats = capture.stats;
  // The RGBA bytes make an ImageData in the canvas's colour space.
  const image = new ImageData(data, width, height, { colorSpace: colorSpace ?? "srgb" });
  return image.data.length + stats.framesDisplayed;
}

function readError(error: RfbViewerError): string {
  const name: "RfbViewerError" = error.name;
  const message: string = error.message;
  const details: ErrorDetails = error;
  const stage: string = details.stage;
  const code: number | undefined = details.code;
  const retryInMs: number | undefined = details.retryInMs;
  const thrown: Error = error;
  return `${name} ${thrown.message === message} [${stage}] ${code ?? "-"} ${retryInMs ?? "final"}`;
}

const reconnectTuning: Required<ReconnectOptions> = {
  initialDelayMs: 250,
  maxDelayMs: 10_000,
  factor: 2,
  jitter: 0.25,
  maxAttempts: 20,
};
const reconnectChoices: ReconnectChoice[] = [true, false, reconnectTuning, { factor: 3 }];

/** Every option, each with a value of its documented type (`Required`: none left out;
 * `satisfies`: none the declarations lack). */
const allOptions = {
  url: "ws://127.0.0.1:8765/",
  token: "secret",
  imageOnly: false,
  maxInflight: 4,
  fit: "contain",
  background: "#102030",
  devicePixelRatio: 2,
  maxBackingDimension: 4096,
  input: true,
  debug: false,
  decoderStallMs: 1000,
  reconnect: reconnectTuning,
  copyVideoFrames: true,
  connectTimeoutMs: 10_000,
  workerTimeoutMs: 10_000,
  onState: (state: ViewState) => console.log(describeState(state)),
  onStats: (stats: ViewerStats, timing: StatsTiming) => console.log(readStats(stats), readTiming(timing)),
  onError: (error: RfbViewerError) => console.warn(readError(error)),
  onClipboard: (text: string) => console.log(text.length),
  worker: true,
} satisfies Required<CreateViewOptions>;

/** The views' own options are `createView`'s without `worker`. */
const { worker: _worker, ...viewOptions } = allOptions;
const plainOptions: Required<RemoteFramebufferViewOptions> = viewOptions;

/** Both views through their common methods and properties. */
async function useView(view: RfbView): Promise<void> {
  const state: ViewState = view.state;
  const canvas: HTMLCanvasElement = view.canvas;
  readStats(view.stats());
  readCapture(await view.capture());
  view.setFit("cover");
  view.setFit("fill", "rgb(0 0 0)");
  view.setFit("contain", null);
  view.reconnect();
  console.log(describeState(state), canvas.width);
  view.dispose();
}

async function useApi(container: HTMLElement, canvas: HTMLCanvasElement): Promise<void> {
  const input: InitInput = new URL("/pkg/rfb_viewer_bg.wasm", location.href);
  const output: InitOutput = await init({ module_or_path: input });
  await initAgain();
  console.log(output.memory.buffer.byteLength);

  const choices: WorkerChoice[] = [true, false, "/static/rfb-worker.js", new URL("https://example.com/w.js"), createWorker()];
  for (const worker of choices) {
    await useView(await createView(container, { ...plainOptions, worker }));
  }
  await useView(await createView(canvas));
  await useView(await createView(container, { fit: "cover", reconnect: reconnectChoices[1] }));
  if (supportsWorker()) {
    await useView(new WorkerView(canvas, createWorker(), { url: "ws://127.0.0.1:8765/" }));
    await useView(new WorkerView(container, createWorker()));
  }
  await useView(new RemoteFramebufferView(canvas, plainOptions));
  {
    // Explicit resource management: the views free their wasm side when they go.
    using view = new RemoteFramebufferView(container);
    view.free;
  }
  const [r, g, b]: [number, number, number] = expectedQuadrantColor(7, 3);
  console.log(r + g + b);
}

/** The element: properties, methods, events (typed on the element and on `document`). */
async function useElement(): Promise<void> {
  const found: RfbViewElement | null = document.querySelector("rfb-view");
  const element: RfbViewElement = found ?? document.createElement("rfb-view");
  const again: typeof RfbViewElement = defineRfbView("my-view");
  const attributes: readonly string[] = RfbViewElement.observedAttributes;
  console.log(again.name, attributes.length);

  const options: RfbViewOptions = {
    ...plainOptions,
    worker: () => createWorker(),
  };
  element.options = options;
  element.options = { worker: "/static/rfb-worker.js", reconnect: false };
  element.src = "ws://127.0.0.1:8765/cam";
  element.fit = "fill";
  element.background = "white";
  element.controls = true;

  const view: RfbView | null = element.view;
  const state: ViewState | null = element.state;
  const error: string | null = element.error;
  const stats: ViewerStats | null = element.stats();
  console.log(view?.state, state, error, stats === null ? [] : readStats(stats));
  console.log(describeFit(element.fit), element.src, element.background, element.controls, element.options.fit);

  readCapture(await element.capture());
  const png: Blob = await element.screenshot();
  const webp: Blob = await element.screenshot("image/webp");
  console.log(png.size + webp.size);
  element.reconnect();

  element.addEventListener("rfb-state", (event) => {
    const next: ViewState = event.detail;
    console.log(describeState(next));
  });
  element.addEventListener("rfb-stats", (event) => {
    const detail: RfbStatsDetail = event.detail;
    readStats(detail.stats);
    readTiming(detail.timing);
  });
  element.addEventListener("rfb-error", (event) => {
    const thrown: RfbViewerError | Error = event.detail;
    console.log("stage" in thrown ? readError(thrown) : thrown.message);
  });
  element.addEventListener("rfb-clipboard", (event) => {
    const text: string = event.detail;
    console.log(text);
  });
  // The events bubble and are composed: typed on any ancestor too.
  document.body.addEventListener("rfb-state", (event) => console.log(describeState(event.detail)));
  const names: (keyof RfbViewEventMap)[] = ["rfb-state", "rfb-stats", "rfb-error", "rfb-clipboard"];
  console.log(names);
}

/** The worker protocol, as a page that watches its worker (or writes its own) sees it. */
function handleFromWorker(message: FromWorker): string {
  if (message === "ready") return "ready";
  if ("state" in message) return describeState(message.state.state);
  if ("error" in message) {
    const error: WorkerError = message.error;
    return `${error.message} ${error.details.stage}`;
  }
  if ("stats" in message) {
    const target: FrameTarget | null = message.stats.target;
    return `${readStats(message.stats.stats).length} ${target?.width}x${target?.height}@${target?.pixelRatio}`;
  }
  if ("clipboard" in message) return message.clipboard.text;
  if ("tick" in message) return `${readTiming(message.tick.timing)} ${message.tick.stats.framesDisplayed}`;
  if ("capture" in message) {
    const outcome: CaptureOutcome = message.capture.outcome;
    return `${message.capture.id}: ${"result" in outcome ? readCapture(outcome.result) : outcome.error}`;
  }
  return exhaustive(message);
}

/** What a page sends its worker (a custom bootstrap that logs or relays them). */
function describeToWorker(message: ToWorker): string {
  if (message === "reconnect" || message === "dispose") return message;
  if ("start" in message) {
    const { canvas, options, layout, wantsStats } = message.start;
    return `${canvas.width} ${options.url ?? "default url"} ${layout.cssWidth} ${wantsStats}`;
  }
  if ("layout" in message) return describeFit(message.layout.fit);
  if ("send" in message) {
    const input: InputStamp | undefined = message.send.input;
    return `${message.send.bytes.byteLength} bytes${input ? ` (input ${input.id} at ${input.eventAtMs})` : ""}`;
  }
  if ("capture" in message) return `capture ${message.capture.id}`;
  return exhaustive(message);
}

function postToWorker(worker: Worker, offscreen: OffscreenCanvas): void {
  const layout: WorkerLayout = {
    fit: "contain",
    background: "#000000",
    cssWidth: 640,
    cssHeight: 360,
    dpr: 2,
    maxBackingDimension: 4096,
    deviceWidth: 1280,
    deviceHeight: null,
  };
  const start: StartWorker = { canvas: offscreen, options: { url: "ws://127.0.0.1:8765/" }, layout, wantsStats: true };
  const messages: ToWorker[] = [
    { start },
    { layout },
    { send: { bytes: new Uint8Array([1, 2, 3]) } },
    { send: { bytes: new Uint8Array([4]), input: { id: 7, eventAtMs: 1_700_000_000_000.5 } } },
    { capture: { id: 1 } },
    "reconnect",
    "dispose",
  ];
  messages.forEach((message) => console.log(describeToWorker(message)));
  worker.postMessage(messages[0], [offscreen]);
  worker.addEventListener("message", (event: MessageEvent<FromWorker>) => console.log(handleFromWorker(event.data)));
}

export { postToWorker, useApi, useElement };
