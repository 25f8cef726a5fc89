// Types of the rfb-viewer package's entry point (index.js). Everything that crosses into
// the wasm (the view classes, their options, stats, errors, and the worker's messages) is
// declared by the wasm-bindgen glue (rfb_viewer.d.ts), generated from the Rust types that
// also convert it (tsify + serde); this file re-exports those and adds the facade's own
// functions. `tests/types/` compiles a consumer of all of it with `tsc --strict`.
import type {
  RemoteFramebufferView,
  RemoteFramebufferViewOptions,
  WorkerView,
} from "./rfb_viewer.js";

export {
  default,
  default as init,
  RemoteFramebufferView,
  WorkerView,
  expectedQuadrantColor,
} from "./rfb_viewer.js";
export type {
  CanvasColorSpace,
  CaptureOutcome,
  CaptureResult,
  ErrorDetails,
  FitMode,
  FrameTarget,
  FromWorker,
  InitInput,
  InitOutput,
  InputStamp,
  PhotonStats,
  ReconnectChoice,
  ReconnectOptions,
  RemoteFramebufferViewOptions,
  RfbViewerError,
  RoleName,
  ServerStatsReport,
  StageStats,
  StartWorker,
  StatsTiming,
  ToWorker,
  ViewState,
  ViewerStats,
  WorkerError,
  WorkerLayout,
} from "./rfb_viewer.js";

/**
 * Where a `createView` runs the viewer: `true` (the default) in the package's own worker
 * where the browser can, `false` on the main thread, a URL to start that worker script
 * instead (a copy of the package's `worker.js` served by the site, for strict CSPs), or a
 * `Worker` already running it (the view terminates it on `dispose()`).
 */
export type WorkerChoice = boolean | string | URL | Worker;

/** Options of `createView`: the views' own, plus where to run. */
export interface CreateViewOptions extends RemoteFramebufferViewOptions {
  worker?: WorkerChoice;
}

/** What `createView` returns: a `WorkerView` in worker mode, else a `RemoteFramebufferView`. */
export type RfbView = WorkerView | RemoteFramebufferView;

/**
 * Loads the wasm (once) and shows the stream in `element` (a `<canvas>`, used as is, or a
 * container a canvas is appended to): in a `WorkerView` unless `options.worker` is `false`
 * or the browser lacks module workers or `OffscreenCanvas`, else in a
 * `RemoteFramebufferView`.
 */
export function createView(element: HTMLElement, options?: CreateViewOptions): Promise<RfbView>;

/** Starts the package's worker script as a module worker named `rfb-viewer`. */
export function createWorker(): Worker;

/** Whether the browser can run a `WorkerView` (module workers, `OffscreenCanvas`, `transferControlToOffscreen`). */
export function supportsWorker(): boolean;
