import { assert, assertEquals, assertThrows } from "../../tests/assert.ts";
import { decodeFrame, encodeFrame } from "./codec.ts";
import { FrameError } from "./errors.ts";
import { FrameReader, lengthPrefixed } from "./framing.ts";
import { MAX_FRAME_BYTES } from "./limits.ts";
import { listPtr, messageFromWords, sampleFrames, structPtr, type Word } from "./testing.ts";
import { validateMessage } from "./validate.ts";

Deno.test("every frame kind survives a round trip", () => {
  for (const frame of sampleFrames()) {
    assertEquals(decodeFrame(encodeFrame(frame)), frame, frame.type);
  }
});

Deno.test("an unknown union member is rejected", () => {
  const bytes = encodeFrame({ type: "typing", conversationId: "c" });
  // Root pointer is word 0 of the segment (byte 8); its target holds the discriminant first.
  const view = new DataView(bytes.buffer);
  const offset = (view.getInt32(8, true) >> 2) + 1;
  view.setUint16(8 + offset * 8, 11, true);
  assertThrows(() => decodeFrame(bytes), FrameError, "unknown frame kind 11");
});

Deno.test("100-deep nesting is cut at 64", () => {
  const words: Word[] = [];
  for (let i = 0; i < 100; i++) words.push(structPtr(0, 0, 1));
  words.push([0, 0]);
  const bytes = messageFromWords(words);
  assertThrows(() => validateMessage(bytes), FrameError, "nesting deeper than 64");
  assertThrows(() => decodeFrame(bytes), FrameError, "nesting");
  // The limit is exactly 64 levels: 64 nested structs pass the structural check, 65 do not.
  const nested = (n: number) => {
    const w: Word[] = [];
    for (let i = 0; i < n; i++) w.push(structPtr(0, 0, 1));
    w.push([0, 0]);
    return messageFromWords(w);
  };
  validateMessage(nested(64));
  assertThrows(() => validateMessage(nested(65)), FrameError, "nesting deeper than 64");
});

Deno.test("a pointer loop is rejected", () => {
  // word 1 is a struct with one pointer; that pointer (word 1) points back at word 1.
  const bytes = messageFromWords([structPtr(0, 0, 1), structPtr(-1, 0, 1)]);
  assertThrows(() => decodeFrame(bytes), FrameError);
});

Deno.test("amplification: many pointers sharing one big target exceed the traversal budget", () => {
  const n = 100;
  const big = 1000;
  const words: Word[] = [listPtr(0, 6, n)];
  // Pointer i sits at word 1 + i and points at the struct starting at word 1 + n.
  for (let i = 0; i < n; i++) words.push(structPtr(n - i - 1, big, 0));
  for (let i = 0; i < big; i++) words.push([i, 0]);
  const bytes = messageFromWords(words);
  assertThrows(() => validateMessage(bytes), FrameError, "traversal limit");
});

Deno.test("a void list claiming 2^29 elements is rejected before anything loops over it", () => {
  const bytes = messageFromWords([listPtr(0, 0, 2 ** 29 - 1)]);
  assertThrows(() => validateMessage(bytes), FrameError, "traversal limit");
});

Deno.test("out-of-bounds, capability and malformed-table messages are rejected", () => {
  assertThrows(() => decodeFrame(messageFromWords([structPtr(5, 1, 0)])), FrameError, "bounds");
  assertThrows(() => decodeFrame(messageFromWords([[3, 0]])), FrameError, "capability");
  assertThrows(() => decodeFrame(new Uint8Array(7)), FrameError);
  const table = new Uint8Array(16);
  new DataView(table.buffer).setUint32(0, 0xffffffff, true);
  assertThrows(() => decodeFrame(table), FrameError, "segments");
  const trailing = new Uint8Array([...encodeFrame(sampleFrames()[3]), 0, 0, 0, 0, 0, 0, 0, 0]);
  assertThrows(() => decodeFrame(trailing), FrameError, "after the last segment");
});

Deno.test("field limits: wrong nonce and signature sizes are rejected", () => {
  const bad = encodeFrame({ type: "authChallenge", nonce: new Uint8Array(31), protocolVersion: 1 });
  assertThrows(() => decodeFrame(bad), FrameError, "nonce must be 32 bytes");
  const sig = encodeFrame({
    type: "authResponse",
    adapterId: "x",
    publicKey: new Uint8Array(32),
    signature: new Uint8Array(65),
    protocolVersion: 1,
    adapterNonce: new Uint8Array(32),
  });
  assertThrows(() => decodeFrame(sig), FrameError, "signature must be 64 bytes");
});

Deno.test("random bytes never escape as anything but FrameError", () => {
  for (let i = 0; i < 2000; i++) {
    const bytes = crypto.getRandomValues(new Uint8Array(8 * (1 + (i % 40))));
    if (i % 3 === 0) new DataView(bytes.buffer).setUint32(0, 0, true);
    if (i % 3 === 0) new DataView(bytes.buffer).setUint32(4, bytes.length / 8 - 1, true);
    try {
      decodeFrame(bytes);
    } catch (e) {
      assert(e instanceof FrameError, `unexpected ${e}`);
    }
  }
});

function streamOf(bytes: Uint8Array, chunk = 7) {
  let pos = 0;
  return {
    read(p: Uint8Array): Promise<number | null> {
      if (pos >= bytes.length) return Promise.resolve(null);
      const n = Math.min(chunk, p.length, bytes.length - pos);
      p.set(bytes.subarray(pos, pos + n));
      pos += n;
      return Promise.resolve(n);
    },
    write: (p: Uint8Array) => Promise.resolve(p.length),
  };
}

Deno.test("framing: frames split across reads are reassembled", async () => {
  const frames = sampleFrames();
  const all = frames.map((f) => lengthPrefixed(encodeFrame(f)));
  const joined = new Uint8Array(all.reduce((n, b) => n + b.length, 0));
  let off = 0;
  for (const b of all) {
    joined.set(b, off);
    off += b.length;
  }
  const reader = new FrameReader(streamOf(joined));
  for (const f of frames) assertEquals(await reader.next(), f);
  assertEquals(await reader.next(), null);
});

async function rejects(bytes: Uint8Array, includes: string): Promise<void> {
  const reader = new FrameReader(streamOf(bytes, 1 << 20));
  try {
    await reader.next();
  } catch (e) {
    assert(e instanceof FrameError, String(e));
    assert(e.message.includes(includes), e.message);
    return;
  }
  throw new Error(`expected rejection "${includes}"`);
}

Deno.test("framing: length 0xFFFFFFFF and 16 MiB + 1 are refused before allocation", async () => {
  const huge = new Uint8Array([0xff, 0xff, 0xff, 0xff]);
  await rejects(huge, "exceeds");
  const over = new Uint8Array(4);
  new DataView(over.buffer).setUint32(0, MAX_FRAME_BYTES + 1, false);
  await rejects(over, "exceeds");
});

Deno.test("framing: a truncated frame and an empty frame are rejected", async () => {
  const full = lengthPrefixed(encodeFrame(sampleFrames()[4]));
  await rejects(full.subarray(0, full.length - 3), "truncated");
  await rejects(full.subarray(0, 2), "truncated");
  await rejects(new Uint8Array(4), "empty frame");
});

Deno.test("framing: a frame of exactly the cap is read; the writer refuses larger", async () => {
  const big = new Uint8Array(MAX_FRAME_BYTES - 1024);
  const frame = {
    type: "outbound" as const,
    requestId: "r",
    conversationId: "c",
    text: "",
    replyToId: "",
    editId: "",
    attachments: [{ name: "f", mimeType: "x", url: "", data: big, size: big.length }],
  };
  const body = encodeFrame(frame);
  assert(body.length <= MAX_FRAME_BYTES);
  const got = await new FrameReader(streamOf(lengthPrefixed(body), 1 << 20)).next();
  assertEquals(got?.type, "outbound");
  const tooBig = {
    ...frame,
    attachments: [{ ...frame.attachments[0], data: new Uint8Array(MAX_FRAME_BYTES) }],
  };
  assertThrows(() => encodeFrame(tooBig), FrameError, "exceeds");
});
