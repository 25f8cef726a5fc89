/**
 * The rfb-viewer worker: the entry point a `WorkerView` runs its socket, decoder and canvas
 * in. `createWorker()` (index.js) starts it as a module worker; a site whose CSP forbids
 * loading it from the package's location can serve this file (and the two files it loads,
 * `rfb_viewer.js` and `rfb_viewer_bg.wasm`, beside it) from its own origin and pass that
 * URL as `worker` (or the `worker-url` attribute of `<rfb-view>`).
 *
 * `runWorker()` posts a ready message to the host page, then serves its messages.
 */
import init, { runWorker } from "./rfb_viewer.js";

await init();
runWorker();
