/**
 * The optional chrome of `<rfb-view>` (its `controls` attribute): a status pill, a latency
 * badge, a stats HUD and the buttons, in the element's shadow root, and the stylesheet of
 * that root. Styled from outside through custom properties (`--rfb-accent`,
 * `--rfb-chrome-bg`, `--rfb-chrome-fg`, `--rfb-font`, `--rfb-hud-font`, `--rfb-radius`,
 * `--rfb-warning`, `--rfb-error`) and parts (`canvas`, `chrome`, `toolbar`, `status`,
 * `latency`, `hud`, `button`, `hud-button`, `fullscreen-button`, `screenshot-button`,
 * `alert`, `alert-message`, `retry-button`).
 */

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
button[hidden] { display: none; }
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
.alert {
  position: absolute;
  left: 50%;
  top: 50%;
  transform: translate(-50%, -50%);
  max-width: calc(100% - 24px);
  box-sizing: border-box;
  padding: 10px 12px;
  border-radius: 6px;
  border-left: 4px solid var(--rfb-error, #ff6b6b);
  background: var(--rfb-chrome-bg, rgba(16, 16, 16, 0.85));
  color: var(--rfb-chrome-fg, #f2f2f2);
  font: var(--rfb-font, 12px/1.4 system-ui, sans-serif);
  overflow-wrap: anywhere;
}
.alert[hidden] { display: none; }
.alert p { margin: 0 0 8px; }
.alert button { width: auto; padding: 0 10px; border-radius: 4px; background: var(--rfb-accent, #4f9dff); }
`;

const ICONS = {
  hud: '<svg viewBox="0 0 14 14" aria-hidden="true"><path d="M2 12V7M5.5 12V2M9 12V5M12.5 12V9"/></svg>',
  fullscreen: '<svg viewBox="0 0 14 14" aria-hidden="true"><path d="M1.5 5V1.5H5M9 1.5h3.5V5M12.5 9v3.5H9M5 12.5H1.5V9"/></svg>',
  screenshot: '<svg viewBox="0 0 14 14" aria-hidden="true"><path d="M1.5 4.5h2.5l1-1.5h4l1 1.5h2.5v7h-11z"/><circle cx="7" cy="7.7" r="2.1"/></svg>',
};

/** The chrome's markup (the canvas is added per view, before it). */
export const TEMPLATE = `
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
<div class="alert" part="alert" role="alert" hidden>
  <p class="message" part="alert-message"></p>
  <button type="button" part="button retry-button" data-action="retry">Retry</button>
</div>
`;

/** The shadow roots' stylesheet, shared; constructed (not a `<style>` element) so that a
 * page whose CSP forbids inline styles still styles the element. */
let sharedSheet = null;

export function adoptStyles(root) {
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

/** The chrome's elements and what it last showed; the element forwards states and stats. */
export class Chrome {
  #parts;
  /** Last `onStats` numbers and the fps computed from them. */
  #last = null;
  #fpsBase = null;
  #state = "idle";

  /** `root`: the shadow root holding `TEMPLATE`; `onAction(name)` for `fullscreen` and
   * `screenshot` (the HUD button is handled here). */
  constructor(root, onAction) {
    const $ = (selector) => root.querySelector(selector);
    this.#parts = {
      chrome: $(".chrome"),
      alert: $(".alert"),
      alertMessage: $(".alert .message"),
      fullscreenButton: $('[data-action="fullscreen"]'),
      status: $(".status"),
      latency: $(".latency"),
      hud: $(".hud"),
      hudButton: $('[data-action="hud"]'),
    };
    root.addEventListener("click", (event) => {
      const button = event.target instanceof Element ? event.target.closest("button[data-action]") : null;
      if (!button) return;
      if (button.dataset.action === "hud") this.#toggleHud();
      else onAction(button.dataset.action);
    });
  }

  set visible(on) {
    this.#parts.chrome.hidden = !on;
  }

  /** Shows `message` in the alert (`role="alert"`, read out by screen readers) with its
   * Retry button, whether or not the controls are on; null hides it. */
  showError(message) {
    const { alert, alertMessage } = this.#parts;
    if (message === null) {
      alert.hidden = true;
      return;
    }
    alertMessage.textContent = message;
    alert.hidden = false;
  }

  /** Hides the fullscreen button where the browser has no fullscreen API. */
  set fullscreenAvailable(on) {
    this.#parts.fullscreenButton.hidden = !on;
  }

  /** A new view (or none): forget the last one's numbers. */
  reset() {
    this.#last = null;
    this.#fpsBase = null;
    this.#parts.latency.textContent = "";
  }

  showState(state) {
    this.#state = state;
    this.#parts.status.dataset.state = state;
    this.#parts.status.textContent = state;
  }

  showStats(stats, timing) {
    const now = performance.now();
    const base = this.#fpsBase;
    const fps = base === null ? 0 : ((stats.framesDisplayed - base.frames) * 1000) / Math.max(1, now - base.at);
    this.#fpsBase = { frames: stats.framesDisplayed, at: now };
    this.#last = { stats, timing, fps };
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

  #toggleHud() {
    const hud = this.#parts.hud;
    hud.hidden = !hud.hidden;
    this.#parts.hudButton.setAttribute("aria-pressed", String(!hud.hidden));
    if (!hud.hidden && this.#last === null) hud.textContent = "waiting for stats…";
    this.#renderHud();
  }

  #renderHud() {
    const hud = this.#parts.hud;
    if (hud.hidden || this.#last === null) return;
    const { stats, timing, fps } = this.#last;
    hud.textContent = hudText(this.#state, stats, timing, fps);
  }
}

/** Saves `blob` as `name` through a temporary link. */
export function download(blob, name) {
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = name;
  link.click();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

