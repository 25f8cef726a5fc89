// Starting the two servers under test, the static server for the reference's viewer page,
// and reading a process's CPU time from /proc.
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { createServer } from "node:http";
import net from "node:net";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const RFB_BIN = process.env.RFB_BIN ?? path.join(ROOT, "target/release/rfb");
export const REF_PYTHON = process.env.REF_PYTHON ?? "/tmp/ref/bin/python";
export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

/** The reference's static folder (its viewer, widget.js), inside its installed wheel. */
export function refStaticDir() {
  const site = fs.readdirSync(path.join(path.dirname(path.dirname(REF_PYTHON)), "lib"))
    .map((v) => path.join(path.dirname(path.dirname(REF_PYTHON)), "lib", v, "site-packages/pdum/rfb/static"))
    .find((p) => fs.existsSync(path.join(p, "widget.js")));
  if (!site) throw new Error(`pdum.rfb's static/widget.js not found next to ${REF_PYTHON}`);
  return site;
}

export async function freePort() {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

async function waitHealthy(url, log) {
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      const res = await fetch(`${url}health`);
      if (res.ok) return;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error(`${url}health never answered\n${log.join("\n")}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function track(proc, log, onLine) {
  createInterface({ input: proc.stderr }).on("line", (l) => log.push(`[stderr] ${l}`));
  createInterface({ input: proc.stdout }).on("line", (l) => onLine(l));
  const exited = new Promise((resolve) => proc.on("exit", (code) => resolve(code)));
  return {
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGINT");
      const code = await Promise.race([exited, new Promise((r) => setTimeout(() => r("timeout"), 10_000))]);
      if (code === "timeout") proc.kill("SIGKILL");
      return code;
    },
  };
}

/** `RFB_PKG_DIR`: serve this viewer package build instead of the one embedded in the binary
 * (compare viewer builds without rebuilding the server). */
const PKG_DIR = process.env.RFB_PKG_DIR ?? "";
/** `RFB_PAGE_QUERY`: more demo-page parameters for rfb's page (e.g. `scaling=canvas`). */
const PAGE_QUERY = process.env.RFB_PAGE_QUERY ?? "";
/** `RFB_SERVE_ARGS`: more `rfb serve` flags for every rfb server a bench starts
 * (whitespace separated, e.g. `--max-inflight 3`). */
const SERVE_ARGS = (process.env.RFB_SERVE_ARGS ?? "").split(/\s+/).filter(Boolean);

/**
 * `rfb serve` with test_card at `width`x`height`, `fps`; resolves once /health answers.
 * `extra`: more flags.
 */
export async function startRfb({ width, height, fps, extra = [], worker = false }) {
  const args = ["serve", "--pattern", "test_card", "--width", String(width), "--height", String(height),
    "--fps", String(fps), "--port", "0", "--host", "127.0.0.1", "--record-events", "--stats-interval", "1",
    ...(PKG_DIR ? ["--pkg-dir", PKG_DIR] : []), ...SERVE_ARGS, ...extra];
  const proc = spawn(RFB_BIN, args, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  const log = [`$ ${RFB_BIN} ${args.join(" ")}`];
  let resolvePort;
  const port = new Promise((r) => (resolvePort = r));
  const ctl = track(proc, log, (line) => {
    log.push(line);
    const m = /^rfb listening on http:\/\/127\.0\.0\.1:(\d+)\/$/.exec(line);
    if (m) resolvePort(Number(m[1]));
  });
  const p = await Promise.race([port, new Promise((_, rej) => setTimeout(() => rej(new Error(log.join("\n"))), 30_000))]);
  const url = `http://127.0.0.1:${p}/`;
  await waitHealthy(url, log);
  return {
    impl: "rfb", pid: proc.pid, port: p, url, log, stop: ctl.stop,
    /** Input events the server received: `{ receivedUs, timestamp, type }`. */
    async inputs() {
      const events = await (await fetch(`${url}recorded-events`)).json();
      return events.map((e) => ({ receivedUs: e.received_us, timestamp: e.event.timestamp, type: e.event.type }));
    },
    /** The page URL for one viewer. */
    pageUrl(transport) {
      const mode = worker ? "&worker=1" : "";
      return `${url}?hud=0&transport=${transport === "jpeg" ? "image" : "video"}${mode}${PAGE_QUERY ? `&${PAGE_QUERY}` : ""}`;
    },
  };
}

/** The reference server with the bench publisher (bench/ref_publisher.py). */
export async function startRef({ width, height, fps, transport, pagesUrl }) {
  const port = await freePort();
  const args = [path.join(ROOT, "bench/ref_publisher.py"), "--width", String(width), "--height", String(height),
    "--fps", String(fps), "--port", String(port), ...(transport === "jpeg" ? ["--force-image"] : [])];
  const proc = spawn(REF_PYTHON, args, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  const log = [`$ ${REF_PYTHON} ${args.join(" ")}`];
  const publishes = new Map();
  const inputs = [];
  let ready;
  const listening = new Promise((r) => (ready = r));
  const ctl = track(proc, log, (line) => {
    let rec;
    try {
      rec = JSON.parse(line);
    } catch {
      log.push(line);
      return;
    }
    if (rec.kind === "publish") publishes.set(rec.ts_us, rec.seq);
    else if (rec.kind === "input") inputs.push({ receivedUs: rec.received_us, timestamp: rec.event.timestamp, type: rec.event.type });
    else if (rec.kind === "listening") ready();
  });
  await Promise.race([listening, new Promise((_, rej) => setTimeout(() => rej(new Error(log.join("\n"))), 60_000))]);
  const url = `http://127.0.0.1:${port}/`;
  await waitHealthy(url, log);
  return {
    impl: "ref", pid: proc.pid, port, url, log, stop: ctl.stop,
    /** Pattern seq of the frame published at display time `tsUs`. */
    patternSeq: (tsUs) => publishes.get(tsUs),
    async inputs() {
      return inputs.slice();
    },
    pageUrl(t) {
      return `${pagesUrl}ref.html?port=${port}&image=${t === "jpeg" ? 1 : 0}`;
    },
  };
}

const TYPES = { ".js": "text/javascript", ".mjs": "text/javascript", ".css": "text/css", ".html": "text/html", ".json": "application/json" };

/**
 * A static file server on an ephemeral loopback port: `mounts` maps URL prefixes (ending
 * in /) to folders; a path outside its folder is refused, an unknown one is a 404.
 */
export async function startFiles(mounts) {
  const entries = Object.entries(mounts).map(([prefix, dir]) => [prefix, path.resolve(dir)]);
  const server = createServer((req, res) => {
    const url = new URL(req.url, "http://x");
    const mount = entries.filter(([prefix]) => url.pathname.startsWith(prefix)).sort((a, b) => b[0].length - a[0].length)[0];
    if (!mount) return res.writeHead(404).end();
    const [prefix, dir] = mount;
    const file = path.resolve(dir, decodeURIComponent(url.pathname.slice(prefix.length)));
    if (!file.startsWith(dir + path.sep)) return res.writeHead(403).end();
    fs.readFile(file, (err, data) => {
      if (err) return res.writeHead(404).end();
      res.writeHead(200, { "content-type": TYPES[path.extname(file)] ?? "application/octet-stream" }).end(data);
    });
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${server.address().port}/`, close: () => new Promise((r) => server.close(r)) };
}

/** Serves bench/pages/ and the reference's static/ (at /ref/) for its viewer page. */
export async function startPages() {
  return startFiles({ "/": path.join(ROOT, "bench/pages"), "/ref/": refStaticDir() });
}

/** CPU seconds (user + system) a process has used, from /proc/<pid>/stat. */
export function cpuSeconds(pid) {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // fields[0] is field 3 (state): utime is field 14, stime field 15.
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** Machine-wide CPU time (seconds, all cores): `{ busy, total }` from /proc/stat. */
export function machineCpu() {
  const fields = fs.readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
  const total = fields.reduce((a, b) => a + b, 0) / 100;
  const idle = (fields[3] + fields[4]) / 100;
  return { busy: total - idle, total };
}

/**
 * Waits (up to `maxSeconds`) until the machine is quiet: at most `maxBusy` (fraction of
 * all cores) busy over 2 s, so other work (a build) does not skew a run. Returns the busy
 * fraction it last saw.
 */
export async function waitQuiet(maxBusy = 0.15, maxSeconds = 180) {
  const deadline = Date.now() + maxSeconds * 1000;
  for (;;) {
    const a = machineCpu();
    await new Promise((r) => setTimeout(r, 2000));
    const b = machineCpu();
    const busy = (b.busy - a.busy) / (b.total - a.total);
    if (busy <= maxBusy || Date.now() > deadline) return busy;
    process.stderr.write(`  waiting for a quiet machine (${(busy * 100).toFixed(0)}% busy)...\n`);
  }
}
