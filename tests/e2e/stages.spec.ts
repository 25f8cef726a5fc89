// Per-stage timing and input -> photon, in the browser: with `rfb serve --answer-input`
// (each frame answers the input drained before it), mouse moves over the canvas give
// input -> photon samples in `stats().inputToPhoton` and, through the viewer's report, in
// the server's `/metrics`; every stage is present and plausible. No timing targets here
// (numbers are for `npm run bench:latency`): only that each stage is measured, positive
// where it must be, and that the parts never exceed their whole.
import { test, expect } from "./fixtures";
import { openViewer, stats } from "./viewer";

const CASES = [
  { name: "video in-thread", query: { transport: "video" } },
  { name: "image in-thread", query: { transport: "image" } },
  { name: "video in a worker", query: { transport: "video", worker: "1" } },
];

for (const { name, query } of CASES) {
  test.describe(name, () => {
    test.use({ serverSpec: { extra: ["--answer-input", "--stats-interval", "0.5"] } });

    test("input -> photon samples appear and every stage is measured", async ({ page, server }) => {
      await openViewer(page, server, { ...query, hud: "0" });
      const box = (await page.locator("canvas").first().boundingBox())!;
      // Hover across the canvas: each move is an input the next frame answers.
      for (let i = 0; i < 40; i++) {
        await page.mouse.move(box.x + 40 + (i % 20) * 25, box.y + 60 + Math.floor(i / 20) * 200);
        await page.waitForTimeout(25);
      }
      await page.waitForFunction(() => ((window as any).rfbView.stats().inputToPhoton?.samples ?? 0) >= 10, null, {
        timeout: 20_000,
      });
      // The server's Stats carry its stages (every 0.5 s).
      await page.waitForFunction(() => (window as any).rfbView.stats().stages.queueMs !== null, null, { timeout: 10_000 });
      const s = await stats(page);
      const photon = s.inputToPhoton!;
      expect(photon.p50Ms).toBeGreaterThan(0);
      expect(photon.p95Ms).toBeGreaterThanOrEqual(photon.p50Ms);
      expect(photon.p95Ms, "bounded by the viewer's 1 s expiry").toBeLessThanOrEqual(1000);

      const st = s.stages;
      expect(st.decodeMs!, "decoding takes time").toBeGreaterThan(0);
      expect(st.decodeP95Ms!).toBeGreaterThanOrEqual(st.decodeMs! * 0.5);
      expect(st.drawMs!).toBeGreaterThanOrEqual(0);
      expect(st.ackMs!).toBeGreaterThanOrEqual(0);
      // The viewer's parts never add up to more than its receive -> ACK.
      expect(st.decodeMs! + st.drawMs!).toBeLessThanOrEqual(st.receiveToAckMs! + 1e-6);
      expect(st.decodeMs! + st.drawMs! + st.ackMs!).toBeCloseTo(st.receiveToAckMs!, 6);
      for (const field of ["queueMs", "encodeMs", "sendMs", "networkMs"] as const) {
        expect(st[field], field).not.toBeNull();
        expect(st[field]!, field).toBeGreaterThanOrEqual(0);
      }
      expect(st.encodeMs!, "encoding takes time").toBeGreaterThan(0);

      // The server shows the same stages from the ACKs, and the viewer's report.
      await expect
        .poll(async () => (await (await fetch(`${server.url}metrics`)).json())[0].input_to_photon?.samples ?? 0, {
          timeout: 10_000,
        })
        .toBeGreaterThan(0);
      const [m] = await (await fetch(`${server.url}metrics`)).json();
      expect(m.viewer_timings_rejected, "the browser's timings fit the server's round trip").toBe(0);
      for (const stage of ["queue", "encode", "send", "network", "decode", "draw", "ack"]) {
        expect(m.stages[stage].samples, stage).toBeGreaterThan(0);
      }
      expect(m.stages.decode.mean_ms).toBeGreaterThan(0);
      expect(m.input_to_photon.p95_ms).toBeGreaterThanOrEqual(m.input_to_photon.p50_ms);
      // Every stage of a frame together stays within its publish -> ACK.
      const sum = ["queue", "encode", "send", "network", "decode", "draw", "ack"]
        .map((k) => m.stages[k].mean_ms)
        .reduce((a: number, b: number) => a + b, 0);
      expect(sum).toBeLessThanOrEqual(m.latency_ms * 1.1 + 1);
    });
  });
}
