/**
 * The gateway side of IPC: listens on `<data>/sockets/gateway.sock` (0600 in a 0700 dir),
 * authenticates each adapter with the Ed25519 handshake, then exchanges frames.
 *
 * Every failure is confined to its connection: a bad frame, a failed handshake or a stalled
 * peer closes that connection with a logged reason and nothing else. Inbound frames are stamped
 * with the channel of the authenticated connection; the channel written in the payload is
 * ignored, so an adapter can never speak for another channel. An adapter sending frames faster
 * than the per-connection frame rate is throttled, and cut off (logged and audited) when the
 * excess goes on; see {@linkcode FrameRateLimiter}.
 *
 * @module
 */
import type { AuditSink } from "../audit/types.ts";
import type { Channel, Config } from "../config/schema.ts";
import type { Logger } from "../log/logger.ts";
import { type Attachment, type Frame, PROTOCOL_VERSION } from "./codec.ts";
import { FrameError, HandshakeError, IpcError } from "./errors.ts";
import {
  DEFAULT_FRAME_RATE,
  FrameRateLimiter,
  type FrameRateLimits,
  type FrameVerdict,
} from "./frame_rate.ts";
import { FrameReader, FrameWriter } from "./framing.ts";
import { type AdapterSigner, ephemeralSigner } from "./keys.ts";
import {
  FailureLimiter,
  gatewayProofMessage,
  HANDSHAKE_DEADLINE_MS,
  isChannel,
  NonceRegistry,
  publicKeysFromConfig,
  verifyHandshake,
} from "./handshake.ts";
import {
  type ApprovalAnswer,
  type ApprovalPrompt,
  type ChannelLink,
  openSession,
  type OutboundMessage,
  type OutboundResult,
  type SessionHandle,
} from "./session.ts";

/** A platform message received from an authenticated adapter. */
export interface InboundMessage<C extends Channel = Channel> {
  /** The authenticated connection's channel (never the payload's). */
  channel: C;
  id: string;
  senderId: string;
  senderName: string;
  conversationId: string;
  text: string;
  timestamp: number;
  isGroup: boolean;
  replyToId: string;
  attachments: Attachment[];
  metadata: Record<string, string>;
}

/** An inbound message with its session handle and the link to answer on, per channel. */
export type InboundEvent = {
  [C in Channel]: {
    channel: C;
    handle: SessionHandle<C>;
    message: InboundMessage<C>;
    link: ChannelLink<C>;
    /** Sends on this event's own handle (so union-typed callers need not narrow first). */
    reply(message: OutboundMessage): Promise<OutboundResult>;
  };
}[Channel];

/** Options of {@linkcode startIpcServer}. */
export interface IpcServerOptions {
  /** Usually `dataPaths(root).gatewaySocket`. */
  socketPath: string;
  /** Only `channels` is read: which are enabled and their registered public keys. */
  config: Pick<Config, "channels">;
  /** Failed and succeeded handshakes are appended here. */
  audit: AuditSink;
  log: Logger;
  /** Called for every inbound message; errors are logged, never fatal. */
  onInbound(event: InboundEvent): void | Promise<void>;
  /** Called when an adapter connects (`up`) or its connection ends (`down`). */
  onConnection?(channel: Channel, state: "up" | "down"): void;
  /** Whole-handshake deadline (default 5 s). */
  handshakeTimeoutMs?: number;
  /** Heartbeat period (default 10 s). */
  heartbeatIntervalMs?: number;
  /** A connection silent this long is closed (default 30 s). */
  deadAfterMs?: number;
  /** How long `send` waits for the adapter's result (default 30 s). */
  outboundTimeoutMs?: number;
  /** Concurrent connections still handshaking; more are closed at once (default 64). */
  maxPendingHandshakes?: number;
  /**
   * Inbound messages of one adapter being handled at once (default 64). Past it the gateway
   * stops reading that socket until one finishes, so a flooding adapter is slowed by
   * backpressure instead of piling up work in the gateway.
   */
  maxInflightInbound?: number;
  /**
   * Per-connection frame rate (default {@linkcode DEFAULT_FRAME_RATE}): faster adapters are
   * throttled, and cut off when the excess is sustained.
   */
  frameRate?: FrameRateLimits;
  /** Handshake failure limiter (default 10 per minute per claimed adapter id). */
  limiter?: FailureLimiter;
  /** The gateway's identity on the socket (default: a fresh key per run). */
  gatewaySigner?: AdapterSigner;
  /** How often the socket file is checked for replacement (default 1 s). */
  socketCheckMs?: number;
}

/** Counters for status and tests. */
export interface IpcServerStats {
  accepted: number;
  authenticated: number;
  rejected: number;
  framesIn: number;
  framesOut: number;
}

/** A running IPC server. */
export interface IpcServer {
  readonly socketPath: string;
  /** The gateway's public key; adapters get it over stdin and check the gateway's signature. */
  readonly gatewayPublicKey: Uint8Array;
  /** The last handshake this server rejected for `channel`, if any. */
  lastAuthFailure(channel: Channel): { at: number; reason: string } | undefined;
  /**
   * The last time this server cut `channel`'s connection for flooding, if ever (the supervisor
   * then restarts that adapter process with backoff).
   */
  lastCutOff(channel: Channel): { at: number; reason: string } | undefined;
  /** The outbound side of `channel`. */
  link<C extends Channel>(channel: C): ChannelLink<C>;
  /** Sends on the handle's own channel; the only way to send. */
  send<C extends Channel>(
    handle: SessionHandle<C>,
    message: OutboundMessage,
  ): Promise<OutboundResult>;
  /** True while an authenticated adapter of `channel` is connected. */
  connected(channel: Channel): boolean;
  /** When a frame last arrived from `channel` (ms since epoch), if connected. */
  lastSeen(channel: Channel): number | undefined;
  /** Asks the adapter of `channel` to exit cleanly; resolves once the frame is written. */
  shutdownAdapter(channel: Channel, reason: string): Promise<void>;
  stats(): IpcServerStats;
  /** Stops listening, closes every connection, removes the socket file. Idempotent. */
  close(): Promise<void>;
}

interface Pending<T> {
  resolve(value: T): void;
  reject(error: Error): void;
  timer: ReturnType<typeof setTimeout>;
}

class AdapterConnection {
  lastSeen = Date.now();
  readonly outbound = new Map<string, Pending<OutboundResult>>();
  readonly approvals = new Map<string, Pending<ApprovalAnswer>>();
  /** Inbound handlers still running, and who waits for one to finish. */
  inflight = 0;
  #waiter: (() => void) | null = null;

  /** Resolves once fewer than `max` handlers run. */
  async room(max: number): Promise<void> {
    while (this.inflight >= max && !this.closed) {
      await new Promise<void>((r) => (this.#waiter = r));
    }
  }

  /** One handler finished. */
  done(): void {
    this.inflight--;
    const w = this.#waiter;
    this.#waiter = null;
    w?.();
  }
  closed = false;

  constructor(
    readonly channel: Channel,
    readonly conn: Deno.Conn,
    readonly writer: FrameWriter,
    readonly rate: FrameRateLimiter,
  ) {}

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.done();
    try {
      this.conn.close();
    } catch {
      // already closed by the peer
    }
    const gone = new IpcError(`adapter ${this.channel} disconnected`);
    for (const p of [...this.outbound.values(), ...this.approvals.values()]) {
      clearTimeout(p.timer);
      p.reject(gone);
    }
    this.outbound.clear();
    this.approvals.clear();
  }
}

/** Starts listening on `options.socketPath`; see the module doc. */
export async function startIpcServer(options: IpcServerOptions): Promise<IpcServer> {
  const log = options.log.child("ipc");
  const keys = publicKeysFromConfig(options.config.channels);
  const handshakeMs = options.handshakeTimeoutMs ?? HANDSHAKE_DEADLINE_MS;
  const heartbeatMs = options.heartbeatIntervalMs ?? 10_000;
  const deadMs = options.deadAfterMs ?? 30_000;
  const outboundMs = options.outboundTimeoutMs ?? 30_000;
  const maxPending = options.maxPendingHandshakes ?? 64;
  const maxInflight = options.maxInflightInbound ?? 64;
  const limiter = options.limiter ?? new FailureLimiter();
  const nonces = new NonceRegistry(handshakeMs);
  const conns = new Map<Channel, AdapterConnection>();
  const stats: IpcServerStats = {
    accepted: 0,
    authenticated: 0,
    rejected: 0,
    framesIn: 0,
    framesOut: 0,
  };
  let pending = 0;
  let closing = false;

  const signer = options.gatewaySigner ?? await ephemeralSigner();
  const authFailures = new Map<Channel, { at: number; reason: string }>();
  const cutOffs = new Map<Channel, { at: number; reason: string }>();
  const frameRate = options.frameRate ?? DEFAULT_FRAME_RATE;
  let listener = await listenPrivate(options.socketPath);
  /** Listeners replaced after a squatter took the path; closed at shutdown. */
  const retired: Deno.Listener<Deno.Conn, Deno.UnixAddr>[] = [];
  let socketId = await fileId(options.socketPath);
  log.info("listening", { socket: options.socketPath });

  function audit(event: Parameters<AuditSink["append"]>[0]): void {
    // Never let the audit write block or crash the connection path; a failure is logged.
    options.audit.append(event).catch((e) =>
      log.error("audit append failed", { kind: event.kind, error: String(e) })
    );
  }

  async function handshake(
    conn: Deno.Conn,
    reader: FrameReader,
    writer: FrameWriter,
  ): Promise<Channel | null> {
    let peer = "anonymous";
    let timedOut = false;
    const deadline = setTimeout(() => {
      timedOut = true;
      try {
        conn.close();
      } catch { /* closed */ }
    }, handshakeMs);
    try {
      const nonce = nonces.issue();
      await writer.write({ type: "authChallenge", nonce, protocolVersion: PROTOCOL_VERSION });
      const first = await reader.next();
      if (!first) throw new HandshakeError("closed before responding");
      if (first.type !== "authResponse") {
        throw new HandshakeError(`expected authResponse, got ${first.type}`);
      }
      if (isChannel(first.adapterId)) peer = first.adapterId;
      if (limiter.blocked(peer)) throw new HandshakeError("rate limited: too many failures");
      if (!nonces.consume(nonce)) throw new HandshakeError("nonce expired or already used");
      const channel = await verifyHandshake(first, nonce, keys);
      if (timedOut) throw new HandshakeError("handshake deadline exceeded");
      clearTimeout(deadline);
      await writer.write({
        type: "authResult",
        ok: true,
        reason: "",
        channel,
        heartbeatIntervalMs: heartbeatMs,
        // Proves to the adapter that this socket is the gateway it was started by.
        gatewaySignature: await signer.sign(
          gatewayProofMessage(channel, first.adapterNonce, nonce),
        ),
      });
      return channel;
    } catch (e) {
      clearTimeout(deadline);
      const reason = timedOut
        ? `handshake deadline (${handshakeMs} ms) exceeded`
        : e instanceof HandshakeError
        ? e.reason
        : e instanceof FrameError
        ? e.message
        : `connection error: ${e instanceof Error ? e.message : String(e)}`;
      stats.rejected++;
      const wasBlocked = limiter.blocked(peer);
      const crossed = wasBlocked ? false : limiter.record(peer);
      log.warn("adapter handshake failed", { peer, reason });
      if (isChannel(peer)) authFailures.set(peer, { at: Date.now(), reason });
      if (!wasBlocked || crossed) {
        // Past the limit only the crossing is audited, so a flood cannot flood the audit log.
        audit({
          kind: "auth.failure",
          actor: peer,
          channel: isChannel(peer) ? peer : undefined,
          payload: { reason, transport: "ipc", rateLimited: crossed },
        });
      }
      if (!timedOut) {
        // Best effort: tell an honest-but-misconfigured adapter why, then hang up.
        const told = writer.write({
          type: "authResult",
          ok: false,
          reason,
          channel: "",
          heartbeatIntervalMs: 0,
          gatewaySignature: new Uint8Array(),
        }).catch(() => {});
        let timer: ReturnType<typeof setTimeout> | undefined;
        await Promise.race([told, new Promise((r) => (timer = setTimeout(r, 100)))]);
        clearTimeout(timer);
      }
      try {
        conn.close();
      } catch { /* closed */ }
      return null;
    }
  }

  function dispatch(ac: AdapterConnection, frame: Frame): void {
    switch (frame.type) {
      case "heartbeat":
        return;
      case "inbound": {
        if (frame.conversationId === "") throw new FrameError("inbound without conversationId");
        const { type: _t, channel: _claimed, ...rest } = frame;
        deliver(ac, ac.channel, rest);
        return;
      }
      case "outboundResult": {
        const p = ac.outbound.get(frame.requestId);
        if (!p) return log.debug("late outbound result", { requestId: frame.requestId });
        ac.outbound.delete(frame.requestId);
        clearTimeout(p.timer);
        p.resolve({ ok: frame.ok, messageId: frame.messageId, error: frame.error });
        return;
      }
      case "approvalDecision": {
        const p = ac.approvals.get(frame.requestId);
        if (!p) return log.debug("late approval decision", { requestId: frame.requestId });
        ac.approvals.delete(frame.requestId);
        clearTimeout(p.timer);
        p.resolve({ approved: frame.approved, decidedBy: frame.decidedBy });
        return;
      }
      default:
        throw new FrameError(`an adapter may not send ${frame.type} frames`);
    }
  }

  function deliver<C extends Channel>(
    ac: AdapterConnection,
    channel: C,
    rest: Omit<InboundMessage<C>, "channel">,
  ): void {
    const message: InboundMessage<C> = { channel, ...rest };
    const handle = openSession(channel, rest.conversationId);
    const channelLink = link(channel);
    const event = {
      channel,
      handle,
      message,
      link: channelLink,
      reply: (m: OutboundMessage) => channelLink.send(handle, m),
    } as InboundEvent;
    ac.inflight++;
    Promise.resolve()
      .then(() => options.onInbound(event))
      .catch((e) => log.error("inbound handler failed", { channel, error: String(e) }))
      .finally(() => ac.done());
  }

  async function serve(conn: Deno.Conn): Promise<void> {
    stats.accepted++;
    if (pending >= maxPending) {
      log.warn("too many pending handshakes; connection dropped");
      stats.rejected++;
      conn.close();
      return;
    }
    pending++;
    const reader = new FrameReader(conn);
    const writer = new FrameWriter(conn);
    let channel: Channel | null;
    try {
      channel = await handshake(conn, reader, writer);
    } finally {
      pending--;
    }
    if (!channel) return;
    stats.authenticated++;
    const ac = new AdapterConnection(channel, conn, writer, new FrameRateLimiter(frameRate));
    const previous = conns.get(channel);
    if (previous) {
      log.info("adapter reconnected; closing its previous connection", { channel });
      previous.close();
    }
    conns.set(channel, ac);
    log.info("adapter authenticated", { channel });
    audit({ kind: "auth.success", actor: channel, channel, payload: { transport: "ipc" } });
    options.onConnection?.(channel, "up");
    let reason = "closed by adapter";
    try {
      for (;;) {
        const frame = await reader.next();
        if (frame === null) break;
        stats.framesIn++;
        ac.lastSeen = Date.now();
        // A reply to a request the gateway made takes no token: the gateway's own sending
        // bounds those, and counting them charged an honest adapter twice per message and cut a
        // busy one off at ~250 messages/s (bench/NOTES.md). Unsolicited or late replies count.
        const solicited = (frame.type === "outboundResult" && ac.outbound.has(frame.requestId)) ||
          (frame.type === "approvalDecision" && ac.approvals.has(frame.requestId));
        const verdict: FrameVerdict = solicited ? { action: "pass" } : ac.rate.admit();
        if (verdict.action === "cut") {
          cutOffs.set(channel, { at: Date.now(), reason: verdict.reason });
          audit({
            kind: "adapter.crash",
            actor: "gateway",
            channel,
            payload: { reason: verdict.reason, transport: "ipc", cutOff: true },
          });
          throw new FrameError(verdict.reason);
        }
        // Throttled: this frame waits for its token, and nothing more is read meanwhile.
        if (verdict.action === "wait") await new Promise((r) => setTimeout(r, verdict.ms));
        if (ac.closed) break;
        dispatch(ac, frame);
        await ac.room(maxInflight);
      }
    } catch (e) {
      reason = ac.closed
        ? "closed by gateway"
        : e instanceof FrameError
        ? e.message
        : `connection error: ${e instanceof Error ? e.message : String(e)}`;
      if (!ac.closed) log.warn("closing adapter connection", { channel, reason });
    } finally {
      ac.close();
      if (conns.get(channel) === ac) {
        conns.delete(channel);
        options.onConnection?.(channel, "down");
      }
      log.info("adapter disconnected", { channel, reason });
    }
  }

  function acceptOn(l: Deno.Listener<Deno.Conn, Deno.UnixAddr>): Promise<void> {
    return (async () => {
      try {
        for await (const conn of l) {
          serve(conn).catch((e) => log.error("connection handler failed", { error: String(e) }));
        }
      } catch (e) {
        if (!closing) log.error("accept loop ended", { error: String(e) });
      }
    })();
  }
  const acceptLoops = [acceptOn(listener)];

  // Anything that may connect may also unlink the socket (Deno grants both with write access
  // to the path) and listen in its place. Adapters refuse such an impostor (it cannot sign as
  // the gateway); here the gateway notices and takes its path back.
  let checking: Promise<void> | null = null;
  const socketWatch = setInterval(() => {
    if (checking || closing) return;
    checking = checkSocket().finally(() => (checking = null));
  }, options.socketCheckMs ?? 1000);

  async function checkSocket(): Promise<void> {
    try {
      const now = await fileId(options.socketPath);
      if (now === socketId || closing) return;
      log.error("the gateway socket was removed or replaced; re-creating it", {
        socket: options.socketPath,
      });
      audit({
        kind: "auth.failure",
        actor: "unknown",
        payload: { reason: "gateway socket removed or replaced", transport: "ipc" },
      });
      // The old listener stays open until shutdown: its socket is no longer reachable by path,
      // and closing it would make Deno unlink the path later, whoever owns it by then (that
      // deleted the new socket under load).
      retired.push(listener);
      await Deno.remove(options.socketPath).catch(() => {});
      listener = Deno.listen({ transport: "unix", path: options.socketPath });
      await Deno.chmod(options.socketPath, 0o600);
      socketId = await fileId(options.socketPath);
      acceptLoops.push(acceptOn(listener));
    } catch (e) {
      log.error("cannot re-create the gateway socket", { error: String(e) });
    }
  }

  const beat = setInterval(() => {
    const now = Date.now();
    for (const ac of conns.values()) {
      // While we are the ones not reading (backpressure), silence is ours, not the adapter's.
      if (ac.inflight >= maxInflight) ac.lastSeen = now;
      if (now - ac.lastSeen > deadMs) {
        log.warn("adapter silent too long; closing", {
          channel: ac.channel,
          silentMs: now - ac.lastSeen,
        });
        ac.close();
        continue;
      }
      ac.writer.write({ type: "heartbeat", seq: 0, sentAtMs: now }).then(
        () => stats.framesOut++,
        () => ac.close(),
      );
    }
  }, heartbeatMs);

  function connectionOf(channel: Channel): AdapterConnection {
    const ac = conns.get(channel);
    if (!ac || ac.closed) {
      throw new IpcError(`the ${channel} adapter is not connected`, {
        fix: "Check `wirken status`; the supervisor restarts crashed adapters.",
      });
    }
    return ac;
  }

  function request<T>(
    ac: AdapterConnection,
    table: Map<string, Pending<T>>,
    frame: (requestId: string) => Frame,
    timeoutMs: number,
  ): Promise<T> {
    const requestId = crypto.randomUUID();
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        table.delete(requestId);
        reject(new IpcError(`the ${ac.channel} adapter did not answer in ${timeoutMs} ms`));
      }, timeoutMs);
      table.set(requestId, { resolve, reject, timer });
      ac.writer.write(frame(requestId)).then(() => stats.framesOut++, (e) => {
        clearTimeout(timer);
        table.delete(requestId);
        reject(new IpcError(`sending to the ${ac.channel} adapter failed: ${e}`));
      });
    });
  }

  function send<C extends Channel>(
    handle: SessionHandle<C>,
    message: OutboundMessage,
  ): Promise<OutboundResult> {
    try {
      const ac = connectionOf(handle.channel);
      return request(ac, ac.outbound, (requestId) => ({
        type: "outbound",
        requestId,
        conversationId: handle.conversationId,
        text: message.text,
        replyToId: message.replyToId ?? "",
        attachments: message.attachments ?? [],
        editId: message.editId ?? "",
      }), outboundMs);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  function link<C extends Channel>(channel: C): ChannelLink<C> {
    return {
      channel,
      send: (handle, message) => send(handle, message),
      async typing(handle) {
        await connectionOf(handle.channel).writer.write({
          type: "typing",
          conversationId: handle.conversationId,
        });
        stats.framesOut++;
      },
      requestApproval(handle, prompt: ApprovalPrompt) {
        try {
          const ac = connectionOf(handle.channel);
          return request(ac, ac.approvals, (requestId) => ({
            type: "approvalRequest",
            requestId,
            conversationId: handle.conversationId,
            toolName: prompt.toolName,
            summary: prompt.summary,
            tier: prompt.tier,
            expiresAtMs: Date.now() + prompt.timeoutMs,
          }), prompt.timeoutMs);
        } catch (e) {
          return Promise.reject(e);
        }
      },
    };
  }

  let closed: Promise<void> | null = null;
  return {
    socketPath: options.socketPath,
    gatewayPublicKey: signer.publicKey,
    lastAuthFailure: (channel) => authFailures.get(channel),
    lastCutOff: (channel) => cutOffs.get(channel),
    link,
    send,
    connected: (channel) => conns.has(channel),
    lastSeen: (channel) => conns.get(channel)?.lastSeen,
    async shutdownAdapter(channel, reason) {
      const ac = conns.get(channel);
      if (ac) await ac.writer.write({ type: "shutdown", reason }).catch(() => {});
    },
    stats: () => ({ ...stats }),
    close() {
      closed ??= (async () => {
        closing = true;
        clearInterval(beat);
        clearInterval(socketWatch);
        await checking;
        for (const l of [...retired, listener]) {
          try {
            l.close();
          } catch { /* closed */ }
        }
        for (const ac of conns.values()) ac.close();
        conns.clear();
        await Promise.all(acceptLoops);
        await Deno.remove(options.socketPath).catch(() => {});
        log.info("stopped");
      })();
      return closed;
    },
  };
}

/** Device and inode of `path` as one string, or `null` when it is gone. */
async function fileId(path: string): Promise<string | null> {
  try {
    const info = await Deno.lstat(path);
    // dev:ino alone is not enough: a squatter's new socket often reuses the inode number the
    // removed one had; its change time (creation, for a socket) tells them apart.
    return `${info.dev}:${info.ino}:${info.ctime?.getTime() ?? ""}:${
      info.birthtime?.getTime() ?? ""
    }`;
  } catch {
    return null;
  }
}

/**
 * Listens on a Unix socket readable only by its owner. A stale socket file from a crashed
 * gateway is replaced; a live one (another gateway answering) is an error.
 */
async function listenPrivate(path: string): Promise<Deno.Listener<Deno.Conn, Deno.UnixAddr>> {
  // sockaddr_un holds 108 bytes on Linux (104 on macOS), NUL included.
  if (new TextEncoder().encode(path).length > 103) {
    throw new IpcError(`the socket path ${path} is too long for a Unix socket`, {
      fix: "Use a shorter data directory (WIRKEN_DATA_DIR), e.g. ~/.wirken.",
    });
  }
  const dir = path.slice(0, path.lastIndexOf("/")) || "/";
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  const info = await Deno.lstat(dir);
  if (info.mode !== null && (info.mode & 0o077) !== 0) await Deno.chmod(dir, 0o700);
  try {
    const existing = await Deno.lstat(path);
    if (!existing.isSocket) {
      throw new IpcError(`${path} exists and is not a socket`, {
        fix: `Move ${path} aside; wirken creates its socket there.`,
      });
    }
    let live = false;
    try {
      const probe = await Deno.connect({ transport: "unix", path });
      probe.close();
      live = true;
    } catch {
      // nobody listening: a stale socket from a crashed gateway
    }
    if (live) {
      throw new IpcError(`another wirken gateway is already listening on ${path}`, {
        fix: "Stop it first (or use a different WIRKEN_DATA_DIR).",
      });
    }
    await Deno.remove(path);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  const listener = Deno.listen({ transport: "unix", path });
  // The directory is already 0700; 0600 on the socket is the second lock.
  await Deno.chmod(path, 0o600);
  return listener;
}
