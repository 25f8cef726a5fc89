/**
 * The rfb-viewer worker: the script a `WorkerView` runs its socket, decoder and canvas in.
 * `createWorker()` (index.js) starts it; a site whose CSP or hosting keeps it from being
 * started from the package's location serves a copy (with `rfb_viewer.js` and
 * `rfb_viewer_bg.wasm` beside it) from its own origin and passes that URL as the `worker`
 * option (or the `worker-url` attribute of `<rfb-view>`).
 *
 * `runWorker()` posts a ready message to the page, then serves its messages.
 */
import init, { runWorker } from "./rfb_viewer.js";

// Not `await init()`: bundlers build workers as classic scripts by default (Vite's
// `worker.format` is "iife"), where top-level await does not exist.
init()
  .then(() => runWorker())
  .catch((error) => {
    // Thrown again from a task it is an uncaught error, which the page's WorkerView gets as
    // the worker's `error` event (a rejected promise would stay in here, unseen).
    setTimeout(() => {
      throw error;
    });
  });
