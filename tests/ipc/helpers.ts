/**
 * Shared fixtures of the IPC integration tests: a temp data dir, registered adapter keys, a
 * fake audit sink, a capturing logger and a running IPC server.
 *
 * @module
 */
import type { AuditEventInput, AuditSink } from "../../src/audit/types.ts";
import type { Channel, Config } from "../../src/config/schema.ts";
import { createLogger, type Logger } from "../../src/log/logger.ts";
import { type Frame, PROTOCOL_VERSION } from "../../src/ipc/codec.ts";
import { FrameReader, FrameWriter } from "../../src/ipc/framing.ts";
import { handshakeMessage } from "../../src/ipc/handshake.ts";
import { type AdapterSigner, generateAdapterKey, importSigner } from "../../src/ipc/keys.ts";
import {
  type InboundEvent,
  type IpcServer,
  type IpcServerOptions,
  startIpcServer,
} from "../../src/ipc/server.ts";
import type { Secret } from "../../src/secret.ts";
import type { CredentialInfo, CredentialStore } from "../../src/vault/types.ts";

/** An audit sink that keeps events in memory. */
export class MemoryAudit implements AuditSink {
  /** Everything appended, in order. */
  readonly events: AuditEventInput[] = [];
  /** Appends in memory. */
  append(event: AuditEventInput): Promise<number> {
    this.events.push(event);
    return Promise.resolve(this.events.length);
  }
}

/** A logger whose lines are kept in `lines`. */
export function captureLogger(): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  const decoder = new TextDecoder();
  const log = createLogger({
    verbose: true,
    terminal: {
      writeSync(b: Uint8Array) {
        lines.push(decoder.decode(b));
        return b.length;
      },
    },
  });
  return { log, lines };
}

/** One registered adapter identity. */
export interface Identity {
  channel: Channel;
  seed: Secret;
  publicKeyBase64: string;
  signer: AdapterSigner;
}

/** Creates a key pair for `channel`. */
export async function identity(channel: Channel): Promise<Identity> {
  const { seed, publicKeyBase64 } = await generateAdapterKey();
  return { channel, seed, publicKeyBase64, signer: await importSigner(seed) };
}

/** A running test gateway (IPC server only). */
export interface TestGateway {
  dir: string;
  socketPath: string;
  server: IpcServer;
  audit: MemoryAudit;
  lines: string[];
  inbound: InboundEvent[];
  ids: Record<string, Identity>;
  /** Waits until `n` inbound events arrived. */
  waitInbound(n: number, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

/** Starts an IPC server in a fresh temp dir with keys registered for `channels`. */
export async function startTestGateway(
  channels: Channel[] = ["telegram", "slack"],
  overrides: Partial<IpcServerOptions> = {},
): Promise<TestGateway> {
  const dir = await Deno.makeTempDir({ prefix: "wirken-ipc-" });
  await Deno.mkdir(`${dir}/sockets`, { mode: 0o700 });
  const socketPath = `${dir}/sockets/gateway.sock`;
  const ids: Record<string, Identity> = {};
  const channelConfig: Config["channels"] = {};
  for (const ch of channels) {
    ids[ch] = await identity(ch);
    channelConfig[ch] = { enabled: true, publicKey: ids[ch].publicKeyBase64, allowFrom: [] };
  }
  const audit = new MemoryAudit();
  const { log, lines } = captureLogger();
  const inbound: InboundEvent[] = [];
  const server = await startIpcServer({
    socketPath,
    config: { channels: channelConfig },
    audit,
    log,
    onInbound: (e) => {
      inbound.push(e);
    },
    ...overrides,
  });
  return {
    dir,
    socketPath,
    server,
    audit,
    lines,
    inbound,
    ids,
    async waitInbound(n, timeoutMs = 5000) {
      await waitFor(() => inbound.length >= n, timeoutMs, `${n} inbound events`);
    },
    async close() {
      await server.close();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}

/** Polls `cond` every 5 ms until it holds or `timeoutMs` passes. */
export async function waitFor(
  cond: () => boolean,
  timeoutMs = 5000,
  what = "condition",
): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A raw connection for crafting attacks. */
export interface RawPeer {
  conn: Deno.UnixConn;
  reader: FrameReader;
  writer: FrameWriter;
  /** Resolves true once the gateway has closed the connection (EOF or error). */
  closedByGateway(timeoutMs?: number): Promise<boolean>;
  close(): void;
}

/** Opens a raw connection to the socket. */
export async function rawPeer(socketPath: string): Promise<RawPeer> {
  const conn = await Deno.connect({ transport: "unix", path: socketPath });
  const reader = new FrameReader(conn);
  const writer = new FrameWriter(conn);
  return {
    conn,
    reader,
    writer,
    async closedByGateway(timeoutMs = 3000) {
      const until = Date.now() + timeoutMs;
      const buf = new Uint8Array(4096);
      while (Date.now() < until) {
        try {
          const n = await Promise.race([
            conn.read(buf),
            new Promise<"wait">((r) => setTimeout(() => r("wait"), until - Date.now())),
          ]);
          if (n === null) return true;
          if (n === "wait") return false;
        } catch {
          return true;
        }
      }
      return false;
    },
    close() {
      try {
        conn.close();
      } catch { /* closed */ }
    },
  };
}

/** Runs the handshake on a raw peer as `id` (optionally lying); returns the gateway's answer. */
export async function rawHandshake(
  peer: RawPeer,
  id: Identity,
  opts: { claim?: string; signedId?: string; nonce?: Uint8Array } = {},
): Promise<{ challenge: Frame; result: Frame | null; response: Frame }> {
  const challenge = await peer.reader.next();
  if (challenge?.type !== "authChallenge") throw new Error("no challenge");
  const claim = opts.claim ?? id.channel;
  const response: Frame = {
    type: "authResponse",
    adapterId: claim,
    publicKey: id.signer.publicKey,
    signature: await id.signer.sign(
      handshakeMessage(opts.signedId ?? claim, opts.nonce ?? challenge.nonce),
    ),
    protocolVersion: PROTOCOL_VERSION,
    adapterNonce: crypto.getRandomValues(new Uint8Array(32)),
  };
  await peer.writer.write(response);
  let result: Frame | null = null;
  try {
    result = await peer.reader.next();
  } catch {
    result = null;
  }
  return { challenge, result, response };
}

/** An in-memory credential store (the vault is faked in IPC tests). */
export class MemoryCredentials implements CredentialStore {
  readonly #values = new Map<string, Secret>();
  /** The value by name. */
  get(name: string): Secret | undefined {
    return this.#values.get(name);
  }
  /** Sets a value. */
  set(name: string, value: Secret): void {
    this.#values.set(name, value);
  }
  /** Removes a value. */
  remove(name: string): boolean {
    return this.#values.delete(name);
  }
  /** Metadata of every value. */
  list(): CredentialInfo[] {
    const at = new Date(0);
    return [...this.#values.keys()].sort().map((name) => ({
      name,
      createdAt: at,
      updatedAt: at,
      expiresAt: null,
    }));
  }
}
