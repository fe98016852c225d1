/**
 * Helpers for IPC tests: sample frames and hand-built hostile Cap'n Proto messages. Not used
 * by production code; kept beside the codec so the attack tests and the fuzzer share them.
 *
 * @module
 */
import type { Frame } from "./codec.ts";

/** One 64-bit word as `[lo, hi]` 32-bit halves (little-endian on the wire). */
export type Word = readonly [number, number];

/** Builds a single-segment message (segment table included) from words. */
export function messageFromWords(words: readonly Word[]): Uint8Array {
  const out = new Uint8Array(8 + words.length * 8);
  const view = new DataView(out.buffer);
  view.setUint32(0, 0, true); // one segment
  view.setUint32(4, words.length, true);
  words.forEach(([lo, hi], i) => {
    view.setUint32(8 + i * 8, lo >>> 0, true);
    view.setUint32(12 + i * 8, hi >>> 0, true);
  });
  return out;
}

/** A struct pointer word: target `offset` words after the pointer, `data` words, `ptrs` pointers. */
export function structPtr(offset: number, data: number, ptrs: number): Word {
  return [((offset << 2) | 0) >>> 0, (data & 0xffff) | (ptrs << 16)];
}

/** A list pointer word with element size code `size` (0-7) and `count`. */
export function listPtr(offset: number, size: number, count: number): Word {
  return [((offset << 2) | 1) >>> 0, ((size & 7) | (count << 3)) >>> 0];
}

/** Sample frames of every kind, for round trips and as fuzzer seeds. */
export function sampleFrames(): Frame[] {
  return [
    { type: "authChallenge", nonce: new Uint8Array(32).fill(7), protocolVersion: 1 },
    {
      type: "authResponse",
      adapterId: "telegram",
      publicKey: new Uint8Array(32).fill(1),
      signature: new Uint8Array(64).fill(2),
      protocolVersion: 1,
      adapterNonce: new Uint8Array(32).fill(3),
    },
    {
      type: "authResult",
      ok: true,
      reason: "",
      channel: "telegram",
      heartbeatIntervalMs: 10000,
      gatewaySignature: new Uint8Array(64).fill(4),
    },
    { type: "heartbeat", seq: 42, sentAtMs: 1_700_000_000_000 },
    {
      type: "inbound",
      id: "m1",
      channel: "telegram",
      senderId: "u1",
      senderName: "Ada",
      conversationId: "c1",
      text: "hello ünïcödé 👋",
      timestamp: 1_700_000_000_123,
      isGroup: true,
      replyToId: "m0",
      attachments: [{
        name: "a.png",
        mimeType: "image/png",
        url: "https://x.test/a.png",
        data: new Uint8Array([1, 2, 3]),
        size: 3,
      }],
      metadata: { lang: "en", thread: "t1" },
    },
    {
      type: "outbound",
      requestId: "r1",
      conversationId: "c1",
      text: "hi",
      replyToId: "",
      attachments: [],
      editId: "m9",
    },
    { type: "outboundResult", requestId: "r1", ok: true, messageId: "m10", error: "" },
    {
      type: "approvalRequest",
      requestId: "a1",
      conversationId: "c1",
      toolName: "exec",
      summary: "run ls",
      tier: "moderate",
      expiresAtMs: 1_700_000_060_000,
    },
    { type: "approvalDecision", requestId: "a1", approved: false, decidedBy: "u1" },
    { type: "typing", conversationId: "c1" },
    { type: "shutdown", reason: "bye" },
  ];
}
