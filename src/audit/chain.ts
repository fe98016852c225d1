/**
 * The hash chain: how one event's hash is computed from its content and its predecessor.
 *
 * `hash = SHA-256(prev_hash || SHA-256(canonical JSON of the event))`, where both hashes are
 * 32 raw bytes (stored as lowercase hex) and the first event's `prev_hash` is 32 zero bytes.
 * `docs/audit.md` is the normative description; this file must match it.
 *
 * @module
 */
import { sha256 } from "@noble/hashes/sha2.js";
import { canonicalJson, type JsonValue } from "./canonical.ts";
import type { AuditKind } from "./types.ts";

/** Version of the hashed event form; part of every hash, so a future change cannot collide. */
export const EVENT_FORMAT_VERSION = 1;

/** `prev_hash` of the first event ever written: 32 zero bytes, hex. */
export const GENESIS_HASH = "0".repeat(64);

/** One stored event, as read back from `audit.db` or an export. */
export interface AuditEvent {
  /** Position in the one global chain, from 1, consecutive. */
  seq: number;
  /** ISO 8601 UTC with milliseconds, e.g. `2026-11-25T03:30:00.000Z`. */
  time: string;
  /** Conversation session id, or null. */
  session: string | null;
  /** Agent id, or null. */
  agent: string | null;
  /** Channel id, or null. */
  channel: string | null;
  /** Who caused it. */
  actor: string;
  /** What happened. */
  kind: AuditKind;
  /** Already redacted. */
  payload: { [key: string]: JsonValue };
  /** Hash of the event before (64 zeros for seq 1). */
  prevHash: string;
  /** SHA-256(prevHash || SHA-256(canonical event)), hex. */
  hash: string;
}

/** The fields of an event that are hashed (everything except the two hashes). */
export type HashedFields = Omit<AuditEvent, "prevHash" | "hash">;

const encoder = new TextEncoder();

/** The canonical JSON text whose SHA-256 is the event's content digest. */
export function canonicalEvent(e: HashedFields): string {
  return canonicalEventText(e, canonicalJson(e.payload));
}

/**
 * The same text, built around a payload that is already canonical JSON (as stored in
 * `audit.db`), so verification need not parse and re-serialise every payload. Keys are written
 * in their sorted order: actor, agent, channel, kind, payload, seq, session, time, v.
 */
export function canonicalEventText(e: Omit<HashedFields, "payload">, payloadText: string): string {
  const s = JSON.stringify;
  return `{"actor":${s(e.actor)},"agent":${s(e.agent)},"channel":${s(e.channel)},"kind":${
    s(e.kind)
  },"payload":${payloadText},"seq":${s(e.seq)},"session":${s(e.session)},"time":${
    s(e.time)
  },"v":${EVENT_FORMAT_VERSION}}`;
}

/** Lowercase hex of `bytes`. */
export function toHex(bytes: Uint8Array): string {
  let out = "";
  for (const b of bytes) out += b.toString(16).padStart(2, "0");
  return out;
}

/** Bytes of a 64-character hex hash; throws on anything else. */
export function fromHex(hex: string): Uint8Array {
  if (!/^[0-9a-f]{64}$/.test(hex)) throw new Error(`not a 32-byte lowercase hex hash: ${hex}`);
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/** `SHA-256(prev || SHA-256(canonical(event)))`, hex. */
export function chainHash(prevHash: string, e: HashedFields): string {
  return chainHashOfText(prevHash, canonicalEvent(e));
}

/** `SHA-256(prev || SHA-256(text))`, hex, for an already canonical event text. */
export function chainHashOfText(prevHash: string, canonicalText: string): string {
  const digest = sha256(encoder.encode(canonicalText));
  const joined = new Uint8Array(64);
  joined.set(fromHex(prevHash), 0);
  joined.set(digest, 32);
  return toHex(sha256(joined));
}

/** The bytes a checkpoint signature covers. */
export function checkpointMessage(throughSeq: number, throughHash: string): Uint8Array {
  return encoder.encode(canonicalJson({
    type: "wirken.audit.checkpoint",
    v: 1,
    throughSeq,
    throughHash,
  }));
}

/** The bytes a head signature covers: the newest event's seq and hash. */
export function headMessage(seq: number, hash: string): Uint8Array {
  return encoder.encode(canonicalJson({ type: "wirken.audit.head", v: 1, seq, hash }));
}
