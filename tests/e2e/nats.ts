// The relay specs' helpers: a `nats-server` of the test's own on a free loopback port
// (scripts/setup.sh installs it; NATS_SERVER names another binary), and `rfb edge`
// processes fed from it.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { connect } from "node:net";
import { closedPort, startRfb, type RfbServer } from "./fixtures";

const NATS_BIN =
  process.env.NATS_SERVER ?? ["/usr/sbin/nats-server", "/usr/bin/nats-server"].find(existsSync) ?? "nats-server";

export interface Nats {
  port: number;
  url: string;
  /** Kills it (clients see the connection drop and reconnect by themselves). */
  stop(): Promise<void>;
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

/** Starts `nats-server` on `port` (default: a free one) and waits until it accepts clients. */
export async function startNats(port?: number): Promise<Nats> {
  const p = port ?? (await closedPort());
  const proc: ChildProcess = spawn(NATS_BIN, ["-a", "127.0.0.1", "-p", String(p)], { stdio: "ignore" });
  const exited = new Promise<void>((resolve) => proc.on("exit", () => resolve()));
  proc.on("error", (e) => {
    throw new Error(`cannot start ${NATS_BIN} (run scripts/setup.sh): ${e.message}`);
  });
  const deadline = Date.now() + 10_000;
  while (!(await listening(p))) {
    if (Date.now() > deadline) throw new Error(`nats-server did not listen on ${p}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return {
    port: p,
    url: `nats://127.0.0.1:${p}`,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGKILL");
      await exited;
    },
  };
}

/** `rfb edge` fed from `nats`, on `port` (default: a free one), with extra flags. */
export async function startEdge(nats: Nats, name: string, extra: string[] = [], port = 0): Promise<RfbServer> {
  return startRfb([
    "edge", "--relay", nats.url, "--relay-name", name,
    "--port", String(port), "--host", "127.0.0.1", ...extra,
  ]);
}
