// dispose(): the socket closes (the server's session ends), the canvas the view created is
// removed, the state reads `closed`, and no callback runs afterwards.
import { test, expect } from "./fixtures";
import { openViewer } from "./viewer";

async function sessions(url: string): Promise<unknown[]> {
  return (await fetch(`${url}metrics`)).json();
}

for (const transport of ["video", "image"]) {
  test(`transport=${transport}: dispose() closes the socket and removes every listener`, async ({ page, server }) => {
    await openViewer(page, server, { transport });
    expect(await sessions(server.url)).toHaveLength(1);
    const before = await page.evaluate(() => {
      const w = window as any;
      w.rfbView.dispose();
      return { events: w.rfbEvents.length, state: w.rfbView.state };
    });
    expect(before.state).toBe("closed");
    expect(await page.locator("#view canvas").count()).toBe(0);
    await expect.poll(() => sessions(server.url), { timeout: 5_000 }).toHaveLength(0);
    // Nothing more is reported (onStats ticks every second, onState would say `closed`).
    await page.waitForTimeout(1_500);
    const after = await page.evaluate(() => (window as any).rfbEvents.length);
    expect(after).toBe(before.events);
    // Calling it again is harmless.
    await page.evaluate(() => (window as any).rfbView.dispose());
  });
}
