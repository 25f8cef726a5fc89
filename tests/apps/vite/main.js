// A Vite app using the package by its name: `rfb-viewer` (createView) and
// `rfb-viewer/element` (<rfb-view>). Vite bundles the worker (from createWorker()'s
// `new Worker(new URL("./worker.js", import.meta.url))`) and the wasm (from the glue's
// `new URL("rfb_viewer_bg.wasm", import.meta.url)`). Query: worker=0 runs on the main thread.
import * as rfbViewer from "rfb-viewer";
import "rfb-viewer/element";

const inThread = new URLSearchParams(location.search).get("worker") === "0";
const element = document.getElementById("element");
if (inThread) element.setAttribute("no-worker", "");

// For the tests: the package's exports and the view createView() returned.
window.rfbViewer = rfbViewer;
window.apiView = await rfbViewer.createView(document.getElementById("api"), {
  fit: "contain",
  worker: !inThread,
});
