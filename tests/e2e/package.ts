// Helpers for the package's own pages (tests/apps/): read pixels and stats of one displayed
// frame from an `<rfb-view>` or from a view `createView()` returned, through the async
// `capture()` (a WorkerView's resolves with the stats of exactly the captured frame), in
// the same `Snapshot` shape as viewer.ts so its colour checks apply unchanged.
import type { Page } from "@playwright/test";
import path from "node:path";
import { expect, ROOT, type RfbServer } from "./fixtures";
import type { Rgb, Snapshot } from "./viewer";

/** The static test pages, served with `rfb serve --web-dir` (see `staticPages`). */
export const STATIC_DIR = path.join(ROOT, "tests/apps/static");

/** `serverSpec.extra` serving tests/apps/static at `/` (and the package at `/pkg/`). */
export const staticPages = ["--web-dir", STATIC_DIR];

/**
 * What to read from: a CSS selector of an `<rfb-view>`, or `window.NAME` for a view kept
 * in a global by the page (e.g. `window.apiView`).
 */
export type Target = string;

/** Reads the pixels at `points` (backing-store pixels) and the stats of one displayed frame.
 * The page must expose the package's exports as `window.rfbViewer`. */
export async function captureSnapshot(page: Page, target: Target, points: [number, number][]): Promise<Snapshot> {
  return page.evaluate(
    async ({ target, points }) => {
      const w = window as any;
      const source = target.startsWith("window.") ? w[target.slice(7)] : document.querySelector(target);
      if (!source) throw new Error(`no ${target} on the page`);
      // capture() resolves with the pixels and the stats of that frame, in both modes.
      const cap = await source.capture();
      const pixels = points.map(([x, y]) => {
        const px = Math.min(cap.width - 1, Math.max(0, Math.floor(x)));
        const py = Math.min(cap.height - 1, Math.max(0, Math.floor(y)));
        const i = (py * cap.width + px) * 4;
        return [cap.data[i], cap.data[i + 1], cap.data[i + 2]];
      });
      const seq = cap.stats.lastFrameSeq ?? 0;
      const expected = [0, 1, 2, 3].map((q) => w.rfbViewer.expectedQuadrantColor(seq, q));
      return { stats: cap.stats, width: cap.width, height: cap.height, pixels, expected };
    },
    { target, points },
  ) as Promise<Snapshot>;
}

/** Snapshots of `count` distinct displayed frames (by lastDisplayedSeq) of `target`. */
export async function distinctCaptures(
  page: Page,
  target: Target,
  count: number,
  points: (width: number, height: number) => [number, number][],
  timeoutMs = 20_000,
): Promise<Snapshot[]> {
  const first = await captureSnapshot(page, target, []);
  const pts = points(first.width, first.height);
  const out: Snapshot[] = [];
  let last: number | null = null;
  const deadline = Date.now() + timeoutMs;
  while (out.length < count) {
    if (Date.now() > deadline) throw new Error(`${target}: only ${out.length} of ${count} distinct frames in ${timeoutMs} ms`);
    const s = await captureSnapshot(page, target, pts);
    if (s.stats.lastDisplayedSeq !== null && s.stats.lastDisplayedSeq !== last) {
      last = s.stats.lastDisplayedSeq;
      out.push(s);
    }
    await page.waitForTimeout(10);
  }
  return out;
}

/** Waits until `target`'s view is negotiated and has displayed at least `frames` frames. */
export async function waitShowing(page: Page, target: Target, frames = 1) {
  await page.waitForFunction(
    ({ target, frames }) => {
      const w = window as any;
      const source = target.startsWith("window.") ? w[target.slice(7)] : document.querySelector(target);
      return source?.state === "negotiated" && (source.stats()?.framesDisplayed ?? 0) >= frames;
    },
    { target, frames },
    { timeout: 20_000 },
  );
}

/** Which class the view of an `<rfb-view>` (or a global view) is, by `instanceof` against
 * the classes the page exposes as `window.rfbViewer` (a bundle may rename classes). */
export async function viewKind(page: Page, target: Target): Promise<"worker" | "in-thread" | "none"> {
  return page.evaluate((target) => {
    const w = window as any;
    const source = target.startsWith("window.") ? w[target.slice(7)] : document.querySelector(target);
    const view = source instanceof HTMLElement ? (source as any).view : source;
    if (view instanceof w.rfbViewer.WorkerView) return "worker";
    if (view instanceof w.rfbViewer.RemoteFramebufferView) return "in-thread";
    return "none";
  }, target);
}

/** The server's sessions per stream (`GET /streams`): `{ name: viewers }`. */
export async function viewersPerStream(server: RfbServer): Promise<Record<string, number>> {
  const streams = await (await fetch(`${server.url}streams`)).json();
  return Object.fromEntries(streams.map((s: any) => [s.name, s.viewers]));
}

/** Asserts every sample is one colour (a `solid` stream) and it is the frame's palette colour. */
export function expectSolid(frames: Snapshot[], what: string) {
  for (const f of frames) {
    for (const [i, px] of f.pixels.entries()) {
      const near = px.every((v, c) => Math.abs(v - f.expected[0][c]) <= 6);
      expect(near, `${what} frame_seq ${f.stats.lastFrameSeq} sample ${i}: rgb(${px}) vs rgb(${f.expected[0]})`).toBe(true);
    }
  }
}

export type { Rgb };
