/**
 * A structural check of an unpacked Cap'n Proto message, run on every received frame BEFORE the
 * generated code touches it.
 *
 * capnp-es has no public traversal or depth limit (see ../../PLATFORM notes), so instead of
 * trusting the library this walks the raw pointer graph itself, schema-agnostic, and rejects:
 * a malformed segment table, trailing bytes, pointers out of bounds, capability pointers, far
 * pointers to far pointers, nesting deeper than {@linkcode MAX_NESTING_DEPTH}, and more visited
 * words than the traversal budget (which catches pointer loops and amplification: many
 * pointers sharing one large target). Work is O(budget), and the budget is O(message size).
 *
 * @module
 */
import { FrameError } from "./errors.ts";
import {
  MAX_NESTING_DEPTH,
  MAX_SEGMENTS,
  TRAVERSAL_RATIO,
  TRAVERSAL_SLACK_WORDS,
} from "./limits.ts";

/** Limits of one {@linkcode validateMessage} call; the defaults come from `limits.ts`. */
export interface ValidateOptions {
  /** Deepest struct/list nesting; the root struct is depth 1. */
  maxDepth?: number;
  /** Words that may be visited; default `TRAVERSAL_RATIO * words + TRAVERSAL_SLACK_WORDS`. */
  traversalWords?: number;
}

interface Seg {
  /** Byte offset of the segment in the message. */
  start: number;
  /** Length in 8-byte words. */
  words: number;
}

/** Parses the segment table; throws {@linkcode FrameError} unless it describes `bytes` exactly. */
export function segmentTable(bytes: Uint8Array): Seg[] {
  if (bytes.length < 8 || bytes.length % 8 !== 0) {
    throw new FrameError(`message length ${bytes.length} is not a positive multiple of 8`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const count = view.getUint32(0, true) + 1;
  if (count > MAX_SEGMENTS) throw new FrameError(`message declares ${count} segments`);
  const header = 4 + 4 * count + (count % 2 === 0 ? 4 : 0);
  if (bytes.length < header) throw new FrameError("message shorter than its segment table");
  const segs: Seg[] = [];
  let pos = header;
  for (let i = 0; i < count; i++) {
    const words = view.getUint32(4 + 4 * i, true);
    segs.push({ start: pos, words });
    pos += words * 8;
    if (pos > bytes.length) throw new FrameError("segment runs past the end of the message");
  }
  if (pos !== bytes.length) throw new FrameError("bytes after the last segment");
  if (segs[0].words < 1) throw new FrameError("first segment has no root pointer");
  return segs;
}

/**
 * Throws {@linkcode FrameError} unless `bytes` is a well-formed, bounded, capability-free
 * Cap'n Proto message (unpacked stream framing, segment table included).
 */
export function validateMessage(bytes: Uint8Array, options: ValidateOptions = {}): void {
  const segs = segmentTable(bytes);
  const totalWords = segs.reduce((n, s) => n + s.words, 0);
  const walker = new Walker(
    new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength),
    segs,
    options.maxDepth ?? MAX_NESTING_DEPTH,
    options.traversalWords ?? TRAVERSAL_RATIO * totalWords + TRAVERSAL_SLACK_WORDS,
  );
  walker.pointer(0, 0, 0);
}

class Walker {
  constructor(
    private readonly view: DataView,
    private readonly segs: Seg[],
    private readonly maxDepth: number,
    private budget: number,
  ) {}

  private word(seg: number, word: number): [number, number] {
    const off = this.segs[seg].start + word * 8;
    return [this.view.getUint32(off, true), this.view.getUint32(off + 4, true)];
  }

  private range(seg: number, start: number, words: number): void {
    if (start < 0 || start + words > this.segs[seg].words) {
      throw new FrameError("pointer target out of bounds");
    }
  }

  private charge(words: number): void {
    this.budget -= words;
    if (this.budget < 0) {
      throw new FrameError("traversal limit exceeded (pointer loop or amplification)");
    }
  }

  /** Follows the pointer stored at (`seg`, `word`). */
  pointer(seg: number, word: number, depth: number): void {
    const [lo, hi] = this.word(seg, word);
    if (lo === 0 && hi === 0) return;
    const kind = lo & 3;
    if (kind === 3) throw new FrameError("capability pointers are not allowed");
    if (kind !== 2) return this.content(seg, word + 1 + ((lo | 0) >> 2), kind, hi, depth);

    // Far pointer: a landing pad in another (or the same) segment.
    const double = (lo >>> 2) & 1;
    const padWord = lo >>> 3;
    const padSeg = hi;
    if (padSeg >= this.segs.length) throw new FrameError("far pointer to a missing segment");
    if (!double) {
      this.range(padSeg, padWord, 1);
      const [plo, phi] = this.word(padSeg, padWord);
      const pkind = plo & 3;
      if (pkind === 2) throw new FrameError("far pointer to a far pointer");
      if (pkind === 3) throw new FrameError("capability pointers are not allowed");
      if (plo === 0 && phi === 0) return;
      return this.content(padSeg, padWord + 1 + ((plo | 0) >> 2), pkind, phi, depth);
    }
    this.range(padSeg, padWord, 2);
    const [flo, fhi] = this.word(padSeg, padWord);
    const [tlo, thi] = this.word(padSeg, padWord + 1);
    if ((flo & 3) !== 2 || ((flo >>> 2) & 1) !== 0) throw new FrameError("bad double-far pad");
    if (fhi >= this.segs.length) throw new FrameError("far pointer to a missing segment");
    const tkind = tlo & 3;
    if ((tkind !== 0 && tkind !== 1) || (tlo >>> 2) !== 0) {
      throw new FrameError("bad double-far tag");
    }
    return this.content(fhi, flo >>> 3, tkind, thi, depth);
  }

  /** Checks the struct (`kind` 0) or list (`kind` 1) starting at (`seg`, `start`). */
  private content(seg: number, start: number, kind: number, hi: number, depth: number): void {
    if (depth >= this.maxDepth) {
      throw new FrameError(`nesting deeper than ${this.maxDepth}`);
    }
    if (kind === 0) {
      const data = hi & 0xffff;
      const ptrs = hi >>> 16;
      this.range(seg, start, data + ptrs);
      this.charge(Math.max(1, data + ptrs));
      for (let i = 0; i < ptrs; i++) this.pointer(seg, start + data + i, depth + 1);
      return;
    }
    const size = hi & 7;
    const count = hi >>> 3;
    switch (size) {
      case 0: // void: no bytes, but a reader may still loop over `count` elements
        this.charge(count);
        return;
      case 1:
        return this.flat(seg, start, Math.ceil(count / 64));
      case 2:
        return this.flat(seg, start, Math.ceil(count / 8));
      case 3:
        return this.flat(seg, start, Math.ceil(count / 4));
      case 4:
        return this.flat(seg, start, Math.ceil(count / 2));
      case 5:
        return this.flat(seg, start, count);
      case 6:
        this.flat(seg, start, count);
        for (let i = 0; i < count; i++) this.pointer(seg, start + i, depth + 1);
        return;
      default: { // 7: inline composite; `count` is words, a tag word comes first
        this.range(seg, start, count + 1);
        const [tlo, thi] = this.word(seg, start);
        if ((tlo & 3) !== 0) throw new FrameError("inline composite tag is not a struct tag");
        const n = tlo >>> 2;
        const data = thi & 0xffff;
        const ptrs = thi >>> 16;
        const step = data + ptrs;
        if (n * step > count) throw new FrameError("inline composite elements overrun the list");
        this.charge(count + 1 + (step === 0 ? n : 0));
        for (let e = 0; e < n; e++) {
          const base = start + 1 + e * step + data;
          for (let p = 0; p < ptrs; p++) this.pointer(seg, base + p, depth + 1);
        }
      }
    }
  }

  private flat(seg: number, start: number, words: number): void {
    this.range(seg, start, words);
    this.charge(words);
  }
}
