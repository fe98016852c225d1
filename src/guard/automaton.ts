/**
 * A multi-pattern matcher (Aho-Corasick compiled into a full DFA) over small integer alphabets.
 *
 * Patterns are arrays of symbols `0..alphabet-1`; the scanner maps text to symbols itself, so
 * this file never sees strings. Transitions live in one `Int32Array` (`states * alphabet`), so
 * a scan is one table lookup per input symbol whatever the number of patterns. Patterns are
 * kept only as trie transitions: there is no list of pattern strings to leak.
 *
 * @module
 */

/** One pattern to compile: its symbols and a caller-defined tag reported on a match. */
export interface PatternInput {
  symbols: ArrayLike<number>;
  tag: number;
}

/** A compiled matcher; immutable once built. */
export class Automaton {
  /** Number of symbols; every input symbol must be below it. */
  readonly alphabet: number;
  /** Number of DFA states (a size measure for tests and the benchmark). */
  readonly states: number;
  readonly #delta: Int32Array;
  /** Tag of the pattern ending exactly at a state, or -1. */
  readonly #tag: Int32Array;
  /** Length of that pattern (0 when none). */
  readonly #len: Int32Array;
  /** Nearest state on the failure chain that ends a pattern, or -1: walks every match. */
  readonly #dict: Int32Array;

  /** Compiles `patterns`; duplicate symbol sequences keep the first tag. */
  constructor(alphabet: number, patterns: Iterable<PatternInput>) {
    this.alphabet = alphabet;
    // Trie first, with transitions in a table sized for the worst case up front (one state per
    // pattern symbol), so building never copies it.
    const list = [...patterns];
    let cap = 1;
    for (const p of list) cap += p.symbols.length;
    let goto = new Int32Array(cap * alphabet).fill(-1);
    let tag = new Int32Array(cap).fill(-1);
    let len = new Int32Array(cap);
    let count = 1;
    for (const p of list) {
      if (p.symbols.length === 0) continue;
      let s = 0;
      for (let i = 0; i < p.symbols.length; i++) {
        const c = p.symbols[i];
        if (c < 0 || c >= alphabet) throw new RangeError("symbol outside the alphabet");
        let next = goto[s * alphabet + c];
        if (next === -1) {
          if (count === cap) {
            cap *= 2;
            const g = new Int32Array(cap * alphabet).fill(-1);
            g.set(goto);
            goto = g;
            const t = new Int32Array(cap).fill(-1);
            t.set(tag);
            tag = t;
            const l = new Int32Array(cap);
            l.set(len);
            len = l;
          }
          next = count++;
          goto[s * alphabet + c] = next;
        }
        s = next;
      }
      if (tag[s] === -1) {
        tag[s] = p.tag;
        len[s] = p.symbols.length;
      }
    }
    // Breadth-first: failure links, dictionary links, and missing transitions filled in from
    // the failure state, which turns the trie into a DFA.
    const delta = goto.subarray(0, count * alphabet);
    const fail = new Int32Array(count);
    const dict = new Int32Array(count).fill(-1);
    const queue = new Int32Array(count);
    let head = 0;
    let tail = 0;
    for (let c = 0; c < alphabet; c++) {
      const next = delta[c];
      if (next === -1) delta[c] = 0;
      else {
        fail[next] = 0;
        queue[tail++] = next;
      }
    }
    while (head < tail) {
      const s = queue[head++];
      const f = fail[s];
      dict[s] = tag[f] !== -1 ? f : dict[f];
      for (let c = 0; c < alphabet; c++) {
        const next = delta[s * alphabet + c];
        if (next === -1) delta[s * alphabet + c] = delta[f * alphabet + c];
        else {
          fail[next] = delta[f * alphabet + c];
          queue[tail++] = next;
        }
      }
    }
    this.#delta = delta.slice();
    this.#tag = tag.slice(0, count);
    this.#len = len.slice(0, count);
    this.#dict = dict;
    this.states = count;
  }

  /**
   * Runs over `symbols[0..length)` and calls `onMatch(tag, start, endExclusive)` for every
   * occurrence of every pattern (positions are indexes into `symbols`).
   */
  scan(
    symbols: ArrayLike<number>,
    length: number,
    onMatch: (tag: number, start: number, end: number) => void,
  ): void {
    const a = this.alphabet;
    const delta = this.#delta;
    const tag = this.#tag;
    const dict = this.#dict;
    const len = this.#len;
    let s = 0;
    for (let i = 0; i < length; i++) {
      s = delta[s * a + symbols[i]];
      if (tag[s] !== -1) onMatch(tag[s], i + 1 - len[s], i + 1);
      for (let d = dict[s]; d !== -1; d = dict[d]) onMatch(tag[d], i + 1 - len[d], i + 1);
    }
  }
}
