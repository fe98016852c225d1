/**
 * The body of `wirken adapter <channel>`: read the start-up bundle from stdin, then run the
 * channel either in this process (already confined by `deno run` flags) or inside a Worker
 * with the channel's grants (a compiled binary, whose own permissions are baked in broad).
 *
 * The supervisor keeps the write end of our stdin open for our whole life; EOF on stdin means
 * the gateway is gone, and the adapter exits instead of living on as an orphan.
 *
 * @module
 */
import type { Channel } from "../../src/config/channels.ts";
import {
  type AdapterBundle,
  bundleToJson,
  type ByteSource,
  readBundle,
} from "../../src/ipc/bundle.ts";
import { IpcError } from "../../src/ipc/errors.ts";
import type { Logger } from "../../src/log/logger.ts";
import { loadDriver } from "./drivers.ts";
import { runAdapter } from "./runtime.ts";

/** Options of {@linkcode adapterMain}. */
export interface AdapterMainOptions {
  log: Logger;
  verbose?: boolean;
  /** Defaults to `Deno.stdin`. */
  stdin?: ByteSource;
  /** Called when stdin reaches EOF after the bundle; defaults to exiting the process. */
  onParentGone?: () => void;
}

/** Runs the adapter of `channel` until it is told to stop; returns the exit code. */
export async function adapterMain(channel: Channel, options: AdapterMainOptions): Promise<number> {
  const { log } = options;
  const stdin = options.stdin ?? Deno.stdin;
  const bundle = await readBundle(stdin);
  if (bundle.channel !== channel) {
    throw new IpcError(`started as the ${channel} adapter but handed ${bundle.channel}'s bundle`);
  }
  watchParent(stdin, log, options.onParentGone ?? (() => Deno.exit(0)));

  const stop = new AbortController();
  const onSignal = () => stop.abort();
  for (const sig of ["SIGTERM", "SIGINT"] as const) Deno.addSignalListener(sig, onSignal);
  try {
    if (bundle.isolation === "worker") {
      return await runInWorker(bundle, log, stop.signal, options.verbose);
    }
    // The CLI needed HOME and WIRKEN_DATA_DIR to start; the channel code gets only its own
    // manifest's variables.
    for (const variable of ["HOME", "WIRKEN_DATA_DIR"]) {
      if (!bundle.grants.env.includes(variable)) {
        Deno.permissions.revokeSync({ name: "env", variable });
      }
    }
    const driver = await loadDriver(bundle.channel, bundle.driver);
    return await runAdapter({ bundle, driver, log, signal: stop.signal });
  } finally {
    for (const sig of ["SIGTERM", "SIGINT"] as const) Deno.removeSignalListener(sig, onSignal);
  }
}

/** Worker silence after which the adapter gives up on it (it pulses every second). */
const WORKER_SILENCE_MS = 5000;

function watchParent(stdin: ByteSource, log: Logger, gone: () => void): void {
  (async () => {
    const buf = new Uint8Array(256);
    try {
      while ((await stdin.read(buf)) !== null) { /* the supervisor sends nothing more */ }
    } catch { /* a broken pipe is the same news */ }
    log.info("the gateway is gone (stdin closed); exiting");
    gone();
  })();
}

/**
 * Runs the channel code in a Worker limited to the bundle's grants. Everything not granted is
 * denied (`run`, `ffi`, `sys`, other files, other hosts, other env names), and the parent drops
 * its own permissions once the Worker exists.
 */
function runInWorker(
  bundle: AdapterBundle,
  log: Logger,
  signal: AbortSignal,
  verbose = false,
): Promise<number> {
  const g = bundle.grants;
  const worker = new Worker(new URL("./worker.ts", import.meta.url), {
    type: "module",
    name: `adapter-${bundle.channel}`,
    deno: {
      permissions: {
        net: g.net,
        read: g.read,
        write: g.write,
        env: g.env.length > 0 ? g.env : false,
        run: false,
        ffi: false,
        sys: false,
        import: false,
      },
    },
  });
  return new Promise<number>((resolve) => {
    let lastPulse = Date.now();
    // A Worker that called Deno.exit (or hangs) stops pulsing; treat that as a crash so the
    // process exits and the supervisor restarts it.
    const watch = setInterval(() => {
      if (Date.now() - lastPulse > WORKER_SILENCE_MS) {
        log.error("adapter worker stopped responding");
        done(1);
      }
    }, 500);
    const done = (code: number) => {
      clearInterval(watch);
      worker.terminate();
      resolve(code);
    };
    worker.onmessage = (e: MessageEvent<{ exit?: number; alive?: boolean; ready?: boolean }>) => {
      lastPulse = Date.now();
      if (e.data.ready) {
        // The Worker's modules are loaded. This process only relays from now on: drop its own
        // (compiled-in, broad) permissions so even the relay reaches no more than the Worker,
        // whose grants are its own and stay. Then hand over the bundle.
        for (const name of ["run", "ffi", "sys", "env", "write", "read", "net"] as const) {
          Deno.permissions.revokeSync({ name });
        }
        worker.postMessage({ bundle: bundleToJson(bundle), verbose });
      }
      if (typeof e.data.exit === "number") done(e.data.exit);
    };
    worker.onerror = (e) => {
      e.preventDefault();
      log.error("adapter worker crashed", { error: e.message });
      done(1);
    };
    signal.addEventListener("abort", () => done(0), { once: true });
  });
}
