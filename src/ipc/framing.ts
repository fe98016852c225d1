/**
 * Length-prefixed framing over a byte stream: a 4-byte big-endian body length, then the body
 * (one unpacked Cap'n Proto message). The length is checked against the cap before a single
 * body byte is allocated, so a hostile `0xFFFFFFFF` costs nothing.
 *
 * @module
 */
import { decodeFrame, encodeFrame, type Frame } from "./codec.ts";
import { FrameError } from "./errors.ts";
import { MAX_FRAME_BYTES } from "./limits.ts";

/** The smallest byte stream framing needs (a `Deno.Conn` is one). */
export interface ByteStream {
  read(p: Uint8Array): Promise<number | null>;
  write(p: Uint8Array): Promise<number>;
}

/** Prefixes `body` with its 4-byte big-endian length. */
export function lengthPrefixed(body: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + body.length);
  new DataView(out.buffer).setUint32(0, body.length, false);
  out.set(body, 4);
  return out;
}

/** Reads frames from a stream, buffering reads so small frames cost one syscall per batch. */
export class FrameReader {
  #buf = new Uint8Array(64 * 1024);
  #start = 0;
  #end = 0;

  /** `maxFrameBytes` is the cap on one body (default 16 MiB). */
  constructor(
    private readonly stream: ByteStream,
    private readonly maxFrameBytes = MAX_FRAME_BYTES,
  ) {}

  /** Fills the buffer until `n` unread bytes are available; false on a clean EOF at 0 bytes. */
  async #fill(n: number): Promise<boolean> {
    while (this.#end - this.#start < n) {
      if (this.#buf.length - this.#start < n) {
        // Grow (or compact) so n bytes fit; n is already known to be within the cap.
        const size = Math.max(this.#buf.length, n);
        const next = size === this.#buf.length ? this.#buf : new Uint8Array(size);
        next.set(this.#buf.subarray(this.#start, this.#end), 0);
        this.#end -= this.#start;
        this.#start = 0;
        this.#buf = next;
      }
      const read = await this.stream.read(this.#buf.subarray(this.#end));
      if (read === null) {
        if (this.#end === this.#start) return false;
        throw new FrameError(`truncated frame (${this.#end - this.#start} of ${n} bytes)`);
      }
      this.#end += read;
    }
    return true;
  }

  /** The next frame body, or `null` at a clean end of stream. Throws {@linkcode FrameError}. */
  async nextBody(): Promise<Uint8Array | null> {
    if (!(await this.#fill(4))) return null;
    const length = new DataView(this.#buf.buffer, this.#start, 4).getUint32(0, false);
    if (length > this.maxFrameBytes) {
      throw new FrameError(`frame length ${length} exceeds ${this.maxFrameBytes}`);
    }
    if (length === 0) throw new FrameError("empty frame");
    this.#start += 4;
    if (!(await this.#fill(length))) throw new FrameError("truncated frame (no body)");
    const body = this.#buf.slice(this.#start, this.#start + length);
    this.#start += length;
    if (this.#start === this.#end) this.#start = this.#end = 0;
    return body;
  }

  /** The next decoded frame, or `null` at a clean end of stream. Throws {@linkcode FrameError}. */
  async next(): Promise<Frame | null> {
    const body = await this.nextBody();
    return body === null ? null : decodeFrame(body);
  }
}

interface QueuedWrite {
  bytes: Uint8Array;
  resolve(): void;
  reject(e: unknown): void;
}

/**
 * Serialises writes to one stream: concurrent senders never interleave partial frames, a
 * partial `write` is continued until the whole frame is out, and frames queued while a write is
 * in flight go out together in one write (fewer syscalls under load).
 */
export class FrameWriter {
  #pending: QueuedWrite[] = [];
  #busy = false;

  /** Wraps `stream`. */
  constructor(private readonly stream: ByteStream) {}

  /** Sends raw bytes (already prefixed); used by tests to send crafted frames. */
  writeRaw(bytes: Uint8Array): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#pending.push({ bytes, resolve, reject });
      if (!this.#busy) this.#drain();
    });
  }

  /** Encodes and sends one frame. */
  write(frame: Frame): Promise<void> {
    try {
      return this.writeRaw(lengthPrefixed(encodeFrame(frame)));
    } catch (e) {
      return Promise.reject(e);
    }
  }

  async #drain(): Promise<void> {
    this.#busy = true;
    while (this.#pending.length > 0) {
      // Coalesce up to 1 MiB of queued frames into one write.
      const batch: QueuedWrite[] = [];
      let size = 0;
      while (this.#pending.length > 0 && (batch.length === 0 || size < 1 << 20)) {
        const next = this.#pending.shift()!;
        batch.push(next);
        size += next.bytes.length;
      }
      let bytes: Uint8Array;
      if (batch.length === 1) {
        bytes = batch[0].bytes;
      } else {
        bytes = new Uint8Array(size);
        let off = 0;
        for (const b of batch) {
          bytes.set(b.bytes, off);
          off += b.bytes.length;
        }
      }
      try {
        let off = 0;
        while (off < bytes.length) off += await this.stream.write(bytes.subarray(off));
        for (const b of batch) b.resolve();
      } catch (e) {
        // The stream is broken: fail this batch and everything still queued.
        for (const b of [...batch, ...this.#pending.splice(0)]) b.reject(e);
      }
    }
    this.#busy = false;
  }
}
