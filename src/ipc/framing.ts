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

/**
 * Serialises writes to one stream: concurrent senders never interleave partial frames, and a
 * partial `write` is continued until the whole frame is out.
 */
export class FrameWriter {
  #queue: Promise<void> = Promise.resolve();

  /** Wraps `stream`. */
  constructor(private readonly stream: ByteStream) {}

  /** Sends raw bytes (already prefixed); used by tests to send crafted frames. */
  writeRaw(bytes: Uint8Array): Promise<void> {
    const run = this.#queue.then(async () => {
      let off = 0;
      while (off < bytes.length) off += await this.stream.write(bytes.subarray(off));
    });
    // Keep the chain alive after a failure; the caller of the failed write sees the error.
    this.#queue = run.catch(() => {});
    return run;
  }

  /** Encodes and sends one frame. */
  write(frame: Frame): Promise<void> {
    return this.writeRaw(lengthPrefixed(encodeFrame(frame)));
  }
}
