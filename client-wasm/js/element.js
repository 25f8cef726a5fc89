/**
 * `<rfb-view>`: the viewer as a custom element. Importing this module (`rfb-viewer/element`)
 * registers it; `defineRfbView(name)` registers it under another name too.
 *
 *   <rfb-view src="ws://host:8765/" fit="contain" controls></rfb-view>
 *
 * Attributes mirror the view's options (table in README.md); `fit` and `background` apply
 * live through `setFit`, any other change rebuilds the view (dispose, then create) inside
 * the same element. The view is created when the element is connected and disposed when it
 * is removed. Events `rfb-state`, `rfb-stats` and `rfb-error` bubble out of the shadow root.
 */
import { createView } from "./index.js";

/** String attributes -> option names. */
const STRING_ATTRIBUTES = { src: "url", token: "token", fit: "fit", background: "background" };
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
  "src", "token", ...Object.keys(NUMBER_ATTRIBUTES),
  "image-only", "no-input", "debug", "no-worker", "worker-url", "reconnect",
];

const DEFAULT_FIT = "contain";
const DEFAULT_BACKGROUND = "#000000";

const STYLE = `
:host {
  display: block;
  position: relative;
  width: 300px;
  height: 150px;
  overflow: hidden;
  contain: content;
}
:host([hidden]) { display: none; }
:host(:fullscreen) { width: 100%; height: 100%; background: #000; }
canvas {
  position: absolute;
  inset: 0;
  display: block;
  width: 100%;
  height: 100%;
}
canvas:focus { outline: none; }
canvas:focus-visible { outline: 2px solid var(--rfb-accent, #4f9dff); outline-offset: -2px; }
.chrome {
  position: absolute;
  inset: 0;
  display: flex;
  flex-direction: column;
  align-items: flex-start;
  gap: 6px;
  padding: 6px;
  box-sizing: border-box;
  pointer-events: none;
  font: var(--rfb-font, 12px/1.4 system-ui, sans-serif);
  color: var(--rfb-chrome-fg, #f2f2f2);
}
.chrome[hidden] { display: none; }
.toolbar {
  display: flex;
  align-items: center;
  gap: 6px;
  width: 100%;
}
.status, .latency, button, .hud {
  background: var(--rfb-chrome-bg, rgba(16, 16, 16, 0.66));
  border-radius: var(--rfb-radius, 999px);
}
.status, .latency {
  padding: 2px 8px;
  white-space: nowrap;
}
.status::before {
  content: "";
  display: inline-block;
  width: 7px;
  height: 7px;
  margin-right: 6px;
  border-radius: 50%;
  vertical-align: 1px;
  background: var(--_dot, #999);
}
.status[data-state="negotiated"] { --_dot: var(--rfb-accent, #4f9dff); }
.status[data-state="connecting"], .status[data-state="open"], .status[data-state="reconnecting"] {
  --_dot: var(--rfb-warning, #f5b942);
}
.status[data-state="closed"], .status[data-state="error"] { --_dot: var(--rfb-error, #ff6b6b); }
.latency:empty { display: none; }
.spacer { flex: 1; }
button {
  pointer-events: auto;
  display: grid;
  place-items: center;
  width: 28px;
  height: 24px;
  padding: 0;
  border: 0;
  color: inherit;
  font: inherit;
  cursor: pointer;
}
button:hover, button[aria-pressed="true"] { background: var(--rfb-accent, #4f9dff); }
button:focus-visible { outline: 2px solid var(--rfb-accent, #4f9dff); outline-offset: 1px; }
button svg { width: 14px; height: 14px; fill: none; stroke: currentColor; stroke-width: 1.6; }
.hud {
  margin: 0;
  padding: 6px 8px;
  max-width: 100%;
  box-sizing: border-box;
  overflow: hidden;
  border-radius: 6px;
  white-space: pre;
  font: var(--rfb-hud-font, 11px/1.45 ui-monospace, monospace);
}
.hud[hidden] { display: none; }
`;

const ICONS = {
  hud: '<svg viewBox="0 0 14 14" aria-hidden="true"><path d="M2 12V7M5.5 12V2M9 12V5M12.5 12V9"/></svg>',
  fullscreen: '<svg viewBox="0 0 14 14" aria-hidden="true"><path d="M1.5 5V1.5H5M9 1.5h3.5V5M12.5 9v3.5H9M5 12.5H1.5V9"/></svg>',
  screenshot: '<svg viewBox="0 0 14 14" aria-hidden="true"><path d="M1.5 4.5h2.5l1-1.5h4l1 1.5h2.5v7h-11z"/><circle cx="7" cy="7.7" r="2.1"/></svg>',
};

const TEMPLATE = `
<div class="chrome" part="chrome" hidden>
  <div class="toolbar" part="toolbar">
    <span class="status" part="status" role="status" data-state="idle">idle</span>
    <span class="latency" part="latency" title="latency"></span>
    <span class="spacer"></span>
    <button type="button" part="button hud-button" data-action="hud" aria-pressed="false" title="Stats" aria-label="Stats">${ICONS.hud}</button>
    <button type="button" part="button fullscreen-button" data-action="fullscreen" title="Fullscreen" aria-label="Fullscreen">${ICONS.fullscreen}</button>
    <button type="button" part="button screenshot-button" data-action="screenshot" title="Screenshot (PNG)" aria-label="Screenshot">${ICONS.screenshot}</button>
  </div>
  <pre class="hud" part="hud" hidden></pre>
</div>
`;

/** The shadow roots' stylesheet, shared; constructed (not a `<style>` element) so that a
 * page whose CSP forbids inline styles still styles the element. */
let sharedSheet = null;

function adoptStyles(root) {
  if ("adoptedStyleSheets" in root && typeof CSSStyleSheet.prototype.replaceSync === "function") {
    if (sharedSheet === null) {
      sharedSheet = new CSSStyleSheet();
      sharedSheet.replaceSync(STYLE);
    }
    root.adoptedStyleSheets = [sharedSheet];
  } else {
    const style = document.createElement("style");
    style.textContent = STYLE;
    root.prepend(style);
  }
}

const oneDecimal = (v) => v.toFixed(1);

/** The stats HUD's lines. */
function hudText(state, stats, timing, fps) {
  const lines = [`${state} · ${stats.transport ?? "-"} · ${oneDecimal(fps)} fps`];
  let frames = `frames ${stats.framesDisplayed} shown, ${stats.framesDropped} dropped`;
  if (stats.frameWidth !== null) frames += ` · ${stats.frameWidth}x${stats.frameHeight}`;
  if (stats.format && stats.format !== stats.transport) frames += ` · ${stats.format} still`;
  lines.push(frames);
  if (timing?.receiveToDisplayMs !== null && timing?.receiveToDisplayMs !== undefined) {
    lines.push(`receive→display ${oneDecimal(timing.receiveToDisplayMs)} ms`);
  }
  if (stats.serverRttMs !== null) {
    lines.push(
      `server: rtt ${oneDecimal(stats.serverRttMs)} ms · encode ${oneDecimal(stats.serverEncodeMs)} ms` +
        ` · ${oneDecimal(stats.serverBitrateBps / 1e6)} Mbps · dropped ${stats.serverDropped}`,
    );
  }
  if (stats.decoderResets > 0) lines.push(`decoder resets ${stats.decoderResets}`);
  return lines.join("\n");
}

/** The value of a `reconnect` attribute: absent or `on` -> default, `off` -> false. */
function reconnectOption(value) {
  if (value === null || value === "" || value === "on" || value === "true") return undefined;
  if (value === "off" || value === "false") return false;
  throw new TypeError(`<rfb-view reconnect="${value}">: expected "on" or "off"`);
}

export class RfbViewElement extends HTMLElement {
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
  /** Last `onStats` numbers, for the chrome. */
  #lastStats = null;
  #fpsBase = null;
  #shadow;
  #parts;

  constructor() {
    super();
    this.#shadow = this.attachShadow({ mode: "open" });
    this.#shadow.innerHTML = TEMPLATE;
    adoptStyles(this.#shadow);
    const $ = (selector) => this.#shadow.querySelector(selector);
    this.#parts = {
      chrome: $(".chrome"),
      status: $(".status"),
      latency: $(".latency"),
      hud: $(".hud"),
      hudButton: $('[data-action="hud"]'),
    };
    this.#shadow.addEventListener("click", (event) => {
      const button = event.target instanceof Element ? event.target.closest("button[data-action]") : null;
      if (button) this.#action(button.dataset.action);
    });
  }

  // --- lifecycle ------------------------------------------------------------------------

  connectedCallback() {
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

  /** The connection state of the view, null without one. */
  get state() {
    return this.#view === null ? null : this.#view.state;
  }

  /**
   * Options for what attributes cannot say (callbacks, `reconnect` tuning, a `Worker`...).
   * An attribute that is present wins over the same option. Setting it rebuilds the view.
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
    this.setAttribute("src", value);
  }

  get fit() {
    return this.getAttribute("fit") ?? this.#options.fit ?? DEFAULT_FIT;
  }

  set fit(value) {
    this.setAttribute("fit", value);
  }

  get background() {
    return this.getAttribute("background") ?? this.#options.background ?? DEFAULT_BACKGROUND;
  }

  set background(value) {
    this.setAttribute("background", value);
  }

  get controls() {
    return this.hasAttribute("controls");
  }

  set controls(value) {
    this.toggleAttribute("controls", Boolean(value));
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
    const result = view.capture();
    if (typeof result?.then === "function") return result;
    // In-thread: capture() and stats() run back to back, no frame can land between them.
    return { ...result, stats: view.stats() };
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
    }
    const reconnect = reconnectOption(this.getAttribute("reconnect"));
    if (reconnect !== undefined) options.reconnect = reconnect;

    const user = this.#options;
    const live = () => generation === this.#generation;
    options.onState = (state) => {
      if (!live()) return;
      this.#state = state;
      this.#renderStatus();
      this.#emit("rfb-state", state);
      user.onState?.(state);
    };
    options.onStats = (stats, timing) => {
      if (!live()) return;
      this.#statsArrived(stats, timing);
      this.#emit("rfb-stats", { stats, timing });
      user.onStats?.(stats, timing);
    };
    options.onError = (error) => {
      if (!live()) return;
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
      this.#renderStatus();
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
    this.#lastStats = null;
    this.#fpsBase = null;
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
    this.#parts.chrome.hidden = !this.hasAttribute("controls");
  }

  #renderStatus() {
    const state = this.#view?.state ?? this.#state ?? "idle";
    this.#parts.status.dataset.state = state;
    this.#parts.status.textContent = state;
  }

  #statsArrived(stats, timing) {
    const now = performance.now();
    const base = this.#fpsBase;
    const fps = base === null ? 0 : ((stats.framesDisplayed - base.frames) * 1000) / Math.max(1, now - base.at);
    this.#fpsBase = { frames: stats.framesDisplayed, at: now };
    this.#lastStats = { stats, timing, fps };
    const latency = this.#parts.latency;
    if (stats.serverRttMs !== null) {
      latency.textContent = `${oneDecimal(stats.serverRttMs)} ms`;
      latency.title = "round trip: server send → displayed → ack";
    } else if (timing?.receiveToDisplayMs !== null && timing?.receiveToDisplayMs !== undefined) {
      latency.textContent = `${oneDecimal(timing.receiveToDisplayMs)} ms`;
      latency.title = "receive → display";
    }
    this.#renderHud();
  }

  #renderHud() {
    const hud = this.#parts.hud;
    if (hud.hidden || this.#lastStats === null) return;
    const { stats, timing, fps } = this.#lastStats;
    hud.textContent = hudText(this.#view?.state ?? this.#state ?? "idle", stats, timing, fps);
  }

  #action(action) {
    if (action === "hud") {
      const hud = this.#parts.hud;
      hud.hidden = !hud.hidden;
      this.#parts.hudButton.setAttribute("aria-pressed", String(!hud.hidden));
      if (!hud.hidden && this.#lastStats === null) hud.textContent = "waiting for stats…";
      this.#renderHud();
    } else if (action === "fullscreen") {
      const request = document.fullscreenElement === this ? document.exitFullscreen() : this.requestFullscreen();
      // Refused by the browser (no user gesture, a sandboxed frame): not the stream's error.
      request.catch((error) => console.warn(`rfb-view: fullscreen: ${error?.message ?? error}`));
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

/** Saves `blob` as `name` through a temporary link. */
function download(blob, name) {
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = name;
  link.click();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/**
 * Registers the element as `tagName` (default `rfb-view`) and returns its class; a name
 * already defined is left alone. Importing this module already registers `rfb-view`.
 */
export function defineRfbView(tagName = "rfb-view") {
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
