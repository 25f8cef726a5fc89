// Types of `rfb-viewer/element`: the `<rfb-view>` custom element, its events, and the
// global tag and event maps (so `document.querySelector("rfb-view")` and
// `addEventListener("rfb-state", ...)` are typed).
import type {
  CaptureResult,
  CreateViewOptions,
  FitMode,
  RfbView,
  RfbViewerError,
  StatsTiming,
  ViewState,
  ViewerStats,
} from "./index.js";

/** The element's `options`: `createView`'s, where `worker` may also be a function that
 * returns a new `Worker` (called for each view the element builds; a `Worker` object serves
 * one view only, since the view ends it on dispose). */
export interface RfbViewOptions extends Omit<CreateViewOptions, "worker"> {
  worker?: CreateViewOptions["worker"] | (() => Worker);
}

/** `capture()` of the element: the pixels on screen and the stats of that very frame (the
 * views' `CaptureResult`). */
export type RfbCapture = CaptureResult;

/** `detail` of `rfb-stats`: the two arguments of `onStats`. */
export interface RfbStatsDetail {
  stats: ViewerStats;
  timing: StatsTiming;
}

export interface RfbViewEventMap {
  /** The connection state changed (`detail`: the new state). */
  "rfb-state": CustomEvent<ViewState>;
  /** Every second: the viewer's stats and timings. */
  "rfb-stats": CustomEvent<RfbStatsDetail>;
  /** An error: the view's (`RfbViewerError`, with `stage`), or the view could not be built
   * (bad options, wasm failed to load), or a screenshot failed. */
  "rfb-error": CustomEvent<RfbViewerError | Error>;
  /** The app offered text for the clipboard (`detail`: the text). The viewer writes it to
   * the system clipboard itself where the browser allows (at once in Chromium, at the next
   * click or key press on the view in Firefox and Safari). */
  "rfb-clipboard": CustomEvent<string>;
}

/**
 * `<rfb-view>`: attributes `src`, `token`, `fit`, `background`, `scaling`, `image-only`,
 * `max-inflight`, `dpr`, `max-backing-dimension`, `decoder-stall-ms`, `no-input`, `debug`,
 * `no-worker`, `worker-url`, `reconnect="off"`, `controls`.
 */
export class RfbViewElement extends HTMLElement {
  static readonly observedAttributes: string[];
  /** The view, null until it is built (after connection and the wasm's load). */
  readonly view: RfbView | null;
  /** The connection state: the view's, `error` when it could not be built, null before
   * the first build. */
  readonly state: ViewState | null;
  /** The message of the error that ended the connection (also shown, with a Retry button,
   * in the element's alert), null while none did. */
  readonly error: string | null;
  /** Options attributes cannot say (callbacks, reconnect tuning, where to run...); a
   * present attribute wins over the same option. Setting it rebuilds the view. */
  options: RfbViewOptions;
  /** The `src` attribute: the stream's WebSocket URL. */
  src: string;
  /** The `fit` attribute (applied live). */
  fit: FitMode;
  /** The `background` attribute, the letterbox colour (applied live). */
  background: string;
  /** The `controls` attribute: status, latency, stats HUD, fullscreen and screenshot. */
  controls: boolean;
  /** The view's stats, null without a view. */
  stats(): ViewerStats | null;
  /** The pixels on screen with the stats of that frame. Rejects without a view. */
  capture(): Promise<RfbCapture>;
  /** The pixels on screen as an image `Blob` (PNG by default). */
  screenshot(type?: string): Promise<Blob>;
  /** Connects again now (a new view if the last one could not be built). */
  reconnect(): void;
}

/** Registers the element as `tagName` (default `rfb-view`, which importing this module
 * already did) and returns its class; a name already defined is left as it is. */
export function defineRfbView(tagName?: string): typeof RfbViewElement;

declare global {
  interface HTMLElementTagNameMap {
    "rfb-view": RfbViewElement;
  }
  // The events bubble and are composed, so listeners on any ancestor get them typed too.
  interface HTMLElementEventMap extends RfbViewEventMap {}
}
