/**
 * Fixtures of the channel adapter tests: a driver context that records what the driver hands
 * to the gateway, and a real gateway (vault, router, supervisor, adapter processes) with one
 * channel configured against a fake platform and a scripted fake model.
 *
 * @module
 */
import type { Channel } from "../../src/config/schema.ts";
import { type Gateway, startGateway } from "../../src/gateway/gateway.ts";
import type { InboundInput } from "../../src/ipc/client.ts";
import { generateAdapterKey } from "../../src/ipc/keys.ts";
import { createLogger } from "../../src/log/logger.ts";
import { Secret } from "../../src/secret.ts";
import { openVault } from "../../src/vault/open.ts";
import { credentialNames } from "../../src/vault/types.ts";
import type { OutboundFields } from "../../src/ipc/codec.ts";
import type { OutboundResult } from "../../src/ipc/session.ts";
import type { ChannelDriver, DriverContext } from "../../adapters/shared/runtime.ts";
import { captureLogger, waitFor } from "../ipc/helpers.ts";

export { waitFor };

/** A driver context whose inbound messages are kept in `inbound`. */
export interface RecordingContext {
  ctx: DriverContext;
  inbound: InboundInput[];
  lines: string[];
  stop(): void;
}

/** A {@linkcode DriverContext} over plain credential values. */
export function recordingContext(
  channel: Channel,
  credentials: Record<string, string>,
): RecordingContext {
  const inbound: InboundInput[] = [];
  const { log, lines } = captureLogger();
  const stop = new AbortController();
  return {
    inbound,
    lines,
    stop: () => stop.abort(),
    ctx: {
      channel,
      credentials: new Map(Object.entries(credentials).map(([k, v]) => [k, new Secret(v)])),
      log,
      signal: stop.signal,
      sendInbound(m) {
        inbound.push(m);
        return Promise.resolve();
      },
    },
  };
}

/** Sets `vars` on this process; the returned function puts back what was there before. */
function setEnv(vars: Record<string, string>): () => void {
  const previous = new Map(Object.keys(vars).map((k) => [k, Deno.env.get(k)]));
  for (const [k, v] of Object.entries(vars)) Deno.env.set(k, v);
  return () => {
    for (const [k, v] of previous) v === undefined ? Deno.env.delete(k) : Deno.env.set(k, v);
  };
}

/** Options of {@linkcode startDriverFixture}: what differs from one platform to the next. */
export interface DriverFixtureOptions<
  F extends { close(): Promise<void> },
  D extends ChannelDriver,
> {
  channel: Channel;
  /** The running fake platform; closed by the fixture. */
  fake: F;
  /**
   * Variables pointing the adapter at the fake. Set before the driver is created (drivers read
   * them then) and restored on close, so one test's fake never leaks into the next.
   */
  env?: Record<string, string>;
  createDriver(): D;
  /** Channel credentials by vault name. */
  credentials: Record<string, string>;
  /** Resolves once the driver is talking to the fake (the platform's own ready signal). */
  ready(driver: D): Promise<void>;
  /** Adjusts the context before start (e.g. adds `groupMode`). */
  context?(ctx: DriverContext): DriverContext;
}

/** A driver started in-process against a fake platform. */
export interface DriverFixture<F, D extends ChannelDriver> {
  fake: F;
  driver: D;
  rec: RecordingContext;
  /** Sends an outbound message with empty defaults for the fields a test does not name. */
  out(m: Partial<OutboundFields> & { conversationId: string }): Promise<OutboundResult>;
  /** Stops the driver, closes the fake and restores the environment. */
  close(): Promise<void>;
}

/** Starts `createDriver()` against `fake` and waits for `ready`. */
export async function startDriverFixture<
  F extends { close(): Promise<void> },
  D extends ChannelDriver,
>(o: DriverFixtureOptions<F, D>): Promise<DriverFixture<F, D>> {
  const restoreEnv = setEnv(o.env ?? {});
  const driver = o.createDriver();
  const rec = recordingContext(o.channel, o.credentials);
  // A start rejection is the driver giving up; tests see it through what stops arriving.
  const running = driver.start(o.context ? o.context(rec.ctx) : rec.ctx).catch((e) => e);
  await o.ready(driver);
  return {
    fake: o.fake,
    driver,
    rec,
    out: (m) =>
      driver.onOutbound({
        requestId: "r",
        text: "",
        replyToId: "",
        attachments: [],
        editId: "",
        ...m,
      }),
    async close() {
      rec.stop();
      await driver.stop?.();
      await running;
      await o.fake.close();
      restoreEnv();
    },
  };
}

const VAULT_ENV = { WIRKEN_VAULT_BACKEND: "passphrase", WIRKEN_VAULT_PASSPHRASE: "adapters-e2e" };

/** A free loopback TCP port (bound and released; good enough for one test). */
export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** Options of {@linkcode startChannelGateway}. */
export interface ChannelGatewayOptions {
  channel: Channel;
  /** Channel credentials by vault name. */
  credentials: Record<string, string>;
  allowFrom: string[];
  /** The fake model's base URL (`.../v1`). */
  modelUrl: string;
  /**
   * Environment the supervisor passes to the adapter (API base overrides, ports). It is set on
   * this process for the gateway's lifetime, since the supervisor reads the process env.
   */
  env: Record<string, string>;
  /** More top-level config (e.g. `tools`), merged into the written config.json. */
  config?: Record<string, unknown>;
}

/** A running gateway with one channel, and its data dir. */
export interface ChannelGateway {
  gateway: Gateway;
  dataDir: string;
  close(): Promise<void>;
}

/** Writes config and vault for `channel`, then starts the real gateway. */
export async function startChannelGateway(o: ChannelGatewayOptions): Promise<ChannelGateway> {
  const base = await Deno.makeTempDir({ prefix: `wirken-${o.channel}-` });
  const dataDir = `${base}/data`;
  const key = await generateAdapterKey();
  await Deno.mkdir(dataDir, { recursive: true, mode: 0o700 });
  await Deno.writeTextFile(
    `${dataDir}/config.json`,
    JSON.stringify({
      provider: { kind: "custom", model: "fake-model", baseUrl: o.modelUrl },
      channels: { [o.channel]: { publicKey: key.publicKeyBase64, allowFrom: o.allowFrom } },
      ...o.config,
    }),
  );
  const env = new Map(Object.entries({ ...VAULT_ENV, HOME: Deno.env.get("HOME") ?? "/tmp" }));
  const vault = await openVault({ dataDir, env, log: createLogger({ terminal: null }) });
  vault.set(credentialNames.adapterKey(o.channel), key.seed);
  for (const [name, value] of Object.entries(o.credentials)) vault.set(name, new Secret(value));
  vault.close();
  const restoreEnv = setEnv(o.env);
  let gateway: Gateway;
  try {
    gateway = await startGateway({
      dataDir,
      port: 0,
      version: "0.0.0-test",
      terminalLog: false,
      verbose: true,
      env,
    });
  } catch (e) {
    restoreEnv();
    throw e;
  }
  return {
    gateway,
    dataDir,
    async close() {
      await gateway.close();
      restoreEnv();
      await Deno.remove(base, { recursive: true }).catch(() => {});
    },
  };
}

/** Waits until the gateway reports `channel`'s adapter as connected. */
export async function waitConnected(
  g: Gateway,
  channel: Channel,
  timeoutMs = 30_000,
): Promise<void> {
  const host = g.core;
  if (!host) throw new Error("gateway has no core (vault locked?)");
  const status = `${g.paths.root}/sockets/status.json`;
  await waitFor(
    () => {
      try {
        const s = JSON.parse(Deno.readTextFileSync(status)) as {
          adapters?: { channel: string; connected: boolean }[];
        };
        return s.adapters?.some((a) => a.channel === channel && a.connected) ?? false;
      } catch {
        return false;
      }
    },
    timeoutMs,
    `${channel} adapter connected`,
  );
}
