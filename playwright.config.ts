// Playwright runs the viewer's end-to-end tests in Debian's Chromium (never a downloaded
// browser). Each test starts its own `rfb serve` (see tests/e2e/fixtures.ts), so there is no
// webServer block here. Build first: `cargo build --release -p rfb --features cli` and
// `npm run build:viewer`.
import { defineConfig } from "@playwright/test";

export default defineConfig({
  testDir: "tests/e2e",
  fullyParallel: false,
  workers: 2,
  retries: 0,
  reporter: "list",
  timeout: 60_000,
  expect: { timeout: 15_000 },
  use: {
    browserName: "chromium",
    viewport: { width: 640, height: 480 },
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    },
  },
});
