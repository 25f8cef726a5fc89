// A worker script that does not parse (worker-failure.spec.ts): the view must say so.
import init, { runWorker } from "/pkg/rfb_viewer.js";
init().then(() => runWorker( ;
