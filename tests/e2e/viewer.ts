// Helpers that drive the demo page and read what the viewer shows: open it with query
// parameters, collect (stats, pixels) snapshots of distinct displayed frames, and compare
// sampled pixels with the test_card colours (computed by the wasm export
// `expectedQuadrantColor`, i.e. rfb_protocol::expected_quadrant_color).
import type { Page } from "@playwright/test";
import { expect, type RfbServer } from "./fixtures";

/** Per-channel tolerance for decoded colours (JPEG and H.264 are lossy). */
export const TOLERANCE = 6;

export type Rgb = [number, number, number];

/** The package's own declaration (generated from the Rust type that builds it). */
export type { ViewerStats } from "../../client-wasm/pkg/index.js";
import type { ViewerStats } from "../../client-wasm/pkg/index.js";

/** One displayed frame: stats, backing-store size and sampled pixels, read atomically. */
export interface Snapshot {
  stats: ViewerStats;
  width: number;
  height: number;
  /** Pixels at the requested points (backing-store pixels). */
  pixels: Rgb[];
  /** `expectedQuadrantColor(stats.lastFrameSeq, q)` for q = 0..3. */
  expected: Rgb[];
}

export type Transport = "video" | "image";

/** Opens the demo page and waits until the view is negotiated and showing frames. */
export async function openViewer(page: Page, server: RfbServer, query: Record<string, string> = {}) {
  const qs = new URLSearchParams(query).toString();
  await page.goto(`${server.url}${qs ? `?${qs}` : ""}`);
  await page.waitForFunction(() => (window as any).rfbView?.state === "negotiated", null, { timeout: 15_000 });
  await waitForFrames(page, 1);
}

export async function stats(page: Page): Promise<ViewerStats> {
  return page.evaluate(() => (window as any).rfbView.stats());
}

export async function waitForFrames(page: Page, count: number) {
  await page.waitForFunction((n) => (window as any).rfbView.stats().framesDisplayed >= n, count, {
    timeout: 20_000,
  });
}

/** Reads stats and the pixels at `points` from the same displayed frame. */
export async function snapshot(page: Page, points: [number, number][]): Promise<Snapshot> {
  return page.evaluate(async (points) => {
    const pkg = await import("/pkg/rfb_viewer.js" as string);
    const view = (window as any).rfbView;
    // capture() resolves with the stats of the captured frame, in both modes.
    const cap = await view.capture();
    const stats = cap.stats;
    const pixels = points.map(([x, y]) => {
      const px = Math.min(cap.width - 1, Math.max(0, Math.floor(x)));
      const py = Math.min(cap.height - 1, Math.max(0, Math.floor(y)));
      const i = (py * cap.width + px) * 4;
      return [cap.data[i], cap.data[i + 1], cap.data[i + 2]];
    });
    const seq = stats.lastFrameSeq ?? 0;
    const expected = [0, 1, 2, 3].map((q) => pkg.expectedQuadrantColor(seq, q));
    return { stats, width: cap.width, height: cap.height, pixels, expected };
  }, points) as Promise<Snapshot>;
}

/** Snapshots of `count` distinct displayed frames (by lastDisplayedSeq). */
export async function distinctFrames(
  page: Page,
  count: number,
  points: (width: number, height: number) => [number, number][],
  timeoutMs = 20_000,
): Promise<Snapshot[]> {
  const first = await snapshot(page, []);
  const pts = points(first.width, first.height);
  const out: Snapshot[] = [];
  let last: number | null = null;
  const deadline = Date.now() + timeoutMs;
  while (out.length < count) {
    if (Date.now() > deadline) {
      throw new Error(`only ${out.length} of ${count} distinct frames in ${timeoutMs} ms`);
    }
    const s = await snapshot(page, pts);
    if (s.stats.lastDisplayedSeq !== null && s.stats.lastDisplayedSeq !== last) {
      last = s.stats.lastDisplayedSeq;
      out.push(s);
    }
    await page.waitForTimeout(10);
  }
  return out;
}

export function near(actual: Rgb, expected: Rgb, tolerance = TOLERANCE): boolean {
  return actual.every((v, i) => Math.abs(v - expected[i]) <= tolerance);
}

export function expectColor(actual: Rgb, expected: Rgb, what: string, tolerance = TOLERANCE) {
  expect(near(actual, expected, tolerance), `${what}: got rgb(${actual}), expected rgb(${expected}) ±${tolerance}`).toBe(true);
}

/** Parses `#rrggbb`. */
export function hex(color: string): Rgb {
  const n = parseInt(color.replace("#", ""), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

export interface Rect {
  x: number;
  y: number;
  w: number;
  h: number;
}

/** Where a fw x fh frame lands in a cw x ch canvas (written independently of the Rust). */
export function fitRect(fit: string, fw: number, fh: number, cw: number, ch: number): Rect {
  if (fit === "fill") return { x: 0, y: 0, w: cw, h: ch };
  const scale = fit === "contain" ? Math.min(cw / fw, ch / fh) : Math.max(cw / fw, ch / fh);
  const w = fw * scale;
  const h = fh * scale;
  return { x: (cw - w) / 2, y: (ch - h) / 2, w, h };
}

/** Maps frame pixel (fx, fy) into the canvas through `rect`. */
export function toCanvas(rect: Rect, fw: number, fh: number, fx: number, fy: number): [number, number] {
  return [rect.x + (fx * rect.w) / fw, rect.y + (fy * rect.h) / fh];
}

/** The centres of the four quadrants of a fw x fh frame, in frame pixels. */
export function quadrantCentres(fw: number, fh: number): [number, number][] {
  return [
    [fw / 4, fh / 4],
    [(3 * fw) / 4, fh / 4],
    [fw / 4, (3 * fh) / 4],
    [(3 * fw) / 4, (3 * fh) / 4],
  ];
}

/** Asserts the four quadrant samples (pixels[0..4]) of each snapshot. */
export function expectQuadrants(frames: Snapshot[], offset = 0) {
  for (const f of frames) {
    for (let q = 0; q < 4; q++) {
      expectColor(f.pixels[offset + q], f.expected[q], `frame_seq ${f.stats.lastFrameSeq}, quadrant ${q}`);
    }
  }
  // The test card rotates every frame: more than one colour phase proves frames advanced.
  const phases = new Set(frames.map((f) => (f.stats.lastFrameSeq ?? 0) % 4));
  expect(phases.size, "distinct colour phases among the sampled frames").toBeGreaterThan(1);
}
