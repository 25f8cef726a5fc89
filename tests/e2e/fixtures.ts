// Test fixtures: each test gets its own `rfb serve` on a free port, and a page that fails
// the test on any console.error or page error (unless the test allows that message) and
// prints the browser log (and the server's) when the test fails.
import { test as base, expect, type Page } from "@playwright/test";
import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import path from "node:path";

export const ROOT = path.resolve(__dirname, "../..");
export const RFB_BIN = process.env.RFB_BIN ?? path.join(ROOT, "target/release/rfb");

/** A running `rfb serve`. */
export interface RfbServer {
  port: number;
  /** `http://127.0.0.1:PORT/` (the demo page). */
  url: string;
  /** Everything the server printed. */
  log: string[];
  proc: ChildProcess;
  /** Sends `signal` (SIGINT: graceful shutdown) and waits for the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** How to start the server: the test_card defaults below plus `extra` flags. */
export interface ServerSpec {
  /** `--pattern` (default `test_card`). */
  pattern?: string;
  width?: number;
  height?: number;
  fps?: number;
  /** Listen on this port (default: any free one), e.g. to restart on the same port. */
  port?: number;
  extra?: string[];
  /** Another `rfb` binary than RFB_BIN (e.g. a copy away from the checkout). */
  bin?: string;
  /** Working directory of the server (default: the checkout). */
  cwd?: string;
}

const LISTENING = /^rfb (?:edge )?listening on http:\/\/127\.0\.0\.1:(\d+)\/$/;

export async function startServer(spec: ServerSpec = {}): Promise<RfbServer> {
  return startRfb([
    "serve", "--pattern", spec.pattern ?? "test_card",
    "--width", String(spec.width ?? 640), "--height", String(spec.height ?? 480),
    "--fps", String(spec.fps ?? 30),
    "--port", String(spec.port ?? 0), "--host", "127.0.0.1",
    ...(spec.extra ?? []),
  ], { bin: spec.bin, cwd: spec.cwd });
}

/** Starts `rfb ARGS` (`serve` or `edge`), waits for its first line and `/health`. */
export async function startRfb(args: string[], where: { bin?: string; cwd?: string } = {}): Promise<RfbServer> {
  const bin = where.bin ?? RFB_BIN;
  const proc = spawn(bin, args, { cwd: where.cwd ?? ROOT, stdio: ["ignore", "pipe", "pipe"] });
  const log: string[] = [`$ ${bin} ${args.join(" ")}`];
  createInterface({ input: proc.stderr! }).on("line", (line) => log.push(`[stderr] ${line}`));
  const lines = createInterface({ input: proc.stdout! });
  const exited = new Promise<number | null>((resolve) => proc.on("exit", (code) => resolve(code)));

  const port = await new Promise<number>((resolve, reject) => {
    let first = true;
    const timer = setTimeout(() => reject(new Error(`rfb ${args[0]} printed nothing in 30 s\n${log.join("\n")}`)), 30_000);
    lines.on("line", (line) => {
      log.push(`[stdout] ${line}`);
      if (!first) return;
      first = false;
      clearTimeout(timer);
      const m = LISTENING.exec(line);
      if (m) resolve(Number(m[1]));
      else reject(new Error(`unexpected first line from rfb ${args[0]}: ${JSON.stringify(line)}`));
    });
    proc.on("error", (e) => reject(new Error(`cannot start ${bin}: ${e.message}`)));
    exited.then((code) => reject(new Error(`rfb ${args[0]} exited with ${code}\n${log.join("\n")}`)));
  });
  const url = `http://127.0.0.1:${port}/`;

  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      const res = await fetch(`${url}health`);
      if (res.ok && (await res.text()).trim() === "ok") break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`GET /health never answered ok\n${log.join("\n")}`);
    await new Promise((r) => setTimeout(r, 100));
  }

  return {
    port,
    url,
    log,
    proc,
    async stop(signal: NodeJS.Signals = "SIGINT") {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      const timeout = new Promise<null>((r) => setTimeout(() => r(null), 10_000));
      const code = await Promise.race([exited, timeout]);
      if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGKILL");
      return code;
    },
  };
}

type Options = {
  /** How the test's server is started. */
  serverSpec: ServerSpec;
  /** Console errors this test expects (anything else fails it). An object, because
   * Playwright reads an array option value as a `[value, options]` pair. */
  allowedConsoleErrors: { patterns: RegExp[] };
};

type Fixtures = {
  server: RfbServer;
  /** Every console message and page error, in order. */
  browserLog: string[];
};

export const test = base.extend<Options & Fixtures>({
  serverSpec: [{}, { option: true }],
  allowedConsoleErrors: [{ patterns: [] }, { option: true }],

  server: async ({ serverSpec }, use, testInfo) => {
    const server = await startServer(serverSpec);
    await use(server);
    await server.stop();
    if (testInfo.status !== testInfo.expectedStatus) {
      console.log(`--- rfb serve log (${testInfo.title}) ---\n${server.log.join("\n")}`);
    }
  },

  browserLog: async ({}, use) => {
    await use([]);
  },

  // Depends on `server` so the page is checked and closed before the server stops (its
  // shutdown would otherwise be reported to the still-open page).
  page: async ({ page, allowedConsoleErrors, browserLog, server: _server }, use, testInfo) => {
    const unexpected: string[] = [];
    page.on("console", (msg) => {
      const line = `[${msg.type()}] ${msg.text()}`;
      browserLog.push(line);
      if (msg.type() === "error" && !allowedConsoleErrors.patterns.some((re) => re.test(msg.text()))) {
        unexpected.push(line);
      }
    });
    page.on("pageerror", (error) => {
      const line = `[pageerror] ${error.stack ?? error.message}`;
      browserLog.push(line);
      unexpected.push(line);
    });
    await use(page);
    const failed = testInfo.status !== testInfo.expectedStatus || unexpected.length > 0;
    if (failed) {
      const text = browserLog.join("\n");
      console.log(`--- browser log (${testInfo.title}) ---\n${text}`);
      await testInfo.attach("browser-log", { body: text, contentType: "text/plain" });
    }
    expect(unexpected, "console errors or page errors during the test").toEqual([]);
  },
});

/**
 * Collects a page's console messages and page errors into `log`, and returns the ones that
 * are errors not matching `allowed` (for pages a test opens besides the fixture's `page`).
 */
export function watchConsole(page: Page, log: string[], allowed: RegExp[] = []): string[] {
  const unexpected: string[] = [];
  page.on("console", (msg) => {
    const line = `[${msg.type()}] ${msg.text()}`;
    log.push(line);
    if (msg.type() === "error" && !allowed.some((re) => re.test(msg.text()))) unexpected.push(line);
  });
  page.on("pageerror", (error) => {
    const line = `[pageerror] ${error.stack ?? error.message}`;
    log.push(line);
    unexpected.push(line);
  });
  return unexpected;
}

/** A port nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const { createServer } = await import("node:net");
  return new Promise((resolve) => {
    const srv = createServer();
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as import("node:net").AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

export { expect };
