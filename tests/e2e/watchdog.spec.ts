// Decoder failures of every kind (a synchronous throw, a decoder that stalls, a corrupted
// chunk) go through the same recovery: the viewer reports the failure once, drops the
// decoder, sends `DecoderReset` (the server counts it and answers with a keyframe), builds
// a new decoder at that keyframe and shows correct pixels again. While it recovers the
// canvas keeps the last good frame: sampled every few milliseconds, it always shows a
// test card, never black or garbage, and the picture is frozen only for the recovery.
import type { Page } from "@playwright/test";
import { test, expect, type RfbServer } from "./fixtures";
import { installDecoderFaults, mirrorWorkerFaults, workerFaultBootstrap, type DecoderFault, type FaultState } from "./faults";
import { distinctFrames, expectQuadrants, openViewer, quadrantCentres, stats, TOLERANCE, waitForFrames } from "./viewer";

const ALLOWED: Record<DecoderFault, RegExp> = {
  throw: /^rfb-viewer: video decode failed at seq \d+: OperationError: injected fault: decode\(\) threw$/,
  stall: /^rfb-viewer: video decoder stalled: no frame for \d+ ms with \d+ chunks queued; rebuilding it$/,
  corrupt: /^rfb-viewer: video decode failed at seq \d+: EncodingError: /,
};

/** The error stage each fault is reported under. */
const STAGE: Record<DecoderFault, string> = { throw: "decode", stall: "stall", corrupt: "decode" };

/** How long the picture may stay frozen. Expected: a throw or an error is noticed at once
 * (recovery measured 25-47 ms, printed below), a stall after the watchdog's allowance
 * (1000 ms) plus its check period (200 ms) and a keyframe's round trip (~1.1 s). The bounds
 * are about twice that, so a loaded machine's jitter does not fail the test, while a
 * view left frozen (no recovery) still does; which path recovered is checked by the
 * DecoderReset counts below, not by the clock. */
const MAX_FROZEN_MS: Record<DecoderFault, number> = { throw: 1000, stall: 2500, corrupt: 1000 };

async function metrics(server: RfbServer) {
  const sessions = await (await fetch(`${server.url}metrics`)).json();
  expect(sessions).toHaveLength(1);
  return sessions[0];
}

/** Starts sampling the four quadrant centres of the canvas every animation frame (in
 * worker mode, where the page cannot read the canvas, through `capture()` as fast as it
 * answers). */
async function startScreenWatch(page: Page, worker: boolean) {
  await page.evaluate(async (worker) => {
    const pkg = await import("/pkg/rfb_viewer.js" as string);
    const w = window as any;
    const palette = [0, 1, 2, 3].map((phase) => [0, 1, 2, 3].map((q) => pkg.expectedQuadrantColor(phase, q)));
    const watch = { samples: 0, bad: [] as any[], changes: [] as number[], lastSeq: null as number | null, running: true };
    w.__screenWatch = watch;
    const tick = async () => {
      if (!watch.running) return;
      const view = w.rfbView;
      let read: (x: number, y: number) => number[];
      let width: number;
      let height: number;
      if (worker) {
        const capture = await view.capture();
        ({ width, height } = capture);
        read = (x, y) => Array.from(capture.data.slice((y * width + x) * 4, (y * width + x) * 4 + 3));
      } else {
        const canvas = view.canvas as HTMLCanvasElement;
        const ctx = canvas.getContext("2d")!;
        ({ width, height } = canvas);
        read = (x, y) => Array.from(ctx.getImageData(x, y, 1, 1).data.slice(0, 3));
      }
      const px = [0, 1, 2, 3].map((q) => {
        const x = Math.floor((((q % 2) * 2 + 1) * width) / 4);
        const y = Math.floor(((Math.floor(q / 2) * 2 + 1) * height) / 4);
        return read(x, y);
      });
      // Some rotation of the test card, within the tolerance: never black, never garbage.
      const ok = palette.some((colors) => colors.every((c: number[], q: number) => c.every((v, i) => Math.abs(v - px[q][i]) <= 6)));
      watch.samples++;
      if (!ok) watch.bad.push({ at: performance.now(), px });
      const seq = view.stats().lastFrameSeq;
      if (seq !== watch.lastSeq) {
        watch.lastSeq = seq;
        watch.changes.push(performance.now());
      }
      requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  }, worker);
}

async function stopScreenWatch(page: Page) {
  return page.evaluate(() => {
    const watch = (window as any).__screenWatch;
    watch.running = false;
    const gaps = watch.changes.slice(1).map((t: number, i: number) => t - watch.changes[i]);
    return { samples: watch.samples as number, bad: watch.bad as any[], longestFrozenMs: Math.max(0, ...gaps) as number };
  });
}

for (const kind of ["throw", "stall", "corrupt"] as DecoderFault[]) {
  for (const mode of ["in-thread", "worker"] as const) {
  test.describe(`decoder fault: ${kind}, ${mode}`, () => {
    test.use({ allowedConsoleErrors: { patterns: [ALLOWED[kind]] } });

    test(`the view recovers to correct pixels and the server counts the reset`, async ({ page, server }) => {
      expect(TOLERANCE).toBe(6); // the screen watch above hard-codes it
      const worker = mode === "worker";
      if (worker) {
        // The demo page's worker runs a bootstrap that installs the faults in the worker,
        // then the real worker script; the page gets a mirror to arm them and read them.
        await page.addInitScript(mirrorWorkerFaults, workerFaultBootstrap(`${server.url}pkg/worker.js`));
      } else {
        await page.addInitScript(installDecoderFaults);
      }
      await openViewer(page, server, { transport: "video", ...(worker ? { worker: "1" } : {}) });
      await waitForFrames(page, 15);
      expect(await page.evaluate(() => (window as any).rfbView.constructor.name)).toBe(worker ? "WorkerView" : "RemoteFramebufferView");
      await page.waitForFunction(() => (window as any).__rfbFaults.decoders >= 1);
      expect((await metrics(server)).decoder_resets).toBe(0);

      await startScreenWatch(page, worker);
      await page.evaluate((k) => (window as any).__rfbFaults.arm(k), kind);
      await page.waitForFunction(() => (window as any).rfbView.stats().decoderResets >= 1, null, { timeout: 10_000 });
      const atReset = await stats(page);
      await page.waitForFunction((n) => (window as any).rfbView.stats().framesDisplayed >= n + 15, atReset.framesDisplayed);
      const watch = await stopScreenWatch(page);

      // Correct pixels again, from frames the new decoder produced.
      const frames = await distinctFrames(page, 8, () => quadrantCentres(640, 480));
      expectQuadrants(frames);
      const faults: FaultState = await page.evaluate(() => (window as any).__rfbFaults);
      expect(faults.injected).toHaveLength(1);
      const injected = faults.injected[0];
      expect(faults.decoders, "a new decoder was built").toBeGreaterThan(injected.decoder);
      const firstKey = faults.keys.find((k) => k.decoder > injected.decoder && k.outputAt !== null);
      expect(firstKey, "the new decoder started at a keyframe and output it").toBeTruthy();
      const recoveryMs = firstKey!.outputAt! - injected.at;
      console.log(`${kind}: keyframe decoded ${recoveryMs.toFixed(0)} ms after the fault; longest frozen ${watch.longestFrozenMs.toFixed(0)} ms; ${watch.samples} screen samples`);
      expect(recoveryMs).toBeLessThan(MAX_FROZEN_MS[kind]);

      // Never black or garbage, frozen only while recovering.
      expect(watch.samples).toBeGreaterThan(20);
      expect(watch.bad, "screen samples that were not a test card").toEqual([]);
      expect(watch.longestFrozenMs).toBeLessThan(MAX_FROZEN_MS[kind]);

      // Reported once, under the right stage; the viewer stays connected.
      const errors = (await page.evaluate(() => (window as any).rfbEvents)).filter((e: any) => e.type === "error");
      expect(errors).toEqual([expect.objectContaining({ stage: STAGE[kind] })]);
      const s = await stats(page);
      expect(s.decoderResets).toBe(1);
      expect(await page.evaluate(() => (window as any).rfbView.state)).toBe("negotiated");

      // The server saw one DecoderReset and resent from a keyframe; nothing is left unacked.
      const m = await metrics(server);
      expect(m.decoder_resets).toBe(1);
      expect(m.keyframes_sent).toBeGreaterThanOrEqual(2);
      expect(m.inflight_timeouts, "recovered by the viewer, not by the server's backstop").toBe(0);
      expect(m.frames_sent - m.frames_acked).toBeLessThanOrEqual(2);
    });
  });
  }
}
