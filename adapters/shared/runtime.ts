/**
 * The adapter runtime: keeps one authenticated connection to the gateway alive (reconnecting
 * with backoff), and connects it to a {@linkcode ChannelDriver}, the channel-specific code that
 * talks to the platform. Inbound messages produced while disconnected wait in a small bounded
 * queue; the oldest are dropped (and logged) past it.
 *
 * @module
 */
import type { Channel } from "../../src/config/schema.ts";
import type { AdapterBundle } from "../../src/ipc/bundle.ts";
import { configuredGroupMode, type GroupMode } from "./conventions.ts";
import {
  type AdapterHandlers,
  connectGateway,
  type InboundInput,
  type IpcClient,
} from "../../src/ipc/client.ts";
import { HandshakeError } from "../../src/ipc/errors.ts";
import { fromBase64, importSigner } from "../../src/ipc/keys.ts";
import type { Logger } from "../../src/log/logger.ts";
import type { Secret } from "../../src/secret.ts";

/** What a driver gets to work with; deliberately no vault, audit or agent. */
export interface DriverContext {
  channel: Channel;
  /** This channel's credentials by vault name. */
  credentials: ReadonlyMap<string, Secret>;
  log: Logger;
  /** Hands a platform message to the gateway (queued while reconnecting). */
  sendInbound(message: InboundInput): Promise<void>;
  /** Aborted when the adapter is stopping. */
  signal: AbortSignal;
  /**
   * The group mention rule the owner set for a conversation (`conversations[].groupMode`), if
   * any; adapters combine it with their default through `groupModeFor` (conventions.ts).
   */
  groupMode?: (conversationId: string) => GroupMode | undefined;
}

/** The channel-specific part of an adapter. */
export interface ChannelDriver extends AdapterHandlers {
  /** Starts talking to the platform; a rejection ends the adapter (the supervisor restarts it). */
  start(ctx: DriverContext): Promise<void>;
  /** Stops cleanly. */
  stop?(): Promise<void>;
}

/** Options of {@linkcode runAdapter}. */
export interface RunAdapterOptions {
  bundle: AdapterBundle;
  driver: ChannelDriver;
  log: Logger;
  /** Aborting ends the adapter. */
  signal?: AbortSignal;
  /** First reconnect delay (default 500 ms), doubling up to `maxBackoffMs` (default 30 s). */
  backoffMs?: number;
  maxBackoffMs?: number;
  /** Most queued inbound messages while disconnected (default 256). */
  queueLimit?: number;
}

/**
 * Runs until the gateway sends `shutdown` (returns 0), `signal` aborts (0), the driver fails
 * (1) or the gateway rejects the key (2: retrying cannot help, the supervisor shows why).
 */
export async function runAdapter(options: RunAdapterOptions): Promise<number> {
  const { bundle, driver, log } = options;
  const maxBackoff = options.maxBackoffMs ?? 30_000;
  const base = options.backoffMs ?? 500;
  const queueLimit = options.queueLimit ?? 256;
  const stop = new AbortController();
  options.signal?.addEventListener("abort", () => stop.abort(), { once: true });
  const signer = await importSigner(bundle.adapterKey);
  const gatewayPublicKey = fromBase64(bundle.gatewayKey);

  let client: IpcClient | null = null;
  const queue: InboundInput[] = [];
  // One flush at a time: two concurrent loops would both send queue[0] before either shifts
  // it, delivering a message twice (two agent turns) when messages arrive close together.
  let flushing: Promise<void> | null = null;
  function flush(): Promise<void> {
    flushing ??= (async () => {
      // Yield first, so `flushing` is set before the loop can end and clear it.
      await Promise.resolve();
      try {
        while (client && queue.length > 0) {
          await client.sendInbound(queue[0]);
          queue.shift();
        }
      } finally {
        flushing = null;
      }
    })();
    return flushing;
  }

  let shutdown = false;
  const handlers: AdapterHandlers = {
    onOutbound: (m) => driver.onOutbound(m),
    onTyping: driver.onTyping?.bind(driver),
    onApprovalRequest: driver.onApprovalRequest?.bind(driver),
    onShutdown(reason) {
      log.info("gateway asked the adapter to stop", { reason });
      shutdown = true;
      stop.abort();
    },
  };

  let driverFailed: unknown = null;
  let started = false;
  let attempt = 0;
  try {
    while (!stop.signal.aborted) {
      try {
        client = await connectGateway(
          {
            socketPath: bundle.socketPath,
            channel: bundle.channel,
            signer,
            gatewayPublicKey,
            log,
          },
          handlers,
        );
        attempt = 0;
        if (!started) {
          started = true;
          driver.start({
            channel: bundle.channel,
            credentials: bundle.credentials,
            groupMode: (id) => configuredGroupMode(bundle.groupModes, id),
            log: log.child(bundle.channel),
            signal: stop.signal,
            async sendInbound(message) {
              if (queue.length >= queueLimit) {
                queue.shift();
                log.warn("inbound queue full; dropped the oldest message");
              }
              queue.push(message);
              await flush().catch(() => {});
            },
          }).catch((e) => {
            driverFailed = e;
            stop.abort();
          });
        }
        await flush().catch(() => {});
        const reason = await Promise.race([
          client.closed,
          new Promise<string>((r) => {
            // The driver may have failed (and aborted) before we got here.
            if (stop.signal.aborted) return r("stopping");
            stop.signal.addEventListener("abort", () => r("stopping"), { once: true });
          }),
        ]);
        client.close();
        client = null;
        if (stop.signal.aborted) break;
        log.warn("lost the gateway connection", { reason });
      } catch (e) {
        client = null;
        if (
          e instanceof HandshakeError &&
          /^(public key does not match|bad signature for|no key registered|unknown adapterId)/
            .test(e.reason)
        ) {
          log.error("the gateway rejected this adapter", { reason: e.reason });
          return 2;
        }
        log.warn("cannot reach the gateway", { error: e instanceof Error ? e.message : String(e) });
      }
      const delay = Math.min(maxBackoff, base * 2 ** attempt++);
      await new Promise<void>((r) => {
        if (stop.signal.aborted) return r();
        const t = setTimeout(r, delay);
        stop.signal.addEventListener("abort", () => {
          clearTimeout(t);
          r();
        }, { once: true });
      });
    }
  } finally {
    // TS narrows `client` to null here; it may have been set by the loop before a throw.
    (client as IpcClient | null)?.close();
    await driver.stop?.().catch(() => {});
  }
  if (driverFailed) {
    log.error("channel driver failed", {
      error: driverFailed instanceof Error ? driverFailed.message : String(driverFailed),
    });
    return 1;
  }
  return shutdown || stop.signal.aborted ? 0 : 1;
}
