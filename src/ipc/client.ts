/**
 * The adapter side of IPC: one connection to the gateway's socket, the signed handshake, then
 * inbound frames out and outbound/typing/approval/shutdown frames in, with heartbeats both
 * ways. Reconnecting is the adapter runtime's job (adapters/shared/runtime.ts).
 *
 * @module
 */
import type { Channel } from "../config/schema.ts";
import type { Logger } from "../log/logger.ts";
import { type Attachment, type Frame, type OutboundFields, PROTOCOL_VERSION } from "./codec.ts";
import { FrameError, HandshakeError, IpcError } from "./errors.ts";
import { FrameReader, FrameWriter } from "./framing.ts";
import { gatewayProofMessage, HANDSHAKE_DEADLINE_MS, handshakeMessage } from "./handshake.ts";
import { type AdapterSigner, verifySignature } from "./keys.ts";
import type { ApprovalAnswer, OutboundResult } from "./session.ts";

/** A platform message as the adapter hands it to the gateway; omitted fields are empty. */
export interface InboundInput {
  id: string;
  senderId: string;
  conversationId: string;
  text: string;
  senderName?: string;
  timestamp?: number;
  isGroup?: boolean;
  replyToId?: string;
  attachments?: Attachment[];
  metadata?: Record<string, string>;
}

/** An approval request as the adapter receives it. */
export type ApprovalRequestFrame = Extract<Frame, { type: "approvalRequest" }>;

/** What the adapter does with frames from the gateway. */
export interface AdapterHandlers {
  /** Send (or edit) a message on the platform. */
  onOutbound(message: OutboundFields): Promise<OutboundResult>;
  onTyping?(conversationId: string): void | Promise<void>;
  onApprovalRequest?(request: ApprovalRequestFrame): Promise<ApprovalAnswer>;
  /** The gateway asked the adapter to exit. */
  onShutdown?(reason: string): void;
}

/** Options of {@linkcode connectGateway}. */
export interface ClientOptions {
  socketPath: string;
  channel: Channel;
  signer: AdapterSigner;
  /**
   * The gateway's public key (handed over stdin by the supervisor). The adapter sends nothing
   * but its handshake until the gateway has signed this connection's adapter nonce with it, so
   * a process squatting on the socket path learns no message.
   */
  gatewayPublicKey: Uint8Array;
  log: Logger;
  /** Whole-handshake deadline (default 5 s). */
  handshakeTimeoutMs?: number;
}

/** An authenticated connection to the gateway. */
export interface IpcClient {
  readonly channel: Channel;
  /** Sends one inbound message. */
  sendInbound(message: InboundInput): Promise<void>;
  /** Resolves with the reason once the connection has ended. */
  readonly closed: Promise<string>;
  close(): void;
}

/** Connects, authenticates, and starts serving `handlers`. Throws on a failed handshake. */
export async function connectGateway(
  options: ClientOptions,
  handlers: AdapterHandlers,
): Promise<IpcClient> {
  const log = options.log.child("ipc");
  let conn: Deno.UnixConn;
  try {
    conn = await Deno.connect({ transport: "unix", path: options.socketPath });
  } catch (e) {
    throw new IpcError(`cannot connect to the gateway at ${options.socketPath}: ${e}`, {
      fix: "Start the gateway with `wirken run`; adapters are started by it.",
      cause: e,
    });
  }
  const reader = new FrameReader(conn);
  const writer = new FrameWriter(conn);
  let heartbeatMs: number;
  const deadline = setTimeout(() => {
    try {
      conn.close();
    } catch { /* closed */ }
  }, options.handshakeTimeoutMs ?? HANDSHAKE_DEADLINE_MS);
  try {
    const challenge = await reader.next();
    if (challenge?.type !== "authChallenge") {
      throw new HandshakeError(`expected authChallenge, got ${challenge?.type ?? "end of stream"}`);
    }
    if (challenge.protocolVersion !== PROTOCOL_VERSION) {
      throw new HandshakeError(
        `gateway speaks protocol ${challenge.protocolVersion}, adapter ${PROTOCOL_VERSION}`,
      );
    }
    const signature = await options.signer.sign(handshakeMessage(options.channel, challenge.nonce));
    const adapterNonce = crypto.getRandomValues(new Uint8Array(32));
    await writer.write({
      type: "authResponse",
      adapterId: options.channel,
      publicKey: options.signer.publicKey,
      signature,
      protocolVersion: PROTOCOL_VERSION,
      adapterNonce,
    });
    const result = await reader.next();
    if (result?.type !== "authResult") throw new HandshakeError("no authResult from the gateway");
    if (!result.ok) throw new HandshakeError(result.reason);
    const proof = gatewayProofMessage(options.channel, adapterNonce, challenge.nonce);
    if (!(await verifySignature(options.gatewayPublicKey, result.gatewaySignature, proof))) {
      throw new HandshakeError(
        "the socket did not prove to be this adapter's gateway (replaced socket?)",
      );
    }
    heartbeatMs = result.heartbeatIntervalMs || 10_000;
  } catch (e) {
    try {
      conn.close();
    } catch { /* closed */ }
    if (e instanceof HandshakeError || e instanceof FrameError) throw e;
    throw new HandshakeError(`connection lost during handshake: ${e}`);
  } finally {
    clearTimeout(deadline);
  }
  log.info("authenticated to the gateway", { channel: options.channel });

  let lastSeen = Date.now();
  let done = false;
  let resolveClosed: (reason: string) => void = () => {};
  const closed = new Promise<string>((r) => (resolveClosed = r));
  function end(reason: string): void {
    if (done) return;
    done = true;
    clearInterval(beat);
    try {
      conn.close();
    } catch { /* closed */ }
    resolveClosed(reason);
  }

  let seq = 0;
  const beat = setInterval(() => {
    if (Date.now() - lastSeen > heartbeatMs * 3) return end("gateway silent too long");
    writer.write({ type: "heartbeat", seq: seq++, sentAtMs: Date.now() }).catch(() =>
      end("write failed")
    );
  }, heartbeatMs);

  async function handle(frame: Frame): Promise<void> {
    switch (frame.type) {
      case "heartbeat":
        return;
      case "outbound": {
        let result: OutboundResult;
        try {
          result = await handlers.onOutbound(frame);
        } catch (e) {
          result = { ok: false, messageId: "", error: e instanceof Error ? e.message : String(e) };
        }
        await writer.write({ type: "outboundResult", requestId: frame.requestId, ...result });
        return;
      }
      case "typing":
        await handlers.onTyping?.(frame.conversationId);
        return;
      case "approvalRequest": {
        const answer = handlers.onApprovalRequest
          ? await handlers.onApprovalRequest(frame)
          : { approved: false, decidedBy: "" };
        await writer.write({ type: "approvalDecision", requestId: frame.requestId, ...answer });
        return;
      }
      case "shutdown":
        handlers.onShutdown?.(frame.reason);
        end(`shutdown: ${frame.reason}`);
        return;
      default:
        throw new FrameError(`the gateway may not send ${frame.type} frames`);
    }
  }

  (async () => {
    try {
      for (;;) {
        const frame = await reader.next();
        if (frame === null) return end("gateway closed the connection");
        lastSeen = Date.now();
        // Outbound handling may be slow (platform API); do not stall heartbeats behind it.
        handle(frame).catch((e) => {
          log.warn("closing gateway connection", { reason: String(e) });
          end(String(e));
        });
      }
    } catch (e) {
      end(done ? "closed" : e instanceof Error ? e.message : String(e));
    }
  })();

  return {
    channel: options.channel,
    async sendInbound(m) {
      if (done) throw new IpcError("not connected to the gateway");
      await writer.write({
        type: "inbound",
        id: m.id,
        channel: options.channel,
        senderId: m.senderId,
        senderName: m.senderName ?? "",
        conversationId: m.conversationId,
        text: m.text,
        timestamp: m.timestamp ?? Date.now(),
        isGroup: m.isGroup ?? false,
        replyToId: m.replyToId ?? "",
        attachments: m.attachments ?? [],
        metadata: m.metadata ?? {},
      });
    },
    closed,
    close: () => end("closed by adapter"),
  };
}
