// The field names of every object the package hands to a page, one list per type, each
// checked against its declaration in both directions: `satisfies Record<keyof T, true>`
// makes a field the declaration lacks an excess property and a field the list lacks a
// missing one, so `npm run test:types` fails when the generated rfb_viewer.d.ts changes
// shape without this file (and the docs) following. `tests/e2e/types.spec.ts` then checks
// the objects the running viewer hands out against the same lists, in both modes: the
// declarations, this consumer and the runtime cannot drift apart.
//
// Type-only imports: Playwright loads this file as it is, with no package to resolve.
import type {
  CaptureResult,
  ErrorDetails,
  FrameTarget,
  PhotonStats,
  ReconnectOptions,
  RemoteFramebufferViewOptions,
  ServerStatsReport,
  StageStats,
  StatsTiming,
  ViewerStats,
  RemoteFramebufferView,
  WorkerLayout,
  WorkerView,
} from "rfb-viewer";
import type * as Index from "rfb-viewer";
import type * as Element from "rfb-viewer/element";
import type { RfbViewElement } from "rfb-viewer/element";

/** `stats()`, `onStats`'s first argument, `capture().stats`. */
export const VIEWER_STATS = {
  transport: true,
  framesDisplayed: true,
  framesDropped: true,
  lastDisplayedSeq: true,
  lastFrameSeq: true,
  decodeQueueSize: true,
  frameWidth: true,
  frameHeight: true,
  pixelRatio: true,
  colorSpace: true,
  format: true,
  stills: true,
  decoderResets: true,
  serverRttMs: true,
  serverFpsSent: true,
  serverFpsAcked: true,
  serverBitrateBps: true,
  serverEncodeMs: true,
  serverDropped: true,
  serverKeyframes: true,
  serverInflight: true,
  targetBitrate: true,
  targetFps: true,
  targetMaxInflight: true,
  targetJpegQuality: true,
  qualityChanges: true,
  role: true,
  stages: true,
  inputToPhoton: true,
} as const satisfies Record<keyof ViewerStats, true>;

/** `stats().stages`. */
export const STAGE_STATS = {
  queueMs: true,
  encodeMs: true,
  sendMs: true,
  networkMs: true,
  decodeMs: true,
  decodeP95Ms: true,
  drawMs: true,
  drawP95Ms: true,
  ackMs: true,
  receiveToAckMs: true,
  receiveToAckP95Ms: true,
} as const satisfies Record<keyof StageStats, true>;

/** `stats().inputToPhoton`, once the app answered some input. */
export const PHOTON_STATS = {
  p50Ms: true,
  p95Ms: true,
  samples: true,
} as const satisfies Record<keyof PhotonStats, true>;

/** `onStats`'s second argument. */
export const STATS_TIMING = {
  receiveToDisplayMs: true,
  server: true,
} as const satisfies Record<keyof StatsTiming, true>;

/** `timing.server`, once the server sends `Stats`. */
export const SERVER_STATS_REPORT = {
  rttMs: true,
  fpsSent: true,
  fpsAcked: true,
  bitrateBps: true,
  encodeMs: true,
  framesDropped: true,
  keyframesSent: true,
  inflight: true,
  targetBitrateBps: true,
  targetFps: true,
  queueMs: true,
  sendMs: true,
  networkMs: true,
} as const satisfies Record<keyof ServerStatsReport, true>;

/** What `capture()` resolves to. */
export const CAPTURE_RESULT = {
  width: true,
  height: true,
  colorSpace: true,
  data: true,
  stats: true,
} as const satisfies Record<keyof CaptureResult, true>;

/** An `RfbViewerError`'s own fields besides `message` (`code` and `retryInMs` are
 * present only where they apply). */
export const ERROR_DETAILS = {
  stage: true,
  code: true,
  retryInMs: true,
} as const satisfies Record<keyof ErrorDetails, true>;

/** Every option of the views (`createView` adds `worker`). */
export const VIEW_OPTIONS = {
  url: true,
  token: true,
  imageOnly: true,
  maxInflight: true,
  fit: true,
  background: true,
  devicePixelRatio: true,
  maxBackingDimension: true,
  input: true,
  debug: true,
  decoderStallMs: true,
  reconnect: true,
  copyVideoFrames: true,
  connectTimeoutMs: true,
  workerTimeoutMs: true,
  onState: true,
  onStats: true,
  onError: true,
  onClipboard: true,
} as const satisfies Record<keyof RemoteFramebufferViewOptions, true>;

/** `reconnect: { ... }`. */
export const RECONNECT_OPTIONS = {
  initialDelayMs: true,
  maxDelayMs: true,
  factor: true,
  jitter: true,
  maxAttempts: true,
} as const satisfies Record<keyof ReconnectOptions, true>;

/** The worker protocol's `layout` body and the `stats` message's `target`. */
export const WORKER_LAYOUT = {
  fit: true,
  background: true,
  cssWidth: true,
  cssHeight: true,
  dpr: true,
  maxBackingDimension: true,
  deviceWidth: true,
  deviceHeight: true,
} as const satisfies Record<keyof WorkerLayout, true>;

export const FRAME_TARGET = {
  width: true,
  height: true,
  pixelRatio: true,
} as const satisfies Record<keyof FrameTarget, true>;

/** The names of a list, sorted (to compare with `Object.keys` of a live object). */
export function names(list: Record<string, true>): string[] {
  return Object.keys(list).sort();
}

/** The values `rfb-viewer` exports (`index.js`). */
export const INDEX_EXPORTS = {
  default: true,
  init: true,
  createView: true,
  createWorker: true,
  supportsWorker: true,
  RemoteFramebufferView: true,
  WorkerView: true,
  expectedQuadrantColor: true,
} as const satisfies Record<keyof typeof Index, true>;

/** The values `rfb-viewer/element` exports (`element.js`). */
export const ELEMENT_EXPORTS = {
  RfbViewElement: true,
  defineRfbView: true,
} as const satisfies Record<keyof typeof Element, true>;

/** The public members of both view classes (on their prototypes). */
export const VIEW_MEMBERS = {
  free: true,
  capture: true,
  dispose: true,
  reconnect: true,
  setFit: true,
  stats: true,
  canvas: true,
  state: true,
} as const satisfies Record<Exclude<keyof RemoteFramebufferView, symbol>, true> &
  Record<Exclude<keyof WorkerView, symbol>, true>;

/** The members `<rfb-view>` adds to `HTMLElement` (its lifecycle callbacks aside). */
export const ELEMENT_MEMBERS = {
  view: true,
  state: true,
  error: true,
  options: true,
  src: true,
  fit: true,
  background: true,
  controls: true,
  stats: true,
  capture: true,
  screenshot: true,
  reconnect: true,
} as const satisfies Record<Exclude<keyof RfbViewElement, keyof HTMLElement>, true>;
