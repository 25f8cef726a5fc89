// The Firefox leg (`npm run test:firefox`, in ./scripts/test.sh): the viewer's core
// scenarios in Debian's firefox-esr, headless, over WebDriver BiDi (puppeteer-core):
// quadrant colours on both transports, in-thread and in worker mode; clicks land on the
// frame pixel under them under every fit mode at DPR 1 and 2; the view comes back after
// the server is killed and restarted on the same port.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  checkQuadrants, fitRect, launchFirefox, newPage, openViewer, quadrantFrames, resetRecorded,
  startServer, waitFor, waitForEvent,
} from "./harness.mjs";

let browser;
before(async () => {
  browser = await launchFirefox();
});
after(async () => {
  await browser?.close();
});

describe("quadrant colours", () => {
  let server;
  before(async () => {
    server = await startServer();
  });
  after(async () => server?.stop());

  for (const worker of ["0", "1"]) {
    for (const transport of ["video", "image"]) {
      test(`worker=${worker} transport=${transport}`, async () => {
        const { page, errors } = await newPage(browser);
        try {
          await openViewer(page, server, { worker, transport });
          checkQuadrants(assert, await quadrantFrames(page, 8));
          const s = await page.evaluate(() => window.rfbView.stats());
          assert.equal(s.transport, transport === "video" ? "h264" : "jpeg");
          assert.equal(await page.evaluate(() => window.rfbView.constructor.name), worker === "1" ? "WorkerView" : "RemoteFramebufferView");
          assert.deepEqual(errors, []);
        } finally {
          await page.close();
        }
      });
    }
  }
});

describe("input mapping", () => {
  let server;
  before(async () => {
    server = await startServer({ extra: ["--record-events"] });
  });
  after(async () => server?.stop());

  for (const fit of ["contain", "cover", "fill"]) {
    for (const dpr of [1, 2]) {
      test(`fit=${fit} dpr=${dpr}: clicks report the frame pixel under them`, async () => {
        const { page, errors } = await newPage(browser, { width: 900, height: 400, dpr });
        try {
          await openViewer(page, server, { fit });
          assert.equal(await page.evaluate(() => window.devicePixelRatio), dpr);
          const r = await page.evaluate(() => {
            const b = window.rfbView.canvas.getBoundingClientRect();
            return { left: b.left, top: b.top, width: b.width, height: b.height };
          });
          const rect = fitRect(fit, 640, 480, r.width, r.height);
          // Firefox reports whole CSS pixels: one of them spans up to this many frame pixels.
          const tolerance = Math.max(0.5, 640 / rect.w) + 0.01;
          let clicked = 0;
          for (const [fx, fy] of [[100, 100], [320, 240], [500, 400], [440, 60]]) {
            const cx = rect.x + (fx * rect.w) / 640;
            const cy = rect.y + (fy * rect.h) / 480;
            if (cx < 1 || cy < 1 || cx > r.width - 1 || cy > r.height - 1) continue; // cropped by cover
            await resetRecorded(server);
            // Whole pixels, as Firefox delivers them: the expected frame pixel is that of
            // the rounded position.
            const px = Math.round(r.left + cx);
            const py = Math.round(r.top + cy);
            await page.mouse.click(px, py);
            const down = await waitForEvent(server, "pointer_down");
            const ex = ((px - r.left - rect.x) * 640) / rect.w;
            const ey = ((py - r.top - rect.y) * 480) / rect.h;
            assert.ok(Math.abs(down.x - ex) <= tolerance && Math.abs(down.y - ey) <= tolerance,
              `frame (${fx}, ${fy}) clicked at (${px}, ${py}): got (${down.x}, ${down.y}), expected (${ex.toFixed(2)}, ${ey.toFixed(2)})`);
            assert.equal(down.inside, true);
            assert.equal(down.button, 1);
            clicked++;
          }
          assert.ok(clicked >= 2, `clicked ${clicked} visible targets`);
          assert.deepEqual(errors, []);
        } finally {
          await page.close();
        }
      });
    }
  }
});

describe("reconnect", () => {
  for (const worker of ["0", "1"]) {
    test(`worker=${worker}: killed and restarted on the same port, the view comes back`, async () => {
      let server = await startServer();
      const { page, errors } = await newPage(browser);
      try {
        await openViewer(page, server, { worker });
        const port = server.port;
        await server.stop("SIGKILL");
        await waitFor(page, () => window.rfbView.state === "reconnecting");
        server = await startServer({ port });
        await waitFor(page, () => window.rfbView.state === "negotiated");
        checkQuadrants(assert, await quadrantFrames(page, 5));
        // Firefox reports each refused attempt as a console error of its own, and the kill as
        // "interrupted while the page was loading" when a page resource was still in flight.
        assert.deepEqual(errors.filter((e) => !/can.t establish a connection to the server at ws:|connection to ws:.* was interrupted while the page was loading/i.test(e)), []);
      } finally {
        await page.close();
        await server.stop();
      }
    });
  }
});
