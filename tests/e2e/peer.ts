/**
 * A hand-driven adapter for the e2e suite: it speaks the real wire protocol (length-prefixed
 * Cap'n Proto frames, the Ed25519 handshake) with a real adapter key, so a test can play an
 * honest adapter, or a compromised one that lies, replays, floods or sends garbage.
 *
 * @module
 */
import {
  type Frame,
  type InboundFields,
  type OutboundFields,
  PROTOCOL_VERSION,
} from "../../src/ipc/codec.ts";
import { FrameReader, FrameWriter } from "../../src/ipc/framing.ts";
import { handshakeMessage } from "../../src/ipc/handshake.ts";
import { importSigner } from "../../src/ipc/keys.ts";
import type { Secret } from "../../src/secret.ts";

/** One connection to the gateway socket. */
export interface Peer {
  /** The gateway's answer to the handshake. */
  auth: Extract<Frame, { type: "authResult" }> | null;
  /** The response this peer sent (a replay attacker keeps it). */
  response: Extract<Frame, { type: "authResponse" }> | null;
  /** Outbound messages the gateway sent here (each acknowledged as delivered). */
  outbound: OutboundFields[];
  /** Approval requests (button prompts) the gateway sent here. */
  approvalRequests: Extract<Frame, { type: "approvalRequest" }>[];
  /** True once the gateway closed the connection. */
  readonly closed: boolean;
  /** Sends an inbound message (defaults fill the rest of the frame). */
  inbound(
    m: Partial<InboundFields> & { conversationId: string; senderId: string; text: string },
  ): Promise<void>;
  /** Sends any frame, even one an adapter may not send. */
  frame(f: Frame): Promise<void>;
  /** Writes raw bytes on the socket. */
  raw(bytes: Uint8Array): Promise<void>;
  /** Resolves with the first outbound message (from index `from`) matching `pred`. */
  waitOutbound(
    pred: (m: OutboundFields) => boolean,
    timeoutMs?: number,
    from?: number,
  ): Promise<OutboundFields>;
  /** Resolves true once the gateway has closed the connection, false after `timeoutMs`. */
  waitClosed(timeoutMs?: number): Promise<boolean>;
  close(): void;
}

/** Options of {@linkcode connectPeer}. */
export interface PeerOptions {
  /** The adapter id claimed in the handshake (default: `channel`). */
  claim?: string;
  /** Send this recorded response instead of signing the fresh challenge (a replay). */
  replay?: Extract<Frame, { type: "authResponse" }>;
  /**
   * A button-capable adapter: who pressed what for the n-th approval request (0-based).
   * Absent: a text-only adapter, which answers every request at once with nobody.
   */
  press?: (n: number) =>
    | { approved: boolean; decidedBy: string }
    | Promise<{
      approved: boolean;
      decidedBy: string;
    }>;
}

/** Connects to `socketPath` as `channel`'s adapter holding `seed`. */
export async function connectPeer(
  socketPath: string,
  channel: string,
  seed: Secret,
  o: PeerOptions = {},
): Promise<Peer> {
  const conn = await Deno.connect({ transport: "unix", path: socketPath });
  const reader = new FrameReader(conn);
  const writer = new FrameWriter(conn);
  const signer = await importSigner(seed);
  const challenge = await reader.next();
  if (challenge?.type !== "authChallenge") throw new Error("no challenge from the gateway");
  const claim = o.claim ?? channel;
  const response: Extract<Frame, { type: "authResponse" }> = o.replay ?? {
    type: "authResponse",
    adapterId: claim,
    publicKey: signer.publicKey,
    signature: await signer.sign(handshakeMessage(claim, challenge.nonce)),
    protocolVersion: PROTOCOL_VERSION,
    adapterNonce: crypto.getRandomValues(new Uint8Array(32)),
  };
  await writer.write(response);
  let auth: Extract<Frame, { type: "authResult" }> | null = null;
  try {
    const r = await reader.next();
    if (r?.type === "authResult") auth = r;
  } catch { /* the gateway hung up */ }
  let closed = false;
  const outbound: OutboundFields[] = [];
  const approvalRequests: Extract<Frame, { type: "approvalRequest" }>[] = [];
  const waiters = new Set<() => void>();
  const wake = () => {
    for (const w of waiters) w();
  };
  if (auth?.ok) {
    (async () => {
      try {
        for (;;) {
          const f = await reader.next();
          if (f === null) break;
          if (f.type === "outbound") {
            const { type: _t, ...fields } = f;
            outbound.push(fields);
            wake();
            await writer.write({
              type: "outboundResult",
              requestId: f.requestId,
              ok: true,
              messageId: `m${outbound.length}`,
              error: "",
            });
          } else if (f.type === "approvalRequest") {
            // A text-only adapter: it has no buttons, so it answers at once with nobody as
            // decider and the gateway sends the prompt as a text message instead.
            approvalRequests.push(f);
            const n = approvalRequests.length - 1;
            const press = o.press;
            // Answered in the background: a button press may take a while (a human).
            (async () => {
              const a = press ? await press(n) : { approved: false, decidedBy: "" };
              await writer.write({ type: "approvalDecision", requestId: f.requestId, ...a });
            })().catch(() => {});
            wake();
          } else if (f.type === "heartbeat") {
            await writer.write({ type: "heartbeat", seq: f.seq, sentAtMs: Date.now() });
          }
        }
      } catch { /* closed */ }
      closed = true;
      wake();
    })();
  } else {
    closed = true;
    try {
      conn.close();
    } catch { /* closed */ }
  }
  const peer: Peer = {
    auth,
    response,
    outbound,
    approvalRequests,
    get closed() {
      return closed;
    },
    inbound(m) {
      return writer.write({
        type: "inbound",
        id: crypto.randomUUID(),
        channel,
        senderName: "",
        timestamp: Date.now(),
        isGroup: false,
        replyToId: "",
        attachments: [],
        metadata: {},
        ...m,
      });
    },
    frame: (f) => writer.write(f),
    async raw(bytes) {
      let off = 0;
      while (off < bytes.length) off += await conn.write(bytes.subarray(off));
    },
    waitOutbound(pred, timeoutMs = 15_000, from = 0) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const hit = outbound.slice(from).find(pred);
          if (hit) {
            done();
            resolve(hit);
          } else if (closed) {
            done();
            reject(new Error(`connection closed; outbound so far: ${JSON.stringify(outbound)}`));
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`timed out; outbound so far: ${JSON.stringify(outbound)}`));
        }, timeoutMs);
        const done = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
    async waitClosed(timeoutMs = 5000) {
      const until = Date.now() + timeoutMs;
      while (!closed && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
      return closed;
    },
    close() {
      try {
        conn.close();
      } catch { /* closed */ }
    },
  };
  return peer;
}
