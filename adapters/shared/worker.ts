/**
 * The Worker in which a compiled adapter runs its channel code. A compiled binary carries the
 * permissions it was compiled with, so the process cannot be confined by flags; this Worker is
 * created with `deno.permissions` set to the channel's grants (adapters/shared/main.ts) and
 * receives the bundle by message, never by environment.
 *
 * @module
 */
/// <reference lib="deno.worker" />
import { bundleFromJson } from "../../src/ipc/bundle.ts";
import { createLogger } from "../../src/log/logger.ts";
import { loadDriver } from "./drivers.ts";
import { runAdapter } from "./runtime.ts";

/** How often the Worker tells its parent it is alive; see adapters/shared/main.ts. */
export const WORKER_PULSE_MS = 1000;

self.onmessage = async (event: MessageEvent<{ bundle: unknown; verbose: boolean }>) => {
  self.onmessage = null;
  // `Deno.exit` inside a Worker ends only the Worker, silently: the pulse lets the parent notice.
  const pulse = setInterval(() => self.postMessage({ alive: true }), WORKER_PULSE_MS);
  let code = 1;
  try {
    const bundle = bundleFromJson(event.data.bundle);
    const log = createLogger({
      verbose: event.data.verbose,
      component: `adapter.${bundle.channel}`,
    });
    const driver = await loadDriver(bundle.channel, bundle.driver);
    code = await runAdapter({ bundle, driver, log });
  } catch (e) {
    createLogger({ component: "adapter.worker" }).error("adapter worker failed", {
      error: e instanceof Error ? e.message : String(e),
    });
  }
  clearInterval(pulse);
  self.postMessage({ exit: code });
};

// Modules are loaded: tell the parent, which then drops its own permissions and sends the bundle.
self.postMessage({ ready: true });
