// `<rfb-view>` in React 19, unchanged: React sets its attributes from props, re-renders
// change them (here `fit`), and `onrfb-state` / `onrfb-stats` props listen to its DOM
// events. Plain `createElement` calls, so Vite needs no JSX plugin. For the tests the page
// exposes the package (`window.rfbViewer`), `window.setFit` and the states React saw.
import { createElement as h, useState } from "react";
import { createRoot } from "react-dom/client";
import * as rfbViewer from "rfb-viewer";
import "rfb-viewer/element";

window.rfbViewer = rfbViewer;
window.reactStates = [];
window.reactStats = 0;

function App() {
  const [fit, setFit] = useState("contain");
  window.setFit = setFit;
  return h("rfb-view", {
    id: "view",
    fit,
    background: "#ff00ff",
    // The spec reads the letterbox back with capture(): the bars are in the backing store
    // only when the frame is scaled in the canvas.
    scaling: "canvas",
    style: { display: "block", width: "900px", height: "400px" },
    "onrfb-state": (e) => window.reactStates.push(e.detail),
    "onrfb-stats": () => (window.reactStats += 1),
  });
}

createRoot(document.getElementById("root")).render(h(App));
