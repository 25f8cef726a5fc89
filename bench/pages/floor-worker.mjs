// The floor's player in a dedicated worker (rfb's worker mode equivalent): the page sends
// `{ canvas, base, fit }` with the canvas transferred (`transferControlToOffscreen`), the
// worker fetches the dump, plays it on the OffscreenCanvas and posts `{ records, errors }`
// back (durations on the worker's clock; `{ error }` when it failed).
import { load, play } from "./floor-player.mjs";

self.onmessage = async (e) => {
  try {
    const { canvas, base, fit } = e.data;
    const { manifest, data } = await load(base);
    self.postMessage(await play({ manifest, data, canvas, fit }));
  } catch (err) {
    self.postMessage({ error: String(err?.stack ?? err) });
  }
};
