// A stream whose real codec string this browser cannot decode (the viewer probes
// `avc1.42E01F`, the stream's `Config` names another level or profile): the viewer tries
// `prefer-software`, and when that is refused too it switches to images instead of
// resetting the decoder for ever. WebCodecs is patched to refuse (tests/apps/static/
// codec-patch.js), in-thread and in worker mode.
import path from "node:path";
import { test, expect } from "./fixtures";
import { distinctFrames, expectQuadrants, openViewer, quadrantCentres, stats } from "./viewer";
import { STATIC_DIR, distinctCaptures, staticPages, waitShowing } from "./package";

const PATCH = path.join(STATIC_DIR, "codec-patch.js");
const ALLOWED = [
  /^rfb-viewer: video decode failed at seq \d+: NotSupportedError: .* is not supported here \(test\)/,
  /^rfb-viewer: video decoder configuration `avc1\.\w+` failed: this browser cannot decode it \(also not with prefer-software\); switching to images/,
];

test.use({ allowedConsoleErrors: { patterns: ALLOWED } });

async function decoderResets(url: string) {
  const metrics = (await (await fetch(`${url}metrics`)).json()) as { decoder_resets: number; transport: string }[];
  return metrics;
}

test("in-thread: refused even in software, the view switches to JPEG with correct colours", async ({ page, server }) => {
  await page.addInitScript({ path: PATCH });
  await page.addInitScript(() => (self as any).rfbPatchCodecs("none"));
  await page.goto(server.url);
  await page.waitForFunction(() => (window as any).rfbView?.stats().transport === "jpeg", null, { timeout: 20_000 });
  await page.waitForFunction(() => (window as any).rfbView.state === "negotiated");
  const frames = await distinctFrames(page, 6, () => quadrantCentres(640, 480));
  expectQuadrants(frames);
  const log: string[] = await page.evaluate(() => (self as any).__codecLog);
  const real = log.filter((l) => !l.startsWith("avc1.42E01F"));
  expect(real.map((l) => l.split(" ")[1]), `configure calls: ${log}`).toEqual(["no-preference", "prefer-software"]);
  const errors = await page.evaluate(() => (window as any).rfbEvents.filter((e: any) => e.type === "error"));
  expect(errors.filter((e: any) => e.stage === "configure")).toHaveLength(1);
  // The session now streaming is an image one; nothing keeps resetting.
  expect((await decoderResets(server.url)).map((m) => m.transport)).toEqual(["jpeg"]);
  await page.waitForTimeout(1000);
  expect(real.length).toBe((await page.evaluate(() => (self as any).__codecLog)).filter((l: string) => !l.startsWith("avc1.42E01F")).length);
});

test("in-thread: refused by default, accepted with prefer-software: stays on H.264", async ({ page, server }) => {
  await page.addInitScript({ path: PATCH });
  await page.addInitScript(() => (self as any).rfbPatchCodecs("software"));
  await openViewer(page, server, { transport: "video" });
  const frames = await distinctFrames(page, 6, () => quadrantCentres(640, 480));
  expectQuadrants(frames);
  expect((await stats(page)).transport).toBe("h264");
  const log: string[] = await page.evaluate(() => (self as any).__codecLog);
  expect(log.filter((l) => !l.startsWith("avc1.42E01F")).at(-1)).toMatch(/ prefer-software$/);
});

test.describe("worker mode", () => {
  test.use({ serverSpec: { extra: staticPages } });

  test("refused even in software: the worker view switches to JPEG", async ({ page, server }) => {
    await page.goto(`${server.url}element.html`);
    await page.waitForFunction(() => document.body.dataset.ready === "1");
    await page.evaluate(async () => {
      const w = window as any;
      const div = document.createElement("div");
      div.style.cssText = "width: 640px; height: 480px";
      document.body.append(div);
      w.apiView = await w.rfbViewer.createView(div, { worker: "/codec-worker.js?mode=none" });
    });
    await page.waitForFunction(() => (window as any).apiView.stats().transport === "jpeg", null, { timeout: 20_000 });
    await waitShowing(page, "window.apiView");
    const frames = await distinctCaptures(page, "window.apiView", 6, () => quadrantCentres(640, 480));
    expectQuadrants(frames);
    expect((await decoderResets(server.url)).map((m) => m.transport)).toEqual(["jpeg"]);
  });
});
