/**
 * `<rfb-view>`: the viewer as a custom element. Importing this module (`rfb-viewer/element`)
 * registers it; `defineRfbView(name)` registers it under another name too.
 *
 *   <rfb-view src="ws://host:8765/" fit="contain" controls></rfb-view>
 *
 * Attributes mirror the view's options (table in README.md); `fit` and `background` apply
 * live through `setFit`, any other change rebuilds the view (dispose, then create) inside
 * the same element. The view is created when the element is connected and disposed when it
 * is removed. Events `rfb-state`, `rfb-stats`, `rfb-error` and `rfb-clipboard` bubble out of
 * the shadow root.
 *
 * Importing this module where there is no DOM (server-side rendering) defines the class on
 * a plain base and registers nothing; properties set on an `<rfb-view>` before this module
 * loaded apply when it upgrades.
 */
import { Chrome, TEMPLATE, adoptStyles, download } from "./chrome.js";
import { createView } from "./index.js";

/** String attributes -> option names. */
const STRING_ATTRIBUTES = { src: "url", token: "token", fit: "fit", background: "background", scaling: "scaling" };
/** Numeric attributes -> option names (an unparsable value reaches the view, which says so). */
const NUMBER_ATTRIBUTES = {
  "max-inflight": "maxInflight",
  dpr: "devicePixelRatio",
  "max-backing-dimension": "maxBackingDimension",
  "decoder-stall-ms": "decoderStallMs",
};
/** Attributes applied without rebuilding the view. */
const LIVE_ATTRIBUTES = ["fit", "background"];
/** Attributes that only change the chrome. */
const CHROME_ATTRIBUTES = ["controls"];
/** Attributes whose change rebuilds the view. */
const REBUILD_ATTRIBUTES = [
  "src", "token", "scaling", ...Object.keys(NUMBER_ATTRIBUTES),
  "image-only", "no-input", "debug", "no-worker", "worker-url", "reconnect",
];

/** True where the element can go fullscreen (not iOS Safari on a phone, some webviews). */
function fullscreenAvailable() {
  return typeof document !== "undefined" && document.fullscreenEnabled !== false &&
    typeof Element === "function" && typeof Element.prototype.requestFullscreen === "function";
}

/** Workers already handed to a view (and so ended with it). */
const usedWorkers = new WeakSet();

const DEFAULT_FIT = "contain";
const DEFAULT_BACKGROUND = "#000000";

/** The value of a `reconnect` attribute: absent or `on` -> default, `off` -> false. */
function reconnectOption(value) {
  if (value === null || value === "" || value === "on" || value === "true") return undefined;
  if (value === "off" || value === "false") return false;
  throw new TypeError(`<rfb-view reconnect="${value}">: expected "on" or "off"`);
}

/** Properties a page may set before the element is defined (or before this module loads):
 * they sit on the instance then, shadowing the class's accessors, until `connectedCallback`
 * moves them through the setters. */
const UPGRADED_PROPERTIES = ["options", "src", "fit", "background", "controls"];

/** `HTMLElement` where there is one; a plain class elsewhere (server-side rendering in
 * Node, a test runner without a DOM), so that importing this module never throws. */
const ElementBase = typeof HTMLElement === "undefined" ? class {} : HTMLElement;

export class RfbViewElement extends ElementBase {
  static observedAttributes = [...LIVE_ATTRIBUTES, ...CHROME_ATTRIBUTES, ...REBUILD_ATTRIBUTES];

  /** The live view, null while none is built. */
  #view = null;
  /** Bumped on every build and teardown: results and callbacks of older builds are ignored. */
  #generation = 0;
  #buildQueued = false;
  /** A build is awaiting `createView`. */
  #building = false;
  /** The `options` property (attributes win over it). */
  #options = {};
  #state = null;
  /** The message of the last error that ended the connection (shown in the alert). */
  #error = null;
  #shadow;
  #chrome;

  constructor() {
    super();
    // delegatesFocus: el.focus() (and a click anywhere on it) focuses the canvas, which
    // takes the keys when the view forwards input.
    this.#shadow = this.attachShadow({ mode: "open", delegatesFocus: true });
    this.#shadow.innerHTML = TEMPLATE;
    adoptStyles(this.#shadow);
    this.#chrome = new Chrome(this.#shadow, (action) => this.#action(action));
  }

  // --- lifecycle ------------------------------------------------------------------------

  connectedCallback() {
    for (const name of UPGRADED_PROPERTIES) {
      if (Object.prototype.hasOwnProperty.call(this, name)) {
        const value = this[name];
        delete this[name];
        this[name] = value;
      }
    }
    this.#renderChrome();
    if (this.#view === null && !this.#building) this.#queueBuild();
  }

  disconnectedCallback() {
    // A move (removed and inserted again in the same task) keeps the view.
    queueMicrotask(() => {
      if (!this.isConnected) this.#teardown();
    });
  }

  attributeChangedCallback(name, oldValue, newValue) {
    if (oldValue === newValue) return;
    if (CHROME_ATTRIBUTES.includes(name)) this.#renderChrome();
    else if (LIVE_ATTRIBUTES.includes(name)) this.#applyFit();
    else if (this.isConnected) this.#queueBuild();
  }

  // --- properties -----------------------------------------------------------------------

  /** The view (`WorkerView` or `RemoteFramebufferView`), null until it is built. */
  get view() {
    return this.#view;
  }

  /** The connection state: the view's, `error` when it could not be built, null before
   * the first build. */
  get state() {
    return this.#view === null ? this.#state : this.#view.state;
  }

  /** The message of the error that ended the connection (also shown, with a Retry button,
   * in the element's alert), null while none did. */
  get error() {
    return this.#error;
  }

  /**
   * Options for what attributes cannot say (callbacks, `reconnect` tuning, where to run:
   * `worker` may also be a function returning a new `Worker`, called for each view). An
   * attribute that is present wins over the same option. Setting it rebuilds the view.
   */
  get options() {
    return { ...this.#options };
  }

  set options(value) {
    this.#options = { ...(value ?? {}) };
    if (this.isConnected) this.#queueBuild();
  }

  get src() {
    return this.getAttribute("src") ?? "";
  }

  set src(value) {
    this.#reflect("src", value);
  }

  get fit() {
    return this.getAttribute("fit") ?? this.#options.fit ?? DEFAULT_FIT;
  }

  set fit(value) {
    this.#reflect("fit", value);
  }

  get background() {
    return this.getAttribute("background") ?? this.#options.background ?? DEFAULT_BACKGROUND;
  }

  set background(value) {
    this.#reflect("background", value);
  }

  get controls() {
    return this.hasAttribute("controls");
  }

  set controls(value) {
    this.toggleAttribute("controls", Boolean(value));
  }

  /** Sets the attribute, or removes it for null/undefined. */
  #reflect(name, value) {
    if (value === null || value === undefined) this.removeAttribute(name);
    else this.setAttribute(name, String(value));
  }

  // --- methods --------------------------------------------------------------------------

  /** The view's stats (the worker's last report in worker mode), null without a view. */
  stats() {
    return this.#view === null ? null : this.#view.stats();
  }

  /**
   * The pixels on screen, `{ width, height, colorSpace, data, stats }`: RGBA bytes of the
   * canvas backing store and the stats of exactly that frame.
   */
  async capture() {
    const view = this.#view;
    if (view === null) throw new Error("<rfb-view>: no view to capture (not connected yet?)");
    return view.capture();
  }

  /** The pixels on screen as a PNG `Blob` (what the screenshot button downloads). */
  async screenshot(type = "image/png") {
    const shot = await this.capture();
    const colorSpace = shot.colorSpace ?? "srgb";
    const canvas = document.createElement("canvas");
    canvas.width = shot.width;
    canvas.height = shot.height;
    const context = canvas.getContext("2d", { colorSpace });
    context.putImageData(new ImageData(shot.data, shot.width, shot.height, { colorSpace }), 0, 0);
    return new Promise((resolve, reject) =>
      canvas.toBlob((blob) => (blob ? resolve(blob) : reject(new Error("canvas.toBlob gave nothing"))), type),
    );
  }

  /** Connects again now: the view's own `reconnect()`, or a new view if there is none. */
  reconnect() {
    if (this.#view !== null && typeof this.#view.reconnect === "function") this.#view.reconnect();
    else if (this.isConnected) this.#queueBuild();
  }

  // --- building the view ----------------------------------------------------------------

  /** The options the view is built with: the `options` property, then the attributes. */
  #viewOptions(generation) {
    const options = { ...this.#options };
    for (const [attribute, option] of Object.entries(STRING_ATTRIBUTES)) {
      const value = this.getAttribute(attribute);
      if (value !== null) options[option] = value;
    }
    for (const [attribute, option] of Object.entries(NUMBER_ATTRIBUTES)) {
      const value = this.getAttribute(attribute);
      if (value !== null) options[option] = Number(value);
    }
    if (this.hasAttribute("image-only")) options.imageOnly = true;
    if (this.hasAttribute("no-input")) options.input = false;
    if (this.hasAttribute("debug")) options.debug = true;
    if (this.hasAttribute("no-worker")) options.worker = false;
    else if (this.hasAttribute("worker-url")) {
      options.worker = new URL(this.getAttribute("worker-url"), document.baseURI).href;
    } else if (typeof options.worker === "function") {
      options.worker = options.worker(); // a fresh Worker for each view
    } else if (typeof Worker === "function" && options.worker instanceof Worker) {
      // Each view ends its worker on dispose, so a Worker object serves one build only.
      if (usedWorkers.has(options.worker)) {
        throw new TypeError("<rfb-view>: options.worker is a Worker an earlier view ended; pass a function returning a new Worker");
      }
      usedWorkers.add(options.worker);
    }
    const reconnect = reconnectOption(this.getAttribute("reconnect"));
    if (reconnect !== undefined) options.reconnect = reconnect;

    const user = this.#options;
    const live = () => generation === this.#generation;
    options.onState = (state) => {
      if (!live()) return;
      this.#state = state;
      if (state === "negotiated") this.#error = null;
      this.#renderStatus();
      this.#emit("rfb-state", state);
      user.onState?.(state);
    };
    options.onStats = (stats, timing) => {
      if (!live()) return;
      this.#chrome.showStats(stats, timing);
      this.#emit("rfb-stats", { stats, timing });
      user.onStats?.(stats, timing);
    };
    options.onClipboard = (text) => {
      if (!live()) return;
      this.#emit("rfb-clipboard", text);
      user.onClipboard?.(text);
    };
    options.onError = (error) => {
      if (!live()) return;
      // What ended the connection: shown once the view settles in closed or error (a drop
      // that will be retried only shows in the status).
      if (error?.stage === "connection" || error?.stage === "server" || error?.stage === "browser" ||
          error?.stage === "capabilities" || error?.retryInMs !== undefined) {
        this.#error = error?.message ?? String(error);
        this.#renderStatus();
      }
      this.#emit("rfb-error", error);
      user.onError?.(error);
    };
    return options;
  }

  #queueBuild() {
    if (this.#buildQueued) return;
    this.#buildQueued = true;
    // Batches the attribute changes of one task (e.g. a framework setting several).
    queueMicrotask(() => {
      this.#buildQueued = false;
      if (this.isConnected) this.#build();
    });
  }

  async #build() {
    this.#teardown();
    const generation = this.#generation;
    // A fresh canvas per view: a canvas handed to a worker cannot be drawn on from here again.
    const canvas = document.createElement("canvas");
    canvas.setAttribute("part", "canvas");
    this.#shadow.prepend(canvas);
    this.#state = null;
    this.#renderStatus();
    this.#building = true;
    let view;
    try {
      view = await createView(canvas, this.#viewOptions(generation));
    } catch (error) {
      if (generation !== this.#generation) return;
      this.#building = false;
      // No view reports this one: say it here, once, like the view reports its own.
      console.error(`rfb-view: ${error?.message ?? error}`);
      this.#state = "error";
      this.#error = `The viewer could not start: ${error?.message ?? error}`;
      this.#renderStatus();
      this.#emit("rfb-state", "error");
      this.#emit("rfb-error", error);
      return;
    }
    if (generation !== this.#generation) {
      view.dispose();
      return;
    }
    this.#building = false;
    this.#view = view;
    this.#renderStatus();
  }

  /** Disposes the view (if any) and removes its canvas. */
  #teardown() {
    this.#generation += 1;
    const view = this.#view;
    this.#view = null;
    this.#building = false;
    this.#chrome.reset();
    view?.dispose();
    for (const canvas of this.#shadow.querySelectorAll("canvas")) canvas.remove();
  }

  #applyFit() {
    if (this.#view === null) return;
    try {
      this.#view.setFit(this.fit, this.background);
    } catch (error) {
      console.error(`rfb-view: ${error?.message ?? error}`);
      this.#emit("rfb-error", error);
    }
  }

  #emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail, bubbles: true, composed: true }));
  }

  // --- chrome ---------------------------------------------------------------------------

  #renderChrome() {
    this.#chrome.visible = this.hasAttribute("controls");
    this.#chrome.fullscreenAvailable = fullscreenAvailable();
  }

  #renderStatus() {
    const state = this.#view?.state ?? this.#state ?? "idle";
    this.#chrome.showState(state);
    const final = state === "closed" || state === "error";
    this.#chrome.showError(final && this.#error !== null ? this.#error : null);
  }

  /** The chrome's buttons (the HUD toggle is the chrome's own). */
  #action(action) {
    if (action === "fullscreen") {
      if (!fullscreenAvailable()) return;
      let request;
      try {
        request = document.fullscreenElement === this ? document.exitFullscreen() : this.requestFullscreen();
      } catch (error) {
        request = Promise.reject(error);
      }
      // Refused by the browser (no user gesture, a sandboxed frame): not the stream's error.
      Promise.resolve(request).catch((error) => console.warn(`rfb-view: fullscreen: ${error?.message ?? error}`));
    } else if (action === "retry") {
      this.#error = null;
      this.#renderStatus();
      // A view that failed for good (its worker died, it was never built) is built anew.
      if (this.#view === null || this.#view.state === "error") this.#queueBuild();
      else this.#view.reconnect();
    } else if (action === "screenshot") {
      this.screenshot().then(
        (blob) => download(blob, `rfb-${new Date().toISOString().replace(/[:.]/g, "-")}.png`),
        (error) => {
          console.error(`rfb-view: screenshot failed: ${error?.message ?? error}`);
          this.#emit("rfb-error", error);
        },
      );
    }
  }
}

/**
 * Registers the element as `tagName` (default `rfb-view`) and returns its class; a name
 * already defined is left alone. Importing this module already registers `rfb-view`.
 */
export function defineRfbView(tagName = "rfb-view") {
  // No custom elements registry (Node, SSR): nothing to register.
  if (typeof customElements === "undefined") return RfbViewElement;
  const existing = customElements.get(tagName);
  if (existing) return existing;
  // A class can be registered once: another name gets a subclass.
  const taken = defined.size > 0;
  const element = taken ? class extends RfbViewElement {} : RfbViewElement;
  customElements.define(tagName, element);
  defined.add(tagName);
  return element;
}

const defined = new Set();

defineRfbView();
