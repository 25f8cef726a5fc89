// worker-csp.html's script: a worker view whose worker the page's policy refuses. Records
// the states and errors in window.rfbEvents.
import * as rfbViewer from "/pkg/index.js";

window.rfbViewer = rfbViewer;
window.rfbEvents = [];
try {
  window.apiView = await rfbViewer.createView(document.getElementById("api"), {
    worker: "/rfb-worker.js",
    onState: (state) => window.rfbEvents.push({ type: "state", state }),
    onError: (error) => window.rfbEvents.push({ type: "error", message: error.message, stage: error.stage }),
  });
} catch (error) {
  window.rfbEvents.push({ type: "thrown", message: String(error?.message ?? error) });
}
document.body.dataset.ready = "1";
