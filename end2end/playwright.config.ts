import { defineConfig, devices } from "@playwright/test";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

// The app under test runs from the debug build on its own port and its own
// throw-away SQLite database; serve.sh prepares both. Debian's Chromium is
// used (no browser download is possible on these machines).
const port = Number(process.env.E2E_PORT ?? 3417);
export const baseURL = `http://127.0.0.1:${port}`;
// One data directory per run, shared by the server and the tests (which use
// the CLI on the same database, e.g. to revoke a role).
process.env.E2E_DATA_DIR ??= mkdtempSync(join(tmpdir(), "appcred-e2e-"));

const launchOptions = {
  executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
};

export default defineConfig({
  testDir: "./tests",
  timeout: 30_000,
  expect: { timeout: 10_000 },
  fullyParallel: false,
  forbidOnly: !!process.env.CI,
  retries: 0,
  workers: 1,
  reporter: [["list"]],
  use: {
    baseURL,
    trace: "off",
    screenshot: "only-on-failure",
    launchOptions,
  },
  projects: [
    {
      name: "hydrated",
      use: { ...devices["Desktop Chrome"], viewport: { width: 1280, height: 800 } },
      grepInvert: /@nojs/,
    },
    {
      name: "no-javascript",
      use: { ...devices["Desktop Chrome"], viewport: { width: 1280, height: 800 }, javaScriptEnabled: false },
      grep: /@nojs/,
    },
  ],
  webServer: {
    command: `bash ./serve.sh ${port}`,
    url: `${baseURL}/healthz`,
    reuseExistingServer: false,
    timeout: 120_000,
    stdout: "pipe",
    stderr: "pipe",
  },
});
