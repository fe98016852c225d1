/**
 * IPC benchmarks over a real Unix socket with the real handshake and codec: the round trip of
 * an inbound frame to the gateway and the outbound reply back to the adapter (p50/p99 in ms),
 * and one-way inbound frames per second with the adapter writing as fast as it can.
 *
 * `bench/run.ts` picks this module up and calls {@linkcode run}.
 *
 * @module
 */
import type { AuditSink } from "../src/audit/types.ts";
import { connectGateway } from "../src/ipc/client.ts";
import { generateAdapterKey, importSigner } from "../src/ipc/keys.ts";
import { startIpcServer } from "../src/ipc/server.ts";
import { createLogger } from "../src/log/logger.ts";
import { summarize, type Summary } from "./stats.ts";

/** Sizes of {@linkcode ipcBench}; the defaults are what `deno task bench` uses. */
export interface IpcBenchOptions {
  /** Sequential round trips measured (after `warmup`). */
  roundTrips?: number;
  warmup?: number;
  /** Inbound frames sent back to back for the throughput figure. */
  frames?: number;
}

/** The figures of one run. */
export interface IpcBenchResult {
  /** Inbound frame to the gateway, outbound reply back to the adapter, in ms. */
  roundTripMs: Summary;
  roundTripP50Ms: number;
  roundTripP99Ms: number;
  /** Inbound frames per second, adapter to gateway. */
  framesPerSecond: number;
}

/** Runs the IPC benchmarks in a temp dir. */
export async function ipcBench(o: IpcBenchOptions = {}): Promise<IpcBenchResult> {
  const roundTrips = o.roundTrips ?? 2000;
  const warmup = o.warmup ?? 200;
  const frames = o.frames ?? 20000;
  const dir = await Deno.makeTempDir({ prefix: "wirken-ipc-bench-" });
  const socketPath = `${dir}/gateway.sock`;
  const log = createLogger({ terminal: null });
  const audit: AuditSink = { append: () => Promise.resolve(0) };
  const key = await generateAdapterKey();

  let received = 0;
  let echo = true;
  const server = await startIpcServer({
    socketPath,
    config: {
      channels: { telegram: { enabled: true, publicKey: key.publicKeyBase64, allowFrom: [] } },
    },
    audit,
    log,
    // The figure is the codec and socket's throughput; the per-connection frame-rate limit
    // (500 frames/s sustained by default) would cut this flood off, and measures nothing here.
    frameRate: { burst: 1e9, perSecond: 1e9, cutAfter: 1e9 },
    onInbound: async (event) => {
      received++;
      if (echo) await event.reply({ text: event.message.text });
    },
  });
  let waiting: ((text: string) => void) | null = null;
  const client = await connectGateway(
    {
      socketPath,
      channel: "telegram",
      signer: await importSigner(key.seed),
      gatewayPublicKey: server.gatewayPublicKey,
      log,
    },
    {
      onOutbound(m) {
        waiting?.(m.text);
        return Promise.resolve({ ok: true, messageId: "1", error: "" });
      },
    },
  );
  try {
    const samples: number[] = [];
    for (let i = 0; i < warmup + roundTrips; i++) {
      const done = new Promise<string>((r) => (waiting = r));
      const t0 = performance.now();
      await client.sendInbound({
        id: String(i),
        senderId: "u",
        conversationId: "c",
        text: `m${i}`,
      });
      await done;
      if (i >= warmup) samples.push(performance.now() - t0);
    }
    echo = false;
    received = 0;
    const t0 = performance.now();
    const sends: Promise<void>[] = [];
    for (let i = 0; i < frames; i++) {
      sends.push(
        client.sendInbound({ id: String(i), senderId: "u", conversationId: "c", text: "x" }),
      );
    }
    await Promise.all(sends);
    while (received < frames) await new Promise((r) => setTimeout(r, 1));
    const seconds = (performance.now() - t0) / 1000;
    const roundTripMs = summarize(samples);
    return {
      roundTripMs,
      roundTripP50Ms: roundTripMs.median,
      roundTripP99Ms: roundTripMs.p99,
      framesPerSecond: Math.round(frames / seconds),
    };
  } finally {
    client.close();
    await server.close();
    log.close();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/** `bench/run.ts` entry: the figures as named values. */
export async function run(): Promise<Record<string, Summary | number>> {
  const r = await ipcBench();
  return {
    round_trip_ms: r.roundTripMs,
    round_trip_p50_ms: r.roundTripP50Ms,
    round_trip_p99_ms: r.roundTripP99Ms,
    inbound_frames_per_s: r.framesPerSecond,
  };
}
