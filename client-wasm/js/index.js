/**
 * rfb-viewer: the browser viewer of rfb (a remote framebuffer in Rust), as an ES module.
 *
 * The Rust/wasm classes come from the wasm-bindgen glue (`rfb_viewer.js`); this facade adds
 * `createView()`, which loads the wasm once and picks the worker viewer where the browser
 * can run it, and `createWorker()`, the one place the worker script is named (written so
 * that bundlers see it: Vite, webpack 5, Rollup and esbuild plugins all recognise
 * `new Worker(new URL("./worker.js", import.meta.url), ...)` and bundle the worker with
 * its wasm). The `<rfb-view>` element lives in `element.js` (`rfb-viewer/element`).
 */
import init, { RemoteFramebufferView, WorkerView, expectedQuadrantColor } from "./rfb_viewer.js";

export { init as default, init, RemoteFramebufferView, WorkerView, expectedQuadrantColor };

/** Starts the package's worker script (`worker.js`) as a module worker named `rfb-viewer`
 * (the name shows in devtools). Keep the call as it is: bundlers only recognise it with
 * literal arguments. */
export function createWorker() {
  return new Worker(new URL("./worker.js", import.meta.url), { type: "module", name: "rfb-viewer" });
}

/**
 * Whether this browser can run the worker viewer: module workers, `OffscreenCanvas` and
 * `HTMLCanvasElement.transferControlToOffscreen`.
 */
export function supportsWorker() {
  return (
    typeof Worker === "function" &&
    typeof OffscreenCanvas === "function" &&
    typeof HTMLCanvasElement === "function" &&
    typeof HTMLCanvasElement.prototype.transferControlToOffscreen === "function"
  );
}

/**
 * The worker for `options.worker`: `undefined`/`true` starts the package's own, a string
 * or URL starts that script (a site's own copy, for strict CSPs), a `Worker` is used as is.
 */
function workerFor(choice) {
  if (choice === undefined || choice === true) return createWorker();
  if (typeof Worker === "function" && choice instanceof Worker) return choice;
  if (typeof choice === "string" || choice instanceof URL) {
    return new Worker(choice, { type: "module", name: "rfb-viewer" });
  }
  throw new TypeError("createView: options.worker is a boolean, a URL (string or URL) or a Worker");
}

/**
 * Loads the wasm (once) and shows the stream in `element`: in a `WorkerView` (socket,
 * decoder and drawing in a worker, on an OffscreenCanvas) unless `options.worker` is
 * `false` or the browser lacks what that needs (or, with the default worker, refuses to
 * start it), else in a `RemoteFramebufferView` (all on the main thread). Every other
 * option is the views' own (see `RemoteFramebufferViewOptions`). The worker belongs to the
 * view from here on: `dispose()` terminates it.
 */
export async function createView(element, options = {}) {
  const { worker: choice, ...viewOptions } = options ?? {};
  await init();
  if (choice === false || !supportsWorker()) {
    // A worker handed over and not used is still ours to end.
    if (typeof Worker === "function" && choice instanceof Worker) choice.terminate();
    return new RemoteFramebufferView(element, viewOptions);
  }
  let worker;
  try {
    worker = workerFor(choice);
  } catch (error) {
    // Only the default may fall back: a worker asked for by name must start or fail loudly.
    // The usual cause is a package loaded from another origin (a CDN), whose worker.js the
    // browser will not start for this page.
    if (choice !== undefined) throw error;
    console.warn(
      `rfb-viewer: cannot start the package's worker (${error?.message ?? error}); running on ` +
        `the main thread. Serve a worker script from this origin and pass it as the worker option.`,
    );
    return new RemoteFramebufferView(element, viewOptions);
  }
  try {
    return new WorkerView(element, worker, viewOptions);
  } catch (error) {
    worker.terminate();
    throw error;
  }
}
