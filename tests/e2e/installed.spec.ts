// The binary is self-contained: a copy of target/release/rfb outside the checkout, run from
// an empty folder with the checkout itself hidden (an empty tmpfs mounted over it in the
// server's own mount namespace, where `unshare` is permitted, as root in CI), serves the
// demo page and the viewer package it embedded at build time; the page shows the test
// card's colours on both transports, and the bytes served are the checkout's.
import { test, expect } from "./fixtures";
import { ROOT, RFB_BIN, startServer, type RfbServer } from "./fixtures";
import { distinctFrames, expectQuadrants, openViewer, quadrantCentres, type Transport } from "./viewer";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

/** Whether this process may make a mount namespace and mount a tmpfs in it. */
function canHideCheckout(): boolean {
  try {
    execFileSync("unshare", ["-m", "--", "sh", "-c", "mount -t tmpfs probe /mnt"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** A folder holding a copy of the binary and a launcher that runs it with ROOT hidden. */
function installedCopy(hide: boolean): { dir: string; launcher: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rfb-installed-"));
  const bin = path.join(dir, "rfb");
  fs.copyFileSync(RFB_BIN, bin);
  fs.chmodSync(bin, 0o755);
  if (!hide) return { dir, launcher: bin };
  const launcher = path.join(dir, "rfb-hidden-checkout");
  fs.writeFileSync(
    launcher,
    [
      "#!/bin/sh",
      "# The copied rfb, with the checkout hidden under an empty tmpfs (own mount namespace).",
      `export RFB_CHECKOUT='${ROOT}' RFB_COPY='${bin}'`,
      `exec unshare -m -- sh -c 'mount -t tmpfs rfb-hidden "$RFB_CHECKOUT" && exec "$RFB_COPY" "$@"' sh "$@"`,
      "",
    ].join("\n"),
  );
  fs.chmodSync(launcher, 0o755);
  return { dir, launcher };
}

const hide = canHideCheckout();
let copy: { dir: string; launcher: string };
let server: RfbServer;

test.beforeAll(async () => {
  copy = installedCopy(hide);
  server = await startServer({ bin: copy.launcher, cwd: copy.dir });
});

test.afterAll(async () => {
  await server?.stop();
  if (copy) fs.rmSync(copy.dir, { recursive: true, force: true });
});

test.beforeEach(() => {
  test.info().annotations.push({
    type: "checkout",
    description: hide ? "hidden from the server (tmpfs in its mount namespace)" : "not hideable here (no unshare): copy only",
  });
});

for (const transport of ["video", "image"] as Transport[]) {
  test(`a copied binary serves its embedded page: test card colours, transport=${transport}`, async ({ page }) => {
    await openViewer(page, server, { transport });
    const frames = await distinctFrames(page, 6, () => quadrantCentres(640, 480));
    expectQuadrants(frames);
  });
}

test("the embedded files are the checkout's, revalidated by ETag", async () => {
  for (const [url, file] of [
    ["", "web/index.html"],
    ["demo.js", "web/demo.js"],
    ["pkg/rfb_viewer.js", "client-wasm/pkg/rfb_viewer.js"],
    ["pkg/rfb_viewer_bg.wasm", "client-wasm/pkg/rfb_viewer_bg.wasm"],
  ]) {
    const res = await fetch(`${server.url}${url}`);
    expect(res.status, url).toBe(200);
    const body = Buffer.from(await res.arrayBuffer());
    expect(body.equals(fs.readFileSync(path.join(ROOT, file))), `${url} is ${file}`).toBe(true);
    const etag = res.headers.get("etag");
    expect(etag, url).toMatch(/^"[0-9a-f]{16}"$/);
    const again = await fetch(`${server.url}${url}`, { headers: { "If-None-Match": etag! } });
    expect(again.status, `${url} revalidated`).toBe(304);
  }
  const wasm = await fetch(`${server.url}pkg/rfb_viewer_bg.wasm`);
  expect(wasm.headers.get("content-type")).toBe("application/wasm");
  expect((await fetch(`${server.url}pkg/.gitignore`)).status).toBe(404);
  expect((await fetch(`${server.url}pkg/../Cargo.toml`)).status).toBe(404);
});
