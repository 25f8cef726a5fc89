// A video decoder failure: the viewer reports it, drops what the decoder held, asks for a
// keyframe, rebuilds the decoder and keeps displaying frames (and acking them).
import { test, expect } from "./fixtures";
import { openViewer, stats } from "./viewer";

// Replaces the 20th chunk handed to a VideoDecoder with garbage claiming to be a keyframe.
const corruptTwentiethChunk = () => {
  const w = window as any;
  let n = 0;
  const Original = w.VideoDecoder;
  w.VideoDecoder = class extends Original {
    decode(chunk: any) {
      n += 1;
      if (n !== 20) return super.decode(chunk);
      const bad = new Uint8Array(200).map((_, i) => (i * 37 + 11) & 255);
      bad.set([0, 0, 0, 1, 0x67, 0x42, 0xff, 0xff, 0xff, 0xff], 0);
      return super.decode(new w.EncodedVideoChunk({ type: "key", timestamp: chunk.timestamp, data: bad }));
    }
  };
};

test.use({ allowedConsoleErrors: { patterns: [/^rfb-viewer: video decode failed at seq \d+: EncodingError: /] } });

test("transport=video: a decoder error is reported, a keyframe requested and the stream resumes", async ({ page, server }) => {
  await page.addInitScript(corruptTwentiethChunk);
  await openViewer(page, server, { transport: "video" });
  await page.waitForFunction(() => (window as any).rfbEvents.some((e: any) => e.type === "error"));
  const atError = await stats(page);
  await page.waitForFunction((n) => (window as any).rfbView.stats().framesDisplayed >= n + 20, atError.framesDisplayed);

  const errors = (await page.evaluate(() => (window as any).rfbEvents)).filter((e: any) => e.type === "error");
  expect(errors).toEqual([expect.objectContaining({ stage: "decode" })]);
  const after = await stats(page);
  expect(after.framesDropped).toBeGreaterThanOrEqual(1);
  expect(await page.evaluate(() => (window as any).rfbView.state)).toBe("negotiated");
  // The server saw the keyframe request (one keyframe at the start, one for the recovery)
  // and every frame was acknowledged, including the dropped one.
  const [session] = await (await fetch(`${server.url}metrics`)).json();
  expect(session.keyframes_sent).toBeGreaterThanOrEqual(2);
  expect(session.frames_sent - session.frames_acked).toBeLessThanOrEqual(2);
});
