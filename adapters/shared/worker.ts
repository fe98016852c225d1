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

self.onmessage = async (event: MessageEvent<{ bundle: unknown; verbose: boolean }>) => {
  self.onmessage = null;
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
  self.postMessage({ exit: code });
};
