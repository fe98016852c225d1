/**
 * The AWS event stream binary framing (`application/vnd.amazon.eventstream`), used by Bedrock
 * `ConverseStream`. A message is:
 *
 * ```
 * [total length u32][headers length u32][prelude CRC32 u32][headers][payload][message CRC32 u32]
 * ```
 *
 * all big-endian; the prelude CRC covers the first 8 bytes and the message CRC everything before
 * it. A header is `[name length u8][name][type u8][value]`. Both CRCs are checked: a frame
 * that fails either is rejected rather than parsed, since its length fields cannot be trusted.
 *
 * @module
 */

/** Largest frame accepted (AWS documents 16 MiB); a bigger length is treated as corruption. */
export const MAX_FRAME = 16 * 1024 * 1024;

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 (IEEE 802.3, the one AWS event streams use). */
export function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** A header value: strings and byte arrays are kept; other types become numbers/booleans. */
export type HeaderValue = string | number | boolean | bigint | Uint8Array;

/** One decoded message. */
export interface EventMessage {
  headers: Record<string, HeaderValue>;
  payload: Uint8Array;
}

/** Thrown for a frame that is corrupt (bad CRC, impossible length, unknown header type). */
export class EventStreamError extends Error {
  /** Builds the error. */
  constructor(message: string) {
    super(message);
    this.name = "EventStreamError";
  }
}

const dec = new TextDecoder();

function parseHeaders(bytes: Uint8Array): Record<string, HeaderValue> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: Record<string, HeaderValue> = {};
  let o = 0;
  const need = (n: number) => {
    if (o + n > bytes.length) throw new EventStreamError("header runs past its section");
  };
  while (o < bytes.length) {
    need(1);
    const nameLen = bytes[o++];
    need(nameLen + 1);
    const name = dec.decode(bytes.subarray(o, o + nameLen));
    o += nameLen;
    const type = bytes[o++];
    let value: HeaderValue;
    switch (type) {
      case 0:
        value = true;
        break;
      case 1:
        value = false;
        break;
      case 2:
        need(1);
        value = view.getInt8(o);
        o += 1;
        break;
      case 3:
        need(2);
        value = view.getInt16(o);
        o += 2;
        break;
      case 4:
        need(4);
        value = view.getInt32(o);
        o += 4;
        break;
      case 5:
      case 8:
        need(8);
        value = view.getBigInt64(o);
        o += 8;
        break;
      case 6:
      case 7: {
        need(2);
        const len = view.getUint16(o);
        o += 2;
        need(len);
        const raw = bytes.subarray(o, o + len);
        value = type === 7 ? dec.decode(raw) : raw.slice();
        o += len;
        break;
      }
      case 9:
        need(16);
        value = bytes.slice(o, o + 16);
        o += 16;
        break;
      default:
        throw new EventStreamError(`unknown header type ${type}`);
    }
    out[name] = value;
  }
  return out;
}

/** Incremental decoder: feed network chunks, get whole messages. */
export class EventStreamDecoder {
  #buf = new Uint8Array(0);

  /** Appends bytes and returns every message now complete. */
  push(chunk: Uint8Array): EventMessage[] {
    const merged = new Uint8Array(this.#buf.length + chunk.length);
    merged.set(this.#buf);
    merged.set(chunk, this.#buf.length);
    this.#buf = merged;
    const out: EventMessage[] = [];
    while (this.#buf.length >= 12) {
      const view = new DataView(this.#buf.buffer, this.#buf.byteOffset, this.#buf.byteLength);
      const total = view.getUint32(0);
      const headersLen = view.getUint32(4);
      if (crc32(this.#buf.subarray(0, 8)) !== view.getUint32(8)) {
        throw new EventStreamError("prelude CRC mismatch");
      }
      if (total < 16 || total > MAX_FRAME || headersLen > total - 16) {
        throw new EventStreamError("impossible frame length");
      }
      if (this.#buf.length < total) break;
      const frame = this.#buf.subarray(0, total);
      const fview = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
      if (crc32(frame.subarray(0, total - 4)) !== fview.getUint32(total - 4)) {
        throw new EventStreamError("message CRC mismatch");
      }
      out.push({
        headers: parseHeaders(frame.subarray(12, 12 + headersLen)),
        payload: frame.slice(12 + headersLen, total - 4),
      });
      this.#buf = this.#buf.slice(total);
    }
    return out;
  }

  /** Bytes received but not yet part of a whole message (non-zero at end: truncated). */
  get pending(): number {
    return this.#buf.length;
  }
}

const enc = new TextEncoder();

/** Encodes one message with string headers (what AWS sends; used by tests and fakes). */
export function encodeEventMessage(
  headers: Record<string, string>,
  payload: Uint8Array,
): Uint8Array {
  const parts: number[] = [];
  for (const [name, value] of Object.entries(headers)) {
    const n = enc.encode(name);
    const v = enc.encode(value);
    parts.push(n.length, ...n, 7, (v.length >> 8) & 0xff, v.length & 0xff, ...v);
  }
  const h = Uint8Array.from(parts);
  const total = 12 + h.length + payload.length + 4;
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  view.setUint32(0, total);
  view.setUint32(4, h.length);
  view.setUint32(8, crc32(out.subarray(0, 8)));
  out.set(h, 12);
  out.set(payload, 12 + h.length);
  view.setUint32(total - 4, crc32(out.subarray(0, total - 4)));
  return out;
}
