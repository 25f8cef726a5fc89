// csp.html's script (no inline script under its policy): the element is registered by the
// import; createView() runs the second view in the site's own worker script too.
import * as rfbViewer from "/pkg/index.js";
import "/pkg/element.js";

window.rfbViewer = rfbViewer;
window.apiView = await rfbViewer.createView(document.getElementById("api"), { worker: "/rfb-worker.js" });
