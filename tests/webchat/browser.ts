/**
 * Real headless Chromium for the WebChat tests, driven by playwright-core. Tests are skipped
 * loudly (see tests/skip.ts) when /usr/bin/chromium is missing; CI installs it.
 *
 * @module
 */
import fs from "node:fs";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { commandAvailable } from "../skip.ts";
import { startTestServer, type TestServer } from "./server.ts";

/** Where Debian's chromium package puts the browser. */
export const CHROMIUM = "/usr/bin/chromium";

/** True when the browser tests can run (prints the skip reason otherwise). */
export const HAVE_CHROMIUM: boolean = await commandAvailable(
  CHROMIUM,
  "apt-get install -y chromium",
);

/**
 * playwright-core probes `/proc/sys/fs/binfmt_misc/WSLInterop` with `fs.existsSync` when it
 * loads. Deno guards /proc/sys behind --allow-all and its existsSync throws NotCapable instead of
 * answering false, so under the test command's explicit permissions the import would fail.
 * Node's existsSync never throws; restore that contract before loading playwright.
 */
function loadPlaywright() {
  const original = fs.existsSync;
  fs.existsSync = (path: fs.PathLike) => {
    try {
      return original(path);
    } catch {
      return false;
    }
  };
  return import("playwright-core");
}

/** Flags verified on this machine kind (see PLATFORM.md): no network chatter, no GPU. */
const ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** Everything one browser test gets. */
export interface BrowserEnv {
  server: TestServer;
  browser: Browser;
  context: BrowserContext;
  page: Page;
  /** Page errors and console errors seen so far (a CSP violation shows up here). */
  errors: string[];
  /** Logs in with the printed link and waits until the app is ready. */
  login(): Promise<void>;
}

/** Directory screenshots go to (`WIRKEN_TEST_ARTIFACTS`, else a temp dir); printed. */
export async function artifactDir(): Promise<string> {
  const dir = Deno.env.get("WIRKEN_TEST_ARTIFACTS") ??
    `${Deno.env.get("TMPDIR") ?? "/tmp"}/wirken-test-artifacts`;
  await Deno.mkdir(dir, { recursive: true });
  return dir;
}

/** Registers a browser test: fresh server, fresh browser, closed afterwards. */
export function browserTest(
  name: string,
  fn: (env: BrowserEnv) => Promise<void>,
  options: { maxUploadBytes?: number; wordDelayMs?: number } = {},
): void {
  Deno.test({
    name: `webchat browser: ${name}`,
    ignore: !HAVE_CHROMIUM,
    // Playwright keeps a pipe and timers to the browser process between calls.
    sanitizeOps: false,
    sanitizeResources: false,
    async fn() {
      const server = startTestServer(options);
      const { chromium } = await loadPlaywright();
      const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
      try {
        const context = await browser.newContext();
        const page = await context.newPage();
        page.setDefaultTimeout(10_000);
        const errors: string[] = [];
        page.on("pageerror", (e) => errors.push(`pageerror: ${e.message}`));
        page.on("console", (m) => {
          if (m.type() === "error") errors.push(`console: ${m.text()}`);
        });
        const env: BrowserEnv = {
          server,
          browser,
          context,
          page,
          errors,
          async login() {
            await page.goto(server.loginUrl);
            await page.waitForSelector("body[data-ready=true]");
            await page.waitForSelector("[data-testid=connection].ok");
          },
        };
        await fn(env);
      } finally {
        await browser.close();
        await server.close();
      }
    },
  });
}
