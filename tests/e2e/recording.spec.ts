// A recording plays in the browser: `rfb serve --record` (fragmented MP4, the default) at
// 4 fps, stopped with SIGTERM, is loaded into a <video> element in Chromium. Its duration
// is the one the server reported, currentTime advances while it plays, and the pictures
// drawn from the video into a canvas show the test card each moment should show, both at
// seeked times and at frames presented during playback.
import { execFileSync } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { test, expect } from "./fixtures";
import { near, quadrantCentres, type Rgb } from "./viewer";

const FPS = 4;
const CLIP = path.join(os.tmpdir(), `rfb-e2e-recording-${process.pid}.mp4`);

test.use({ serverSpec: { fps: FPS, extra: ["--record", CLIP] } });
test.afterAll(() => rmSync(CLIP, { force: true }));

test("a fragmented recording stopped by SIGTERM plays in <video> with the test card's colours", async ({ page, server }) => {
  // A page of the server's origin (served by the test), whose viewer package computes the
  // expected colours; they are kept, since the server is about to stop.
  await page.route(`${server.url}recording.html`, (route) =>
    route.fulfill({
      body: '<!doctype html><link rel="icon" href="data:,"><video muted playsinline></video><canvas width="640" height="480"></canvas>',
      contentType: "text/html",
    }),
  );
  await page.goto(`${server.url}recording.html`);
  const expected: Rgb[][] = await page.evaluate(async () => {
    const pkg = await import("/pkg/rfb_viewer.js" as string);
    await pkg.default();
    return Array.from({ length: 64 }, (_, seq) => [0, 1, 2, 3].map((q) => pkg.expectedQuadrantColor(seq, q)));
  });

  await page.waitForTimeout(2_300); // about 9 frames at 4 fps
  expect(await server.stop("SIGTERM"), "exit status after SIGTERM").toBe(0);
  const summary = server.log.find((l) => l.includes("recorded "));
  expect(summary, server.log.join("\n")).toBeDefined();
  const recorded = Number(/, ([\d.]+) s, /.exec(summary!)![1]);
  const frames = Number(/: (\d+) frames/.exec(summary!)![1]);
  const skipped = Number(/\((\d+) skipped/.exec(summary!)![1]);
  expect(frames).toBeGreaterThanOrEqual(6);

  // Served with range support, as a file server would: Chromium cannot seek in a
  // response without it (currentTime stays 0).
  const clip = readFileSync(CLIP);
  await page.route(`${server.url}clip.mp4`, (route) => {
    const range = /bytes=(\d+)-(\d*)/.exec(route.request().headers()["range"] ?? "");
    if (!range) return route.fulfill({ body: clip, contentType: "video/mp4", headers: { "accept-ranges": "bytes" } });
    const start = Number(range[1]);
    const end = range[2] ? Math.min(Number(range[2]), clip.length - 1) : clip.length - 1;
    return route.fulfill({
      status: 206,
      body: clip.subarray(start, end + 1),
      contentType: "video/mp4",
      headers: { "accept-ranges": "bytes", "content-range": `bytes ${start}-${end}/${clip.length}` },
    });
  });
  const meta = await page.evaluate(async () => {
    const video = document.querySelector("video")!;
    video.src = "/clip.mp4";
    await new Promise((ok, fail) => {
      video.onloadeddata = ok;
      video.onerror = () => fail(new Error(`video error ${video.error?.code}: ${video.error?.message}`));
    });
    return { duration: video.duration, width: video.videoWidth, height: video.videoHeight };
  });
  expect([meta.width, meta.height]).toEqual([640, 480]);
  expect(Math.abs(meta.duration - recorded), `duration ${meta.duration} s, recorded ${recorded} s`).toBeLessThan(0.05);

  const points = quadrantCentres(640, 480);
  // A frame's time in the file is its publish time, from the first recorded frame on. The
  // publisher aims card n at (n - 1) / 4 s, so the frame p s after the first recorded card
  // c0 shows card c0 + round(4 p), give or take one where a publish ran late on a loaded
  // machine (its time is when it happened); a card the recorder skipped is simply not in
  // the file, and c0 is card 1 unless the recorder's first take came after a few publishes
  // (counted as skipped). So: each picture shows one card within a tick of its time's,
  // and cards only move forward. The frame times come from ffprobe; the picture at the
  // middle of each frame is drawn after seeking there.
  const times = execFileSync("ffprobe", ["-v", "error", "-select_streams", "v:0", "-show_entries", "packet=pts_time", "-of", "csv=p=0", CLIP])
    .toString()
    .trim()
    .split("\n")
    .map(Number);
  expect(times.length).toBe(frames);
  let firstCard: number | undefined;
  const cardShown = (pixels: Rgb[], time: number, what: string) => {
    if (firstCard === undefined) {
      firstCard = expected.findIndex((card, seq) => seq >= 1 && seq <= 1 + skipped && card.every((c, q) => near(pixels[q], c)));
      expect(firstCard, `${what}: the first recorded frame shows card 1..=${1 + skipped}, got ${JSON.stringify(pixels)}`).toBeGreaterThanOrEqual(1);
    }
    const aimed = firstCard! + Math.round((time - times[0]) * FPS);
    const card = [aimed, aimed - 1, aimed + 1].find((seq) => seq >= 1 && expected[seq].every((c, q) => near(pixels[q], c)));
    expect(card, `${what}: card ${aimed} (±1) expected, got ${JSON.stringify(pixels)}`).toBeDefined();
    return card!;
  };
  let lastCard = 0;
  for (let i = 0; i < frames; i++) {
    const end = i + 1 < frames ? times[i + 1] : recorded;
    const t = (times[i] + end) / 2;
    const pixels: Rgb[] = await page.evaluate(
      async ({ t, points }) => {
        const video = document.querySelector("video")!;
        const seeked = new Promise((ok) => (video.onseeked = ok));
        video.currentTime = t;
        await seeked;
        const ctx = document.querySelector("canvas")!.getContext("2d", { willReadFrequently: true })!;
        ctx.drawImage(video, 0, 0);
        return points.map(([x, y]) => Array.from(ctx.getImageData(x, y, 1, 1).data.slice(0, 3)) as Rgb);
      },
      { t, points },
    );
    const card = cardShown(pixels, times[i], `seeked to ${t.toFixed(3)} s`);
    expect(card, `frame ${i} (${t.toFixed(3)} s) shows a later card than frame ${i - 1}`).toBeGreaterThan(lastCard);
    lastCard = card;
  }

  // Playing: currentTime advances, and each presented frame shows the card of its time.
  const played = await page.evaluate(async (points) => {
    const video = document.querySelector("video")!;
    const ctx = document.querySelector("canvas")!.getContext("2d", { willReadFrequently: true })!;
    video.currentTime = 0;
    await new Promise((ok) => (video.onseeked = ok));
    const shown: { mediaTime: number; pixels: number[][] }[] = [];
    const times: number[] = [];
    const onFrame = (_: number, m: { mediaTime: number }) => {
      ctx.drawImage(video, 0, 0);
      const pixels = points.map(([x, y]) => Array.from(ctx.getImageData(x, y, 1, 1).data.slice(0, 3)));
      shown.push({ mediaTime: m.mediaTime, pixels });
      if (!video.ended) (video as any).requestVideoFrameCallback(onFrame);
    };
    (video as any).requestVideoFrameCallback(onFrame);
    const timer = setInterval(() => times.push(video.currentTime), 200);
    await video.play();
    await new Promise((ok) => (video.onended = ok));
    clearInterval(timer);
    return { shown, times, end: video.currentTime };
  }, points);
  expect(played.times.length, "sampled while playing").toBeGreaterThanOrEqual(3);
  for (let i = 1; i < played.times.length; i++) {
    expect(played.times[i], `currentTime advances: ${played.times}`).toBeGreaterThan(played.times[i - 1]);
  }
  expect(Math.abs(played.end - recorded)).toBeLessThan(0.05);
  expect(played.shown.length, "frames presented while playing").toBeGreaterThanOrEqual(3);
  lastCard = 0;
  for (const { mediaTime, pixels } of played.shown) {
    const card = cardShown(pixels as Rgb[], mediaTime, `played ${mediaTime} s`);
    expect(card, `played ${mediaTime} s: cards only move forward`).toBeGreaterThanOrEqual(lastCard);
    lastCard = card;
  }
});
