// Helpers for the input specs: read what the server received (`GET /recorded-events`, the
// server started with `--record-events`), and find where a frame pixel is on the page
// (the canvas's bounding rect plus the fit math, written independently of the Rust).
import type { Page } from "@playwright/test";
import { expect, type RfbServer } from "./fixtures";
import { fitRect, toCanvas } from "./viewer";

/** One event as `/recorded-events` reports it (the renderview JSON shape). */
export interface AppEvent {
  type: string;
  x?: number;
  y?: number;
  inside?: boolean;
  pixel_ratio?: number;
  button?: number;
  buttons?: number[];
  modifiers?: string[];
  pointer_type?: string;
  pointer_id?: number;
  dx?: number;
  dy?: number;
  key?: string;
  text?: string;
  code?: string;
  repeat?: boolean;
  width?: number;
  height?: number;
  pwidth?: number;
  pheight?: number;
  ratio?: number;
  timestamp?: number;
}

export interface Recorded {
  client_id: number;
  stream: string;
  received_us: number;
  event: AppEvent;
}

/** The server's `--record-events` flag, for `test.use({ serverSpec: ... })`. */
export const RECORD = ["--record-events"];

export async function recorded(server: RfbServer): Promise<AppEvent[]> {
  const res = await fetch(`${server.url}recorded-events`);
  expect(res.status, "GET /recorded-events (is the server started with --record-events?)").toBe(200);
  return ((await res.json()) as Recorded[]).map((r) => r.event);
}

export async function resetRecorded(server: RfbServer) {
  const res = await fetch(`${server.url}recorded-events/reset`, { method: "POST" });
  expect(res.status).toBe(200);
}

/** Waits until the server has received events satisfying `done`, and returns them all. */
export async function waitForEvents(
  server: RfbServer,
  done: (events: AppEvent[]) => boolean,
  what: string,
  timeoutMs = 10_000,
): Promise<AppEvent[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const events = await recorded(server);
    if (done(events)) return events;
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}; received: ${JSON.stringify(events, null, 1)}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Waits for the first event of `type` (optionally also matching `pred`) and returns it. */
export async function waitForEvent(
  server: RfbServer,
  type: string,
  pred: (e: AppEvent) => boolean = () => true,
): Promise<AppEvent> {
  const events = await waitForEvents(server, (es) => es.some((e) => e.type === type && pred(e)), type);
  return events.find((e) => e.type === type && pred(e))!;
}

/** The canvas's bounding rect in page CSS pixels. */
export async function canvasRect(page: Page) {
  return page.evaluate(() => {
    const r = (window as any).rfbView.canvas.getBoundingClientRect();
    return { left: r.left as number, top: r.top as number, width: r.width as number, height: r.height as number };
  });
}

/**
 * Where frame pixel (fx, fy) of a fw x fh frame is on the page under `fit`, or null when it
 * is not on the canvas (cropped away by `cover`, or within `margin` CSS px of an edge).
 */
export async function pagePoint(
  page: Page,
  fit: string,
  [fw, fh]: [number, number],
  [fx, fy]: [number, number],
  margin = 1,
): Promise<[number, number] | null> {
  const r = await canvasRect(page);
  const [cx, cy] = toCanvas(fitRect(fit, fw, fh, r.width, r.height), fw, fh, fx, fy);
  const visible = cx >= margin && cy >= margin && cx <= r.width - margin && cy <= r.height - margin;
  return visible ? [r.left + cx, r.top + cy] : null;
}

/** Sets the demo's view element to a fixed CSS box at the page's top-left corner. */
export async function setViewSize(page: Page, width: number, height: number) {
  await page.evaluate(
    ([w, h]) => {
      const view = document.getElementById("view")!;
      view.style.cssText = `position: fixed; left: 0; top: 0; width: ${w}px; height: ${h}px`;
    },
    [width, height],
  );
}
