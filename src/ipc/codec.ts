/**
 * Converts between plain TypeScript frames and unpacked Cap'n Proto messages (schema/).
 *
 * Decoding is eager and total: {@linkcode decodeFrame} validates the raw pointer graph first
 * (validate.ts), then reads every field into a plain object inside one try/catch, checking
 * sizes and the union tag, so any malformed input surfaces as one {@linkcode FrameError} here
 * rather than as a lazy exception somewhere in the router.
 *
 * @module
 */
import * as capnp from "capnp-es";
import * as S from "../../schema/wirken.ts";
import { FrameError } from "./errors.ts";
import {
  MAX_ATTACHMENTS,
  MAX_FRAME_BYTES,
  MAX_ID_BYTES,
  MAX_METADATA,
  MAX_TEXT_BYTES,
} from "./limits.ts";
import { validateMessage } from "./validate.ts";

/** The IPC protocol version; bumped when frames change incompatibly. */
export const PROTOCOL_VERSION = 1;

/** A file attached to a message. */
export interface Attachment {
  name: string;
  mimeType: string;
  url: string;
  data: Uint8Array;
  size: number;
}

/** A platform message as an adapter reports it. */
export interface InboundFields {
  id: string;
  /** What the adapter claims; the gateway overwrites it with the authenticated channel. */
  channel: string;
  senderId: string;
  senderName: string;
  conversationId: string;
  text: string;
  /** Milliseconds since the epoch. */
  timestamp: number;
  isGroup: boolean;
  replyToId: string;
  attachments: Attachment[];
  metadata: Record<string, string>;
}

/** A message the gateway asks an adapter to send (or, with `editId`, to edit). */
export interface OutboundFields {
  requestId: string;
  conversationId: string;
  text: string;
  replyToId: string;
  attachments: Attachment[];
  editId: string;
}

/** Every frame kind, as a plain object discriminated by `type`. */
export type Frame =
  | { type: "authChallenge"; nonce: Uint8Array; protocolVersion: number }
  | {
    type: "authResponse";
    adapterId: string;
    publicKey: Uint8Array;
    signature: Uint8Array;
    protocolVersion: number;
    /** 32 random bytes the gateway signs back, proving the socket is the real gateway's. */
    adapterNonce: Uint8Array;
  }
  | {
    type: "authResult";
    ok: boolean;
    reason: string;
    channel: string;
    heartbeatIntervalMs: number;
    /** On success, the gateway's signature (64 bytes); empty on failure. */
    gatewaySignature: Uint8Array;
  }
  | { type: "heartbeat"; seq: number; sentAtMs: number }
  | ({ type: "inbound" } & InboundFields)
  | ({ type: "outbound" } & OutboundFields)
  | { type: "outboundResult"; requestId: string; ok: boolean; messageId: string; error: string }
  | {
    type: "approvalRequest";
    requestId: string;
    conversationId: string;
    toolName: string;
    summary: string;
    tier: string;
    expiresAtMs: number;
  }
  | { type: "approvalDecision"; requestId: string; approved: boolean; decidedBy: string }
  | { type: "typing"; conversationId: string }
  | { type: "shutdown"; reason: string };

/** The `type` of a {@linkcode Frame}. */
export type FrameType = Frame["type"];

const encoder = new TextEncoder();

function setAttachments(list: capnp.List<S.Attachment>, items: readonly Attachment[]): void {
  items.forEach((a, i) => {
    const el = list.get(i);
    el.name = a.name;
    el.mimeType = a.mimeType;
    el.url = a.url;
    if (a.data.length > 0) el._initData(a.data.length).copyBuffer(a.data);
    el.size = BigInt(a.size);
  });
}

/** Encodes `frame` as an unpacked Cap'n Proto message (no length prefix). */
export function encodeFrame(frame: Frame): Uint8Array {
  const message = new capnp.Message();
  const root = message.initRoot(S.Frame);
  switch (frame.type) {
    case "authChallenge": {
      const c = root._initAuthChallenge();
      c._initNonce(frame.nonce.length).copyBuffer(frame.nonce);
      c.protocolVersion = frame.protocolVersion;
      break;
    }
    case "authResponse": {
      const r = root._initAuthResponse();
      r.adapterId = frame.adapterId;
      r._initPublicKey(frame.publicKey.length).copyBuffer(frame.publicKey);
      r._initSignature(frame.signature.length).copyBuffer(frame.signature);
      r.protocolVersion = frame.protocolVersion;
      r._initAdapterNonce(frame.adapterNonce.length).copyBuffer(frame.adapterNonce);
      break;
    }
    case "authResult": {
      const r = root._initAuthResult();
      r.ok = frame.ok;
      r.reason = frame.reason;
      r.channel = frame.channel;
      r.heartbeatIntervalMs = frame.heartbeatIntervalMs;
      if (frame.gatewaySignature.length > 0) {
        r._initGatewaySignature(frame.gatewaySignature.length).copyBuffer(frame.gatewaySignature);
      }
      break;
    }
    case "heartbeat": {
      const h = root._initHeartbeat();
      h.seq = BigInt(frame.seq);
      h.sentAtMs = BigInt(frame.sentAtMs);
      break;
    }
    case "inbound": {
      const m = root._initInbound();
      m.id = frame.id;
      m.channel = frame.channel;
      m.senderId = frame.senderId;
      m.senderName = frame.senderName;
      m.conversationId = frame.conversationId;
      m.text = frame.text;
      m.timestamp = BigInt(frame.timestamp);
      m.isGroup = frame.isGroup;
      m.replyToId = frame.replyToId;
      if (frame.attachments.length > 0) {
        setAttachments(m._initAttachments(frame.attachments.length), frame.attachments);
      }
      const meta = Object.entries(frame.metadata);
      if (meta.length > 0) {
        const list = m._initMetadata(meta.length);
        meta.forEach(([k, v], i) => {
          list.get(i).key = k;
          list.get(i).value = v;
        });
      }
      break;
    }
    case "outbound": {
      const o = root._initOutbound();
      o.requestId = frame.requestId;
      o.conversationId = frame.conversationId;
      o.text = frame.text;
      o.replyToId = frame.replyToId;
      o.editId = frame.editId;
      if (frame.attachments.length > 0) {
        setAttachments(o._initAttachments(frame.attachments.length), frame.attachments);
      }
      break;
    }
    case "outboundResult": {
      const r = root._initOutboundResult();
      r.requestId = frame.requestId;
      r.ok = frame.ok;
      r.messageId = frame.messageId;
      r.error = frame.error;
      break;
    }
    case "approvalRequest": {
      const a = root._initApprovalRequest();
      a.requestId = frame.requestId;
      a.conversationId = frame.conversationId;
      a.toolName = frame.toolName;
      a.summary = frame.summary;
      a.tier = frame.tier;
      a.expiresAtMs = BigInt(frame.expiresAtMs);
      break;
    }
    case "approvalDecision": {
      const d = root._initApprovalDecision();
      d.requestId = frame.requestId;
      d.approved = frame.approved;
      d.decidedBy = frame.decidedBy;
      break;
    }
    case "typing":
      root._initTyping().conversationId = frame.conversationId;
      break;
    case "shutdown":
      root._initShutdown().reason = frame.reason;
      break;
  }
  const bytes = new Uint8Array(message.toArrayBuffer());
  if (bytes.length > MAX_FRAME_BYTES) {
    throw new FrameError(`frame of ${bytes.length} bytes exceeds ${MAX_FRAME_BYTES}`);
  }
  return bytes;
}

function text(value: string, field: string, max = MAX_ID_BYTES): string {
  // Byte length, not UTF-16 length: the cap is about memory and the peer's storage. A string
  // of n UTF-16 units has at most 3n UTF-8 bytes, so short strings skip the encoding.
  if (value.length > max || (value.length * 3 > max && encoder.encode(value).length > max)) {
    throw new FrameError(`${field} longer than ${max} bytes`);
  }
  return value;
}

function bytesOf(
  data: capnp.Data,
  field: string,
  exact?: number,
  max = MAX_FRAME_BYTES,
): Uint8Array {
  const out = new Uint8Array(data.toArrayBuffer());
  if (exact !== undefined && out.length !== exact) {
    throw new FrameError(`${field} must be ${exact} bytes, got ${out.length}`);
  }
  if (out.length > max) throw new FrameError(`${field} longer than ${max} bytes`);
  return out;
}

function safeInt(value: bigint, field: string): number {
  if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) {
    throw new FrameError(`${field} out of range`);
  }
  return Number(value);
}

function readAttachments(list: capnp.List<S.Attachment>, field: string): Attachment[] {
  // Length first: a crafted list may claim millions of zero-sized elements.
  if (list.length > MAX_ATTACHMENTS) {
    throw new FrameError(`${field}: more than ${MAX_ATTACHMENTS} attachments`);
  }
  const out: Attachment[] = [];
  for (let i = 0; i < list.length; i++) {
    const a = list.get(i);
    out.push({
      name: text(a.name, `${field}.name`),
      mimeType: text(a.mimeType, `${field}.mimeType`),
      url: text(a.url, `${field}.url`, 8192),
      data: a._hasData() ? bytesOf(a.data, `${field}.data`) : new Uint8Array(),
      size: safeInt(a.size, `${field}.size`),
    });
  }
  return out;
}

const KINDS: readonly FrameType[] = [
  "authChallenge",
  "authResponse",
  "authResult",
  "heartbeat",
  "inbound",
  "outbound",
  "outboundResult",
  "approvalRequest",
  "approvalDecision",
  "typing",
  "shutdown",
];

/**
 * Decodes one frame body. Throws {@linkcode FrameError} for anything but a well-formed frame of
 * a known kind within every limit; never throws anything else.
 */
export function decodeFrame(bytes: Uint8Array): Frame {
  if (bytes.length > MAX_FRAME_BYTES) {
    throw new FrameError(`frame of ${bytes.length} bytes exceeds ${MAX_FRAME_BYTES}`);
  }
  try {
    validateMessage(bytes);
    const message = new capnp.Message(bytes, false);
    const root = message.getRoot(S.Frame);
    const which = root.which() as number;
    const kind = KINDS[which];
    if (kind === undefined) throw new FrameError(`unknown frame kind ${which}`);
    return readKind(root, kind);
  } catch (e) {
    if (e instanceof FrameError) throw e;
    throw new FrameError(e instanceof Error ? e.message : String(e), e);
  }
}

function readKind(root: S.Frame, kind: FrameType): Frame {
  switch (kind) {
    case "authChallenge": {
      const c = root.authChallenge;
      return {
        type: kind,
        nonce: bytesOf(c.nonce, "nonce", 32),
        protocolVersion: c.protocolVersion,
      };
    }
    case "authResponse": {
      const r = root.authResponse;
      return {
        type: kind,
        adapterId: text(r.adapterId, "adapterId"),
        publicKey: bytesOf(r.publicKey, "publicKey", 32),
        signature: bytesOf(r.signature, "signature", 64),
        protocolVersion: r.protocolVersion,
        adapterNonce: bytesOf(r.adapterNonce, "adapterNonce", 32),
      };
    }
    case "authResult": {
      const r = root.authResult;
      return {
        type: kind,
        ok: r.ok,
        reason: text(r.reason, "reason"),
        channel: text(r.channel, "channel"),
        heartbeatIntervalMs: r.heartbeatIntervalMs,
        gatewaySignature: r._hasGatewaySignature()
          ? bytesOf(r.gatewaySignature, "gatewaySignature", 64)
          : new Uint8Array(),
      };
    }
    case "heartbeat": {
      const h = root.heartbeat;
      return { type: kind, seq: safeInt(h.seq, "seq"), sentAtMs: safeInt(h.sentAtMs, "sentAtMs") };
    }
    case "inbound": {
      const m = root.inbound;
      const meta = m.metadata;
      if (meta.length > MAX_METADATA) throw new FrameError(`more than ${MAX_METADATA} metadata`);
      const metadata: Record<string, string> = Object.create(null);
      for (let i = 0; i < meta.length; i++) {
        const kv = meta.get(i);
        metadata[text(kv.key, "metadata key")] = text(kv.value, "metadata value", 8192);
      }
      return {
        type: kind,
        id: text(m.id, "id"),
        channel: text(m.channel, "channel"),
        senderId: text(m.senderId, "senderId"),
        senderName: text(m.senderName, "senderName"),
        conversationId: text(m.conversationId, "conversationId"),
        text: text(m.text, "text", MAX_TEXT_BYTES),
        timestamp: safeInt(m.timestamp, "timestamp"),
        isGroup: m.isGroup,
        replyToId: text(m.replyToId, "replyToId"),
        attachments: readAttachments(m.attachments, "attachments"),
        metadata: { ...metadata },
      };
    }
    case "outbound": {
      const o = root.outbound;
      return {
        type: kind,
        requestId: text(o.requestId, "requestId"),
        conversationId: text(o.conversationId, "conversationId"),
        text: text(o.text, "text", MAX_TEXT_BYTES),
        replyToId: text(o.replyToId, "replyToId"),
        attachments: readAttachments(o.attachments, "attachments"),
        editId: text(o.editId, "editId"),
      };
    }
    case "outboundResult": {
      const r = root.outboundResult;
      return {
        type: kind,
        requestId: text(r.requestId, "requestId"),
        ok: r.ok,
        messageId: text(r.messageId, "messageId"),
        error: text(r.error, "error", 8192),
      };
    }
    case "approvalRequest": {
      const a = root.approvalRequest;
      return {
        type: kind,
        requestId: text(a.requestId, "requestId"),
        conversationId: text(a.conversationId, "conversationId"),
        toolName: text(a.toolName, "toolName"),
        summary: text(a.summary, "summary", MAX_TEXT_BYTES),
        tier: text(a.tier, "tier"),
        expiresAtMs: safeInt(a.expiresAtMs, "expiresAtMs"),
      };
    }
    case "approvalDecision": {
      const d = root.approvalDecision;
      return {
        type: kind,
        requestId: text(d.requestId, "requestId"),
        approved: d.approved,
        decidedBy: text(d.decidedBy, "decidedBy"),
      };
    }
    case "typing":
      return { type: kind, conversationId: text(root.typing.conversationId, "conversationId") };
    case "shutdown":
      return { type: kind, reason: text(root.shutdown.reason, "reason", 8192) };
  }
}
