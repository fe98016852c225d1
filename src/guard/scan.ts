/**
 * Secret scanning for everything that leaves the gateway: finds the value of every vault
 * credential (exactly, and in the encodings a prompt-injected model would use to smuggle it
 * out) and well-known API key shapes, and redacts them as `[REDACTED:<name>]`.
 *
 * How a text is searched, and why:
 * - **exact**: every credential value, code unit for code unit, over the raw text (precise
 *   spans, and the only check for values too short to fold safely).
 * - **folded**: the text is reduced to its letters and digits, lowercased, after decoding
 *   `%XX`, `\xXX`, `\uXXXX` and `&#NN;` escapes and mapping fullwidth letters to ASCII.
 *   Everything else (spaces, newlines, zero-width characters, punctuation, JSON quotes) is a
 *   separator that disappears. Patterns are folded the same way, so one folded pattern set
 *   matches the value split by whitespace/newlines/zero-width characters or pieces in a JSON
 *   array, URL-encoded (fully or partly), hex in either case, and base64 or base64url (which
 *   fold to the same symbols) at each of the three byte alignments a value can have inside a
 *   longer base64 stream. Every 12-symbol window of each of those is indexed too, so any
 *   piece of 12 or more letters/digits ("send the key in three parts") is caught.
 * - **shapes**: regular expressions for key formats that need no vault entry (OpenAI,
 *   Anthropic, AWS, GitHub, Slack, Telegram, Google, PEM private keys).
 *
 * Secrets are held only as automaton transitions (typed arrays); the plain value exists in a
 * local string for the moment a pattern is built, and every scratch buffer holding folded text
 * or pattern symbols is zeroed after use. Nothing here logs.
 *
 * @module
 */
import type { CredentialStore } from "../vault/types.ts";
import type { Secret } from "../secret.ts";
import { Automaton } from "./automaton.ts";

/** How a hit was written in the text. */
export type HitEncoding =
  | "exact"
  | "plain"
  | "hex"
  | "base64"
  | "partial"
  | "shape";

/** One finding; it never contains the secret itself. */
export interface SecretHit {
  /** The credential's name in the vault, or the key shape's name (e.g. `openai_api_key`). */
  name: string;
  /** Where the pattern came from. */
  source: "vault" | "shape";
  /**
   * `exact`: verbatim; `plain`: verbatim after removing separators or decoding escapes;
   * `hex`/`base64`: encoded (base64 includes base64url and every alignment); `partial`: a piece
   * of at least 12 letters/digits of a value or of its encodings; `shape`: a well-known key
   * format.
   */
  encoding: HitEncoding;
  /** Span in the scanned text (UTF-16 indexes, end exclusive). */
  start: number;
  end: number;
}

/** The result of {@linkcode SecretScanner.redactText}. */
export interface RedactResult {
  /** The text with every hit replaced by `[REDACTED:<name>]`. */
  text: string;
  hits: SecretHit[];
}

/** Options of {@linkcode SecretScanner}. */
export interface ScannerOptions {
  /** Values shorter than this are not scanned (they would match ordinary words). Default 8. */
  minLength?: number;
  /** Folded values shorter than this are matched exactly only. Default 12. */
  minFoldedLength?: number;
  /** Check well-known key shapes too (default true). */
  shapes?: boolean;
}

/** A well-known credential format. */
interface KeyShape {
  name: string;
  re: RegExp;
  /** Capture group holding the secret part (default: the whole match). */
  group?: number;
  /** Extra check on the secret part, against look-alikes in ordinary text. */
  accept?: (value: string) => boolean;
}

/** At least two digits, two upper- and two lowercase letters: true of random base62 keys. */
function mixed(value: string): boolean {
  let d = 0, u = 0, l = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c >= 48 && c <= 57) d++;
    else if (c >= 65 && c <= 90) u++;
    else if (c >= 97 && c <= 122) l++;
  }
  return d >= 2 && u >= 2 && l >= 2;
}

/** Has both cases: a 40-character AWS secret key, unlike a hex SHA-1. */
function bothCases(value: string): boolean {
  return /[A-Z]/.test(value) && /[a-z]/.test(value);
}

const KEY_SHAPES: readonly KeyShape[] = [
  { name: "anthropic_api_key", re: /(?<![A-Za-z0-9_-])sk-ant-[A-Za-z0-9_-]{20,}/g },
  {
    name: "openai_api_key",
    re: /(?<![A-Za-z0-9_-])sk-(?!ant-)(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}/g,
    accept: mixed,
  },
  { name: "aws_access_key_id", re: /(?<![A-Za-z0-9])(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Za-z0-9])/g },
  {
    // A secret access key is 40 base64 characters with nothing that marks it; only its context
    // (a name saying so, or an access key id just before it) tells it from other tokens.
    name: "aws_secret_access_key",
    re:
      /(?:aws.{0,20}?secret|secret.?access.?key|(?:AKIA|ASIA)[A-Z0-9]{16})[^A-Za-z0-9/+]{1,100}?([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])/gi,
    group: 1,
    accept: bothCases,
  },
  { name: "github_token", re: /(?<![A-Za-z0-9_])gh[pousr]_[A-Za-z0-9]{36,255}(?![A-Za-z0-9])/g },
  { name: "github_pat", re: /(?<![A-Za-z0-9_])github_pat_[A-Za-z0-9_]{22,255}/g },
  { name: "slack_token", re: /(?<![A-Za-z0-9-])xox[abpr]-[A-Za-z0-9-]{10,}/g },
  { name: "slack_app_token", re: /(?<![A-Za-z0-9-])xapp-\d-[A-Za-z0-9-]{10,}/g },
  {
    name: "telegram_bot_token",
    re: /(?<![0-9])\d{8,10}:[A-Za-z0-9_-]{35}(?![A-Za-z0-9_-])/g,
  },
  { name: "google_api_key", re: /(?<![A-Za-z0-9_-])AIza[0-9A-Za-z_-]{35}(?![A-Za-z0-9_-])/g },
  {
    // Up to the END line, or to the end of the text when it was cut off.
    name: "private_key",
    re:
      /-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----(?:[\s\S]*?-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|[\s\S]*$)/g,
  },
];

/** The names of the built-in key shapes, for documentation and tests. */
export const KEY_SHAPE_NAMES: readonly string[] = KEY_SHAPES.map((s) => s.name);

// ---- folding -------------------------------------------------------------------------------

/** Folded alphabet: '0'-'9' -> 0-9, 'a'-'z' (either case) -> 10-35. */
const FOLD_ALPHABET = 36;

/** Folded symbol of an ASCII code, or -1 (a separator). */
const ASCII_FOLD = (() => {
  const t = new Int8Array(128).fill(-1);
  for (let c = 48; c <= 57; c++) t[c] = c - 48;
  for (let c = 65; c <= 90; c++) t[c] = c - 55;
  for (let c = 97; c <= 122; c++) t[c] = c - 87;
  return t;
})();

/** Folded symbol of any code point: ASCII and fullwidth letters/digits, else -1. */
function foldCode(c: number): number {
  if (c < 128) return ASCII_FOLD[c];
  if (c >= 0xff10 && c <= 0xff19) return c - 0xff10;
  if (c >= 0xff21 && c <= 0xff3a) return c - 0xff21 + 10;
  if (c >= 0xff41 && c <= 0xff5a) return c - 0xff41 + 10;
  return -1;
}

/** Value of a hex digit code, or -1. */
function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 65 && c <= 70) return c - 55;
  if (c >= 97 && c <= 102) return c - 87;
  return -1;
}

/** Parses `count` hex digits of `text` at `at`, or -1. */
function hexAt(text: string, at: number, count: number): number {
  if (at + count > text.length) return -1;
  let v = 0;
  for (let i = 0; i < count; i++) {
    const h = hexValue(text.charCodeAt(at + i));
    if (h < 0) return -1;
    v = v * 16 + h;
  }
  return v;
}

/** Backslash escapes that stand for whitespace/control characters: separators. */
const SEPARATOR_ESCAPES = new Set("nrtbfv0\\/\"'".split("").map((c) => c.charCodeAt(0)));

/** Scratch buffers of one scanner, grown as needed and zeroed after each scan. */
class Scratch {
  folded = new Uint8Array(0);
  starts = new Int32Array(0);
  ends = new Int32Array(0);
  exact = new Uint16Array(0);

  ensure(n: number): void {
    if (this.folded.length >= n) return;
    const cap = Math.max(n, 4096);
    this.folded = new Uint8Array(cap);
    this.starts = new Int32Array(cap);
    this.ends = new Int32Array(cap);
    this.exact = new Uint16Array(cap);
  }
}

/**
 * Writes the folded view of `text` into `s` and returns its length. `starts[k]`/`ends[k]` give
 * the span of the original text that produced folded symbol `k`.
 */
function foldText(text: string, s: Scratch): number {
  const n = text.length;
  const out = s.folded, starts = s.starts, ends = s.ends;
  let k = 0;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    let decoded = -1;
    let width = 1;
    if (c === 37 /* % */) {
      const v = hexAt(text, i + 1, 2);
      if (v >= 0) {
        decoded = v;
        width = 3;
      }
    } else if (c === 92 /* \ */ && i + 1 < n) {
      const next = text.charCodeAt(i + 1);
      if (next === 120 /* x */) {
        const v = hexAt(text, i + 2, 2);
        if (v >= 0) {
          decoded = v;
          width = 4;
        }
      } else if (next === 117 /* u */) {
        const v = hexAt(text, i + 2, 4);
        if (v >= 0) {
          decoded = v;
          width = 6;
        }
      } else if (SEPARATOR_ESCAPES.has(next)) {
        // `\n` inside JSON text is a line break, not the letter n.
        i += 2;
        continue;
      }
    } else if (c === 38 /* & */ && i + 2 < n && text.charCodeAt(i + 1) === 35 /* # */) {
      const semi = text.indexOf(";", i + 3);
      if (semi > 0 && semi - i <= 10) {
        const body = text.slice(i + 2, semi);
        const v = body[0] === "x" || body[0] === "X"
          ? parseInt(body.slice(1), 16)
          : /^\d+$/.test(body)
          ? parseInt(body, 10)
          : NaN;
        if (Number.isFinite(v)) {
          decoded = v;
          width = semi + 1 - i;
        }
      }
    }
    const sym = foldCode(decoded >= 0 ? decoded : c);
    if (sym >= 0) {
      out[k] = sym;
      starts[k] = i;
      ends[k] = i + width;
      k++;
    }
    i += width;
  }
  return k;
}

// ---- patterns ------------------------------------------------------------------------------

const ENCODINGS: readonly HitEncoding[] = ["exact", "plain", "hex", "base64"];
const ENC_EXACT = 0, ENC_PLAIN = 1, ENC_HEX = 2, ENC_BASE64 = 3;
const ENC_BITS = 3;

/**
 * Pieces: every run of 12 folded symbols of every variant is remembered (as two base-36
 * numbers of 6 symbols, never as text), so any piece of 12 or more letters/digits of a value,
 * or of its hex or base64, is found wherever it sits, e.g. `?p1=<piece>&p2=<piece>`. Windows
 * without a digit, without a letter or with fewer than 6 distinct symbols are skipped: they
 * could be ordinary words (a credential that is a URL has `httpshooksla`).
 */
const PIECE = 12;
const HALF = 6;
const POW5 = 36 ** 5;
/** Bits of the prefilter bitmap over the first half of a window. */
const FILTER_BITS = 20;

/** Is a 12-symbol window distinctive enough to look for (all digits only if allowed)? */
function distinctive(symbols: Uint8Array, at: number, digitsOnly: boolean): boolean {
  let digits = 0;
  const seen = new Set<number>();
  for (let i = at; i < at + PIECE; i++) {
    if (symbols[i] < 10) digits++;
    seen.add(symbols[i]);
  }
  return digits > 0 && (digits < PIECE || digitsOnly) && seen.size >= 6;
}

/**
 * Folded symbols of the tokens of `value` (runs of letters, digits, `-`, `_`, `+`, `=`) that
 * look random: at least 12 letters/digits with both letters and digits in them.
 */
function randomTokens(value: string): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const m of value.matchAll(TOKEN)) {
    const folded = foldValue(m[0]);
    if (looksRandom(folded)) out.push(folded);
    else folded.fill(0);
  }
  return out;
}

const TOKEN = /[A-Za-z0-9_+=-]+/g;

/** At least 12 folded symbols, with both letters and digits. */
function looksRandom(folded: Uint8Array): boolean {
  let digits = 0;
  for (const x of folded) if (x < 10) digits++;
  return folded.length >= PIECE && digits > 0 && digits < folded.length;
}

/** The windows of every value: first half -> [second half, credential id, ...]. */
class PieceIndex {
  readonly map = new Map<number, number[]>();
  readonly filter = new Uint32Array(1 << (FILTER_BITS - 5));
  size = 0;

  /** Adds every window of `symbols` whose symbols are all flagged in `random` (if given). */
  add(symbols: Uint8Array, id: number, random?: Uint8Array, digitsOnly = false): void {
    let run = 0; // random symbols ending at the current window's end
    for (let at = 0; at + PIECE <= symbols.length; at++) {
      if (random) {
        if (at === 0) {
          run = 0;
          for (let i = 0; i < PIECE; i++) run = random[i] ? run + 1 : 0;
        } else run = random[at + PIECE - 1] ? run + 1 : 0;
        if (run < PIECE) continue;
      }
      if (!distinctive(symbols, at, digitsOnly)) continue;
      let a = 0, b = 0;
      for (let i = 0; i < HALF; i++) {
        a = a * 36 + symbols[at + i];
        b = b * 36 + symbols[at + HALF + i];
      }
      const list = this.map.get(a);
      if (list) {
        let dup = false;
        for (let j = 0; j < list.length; j += 2) {
          if (list[j] === b && list[j + 1] === id) dup = true;
        }
        if (!dup) list.push(b, id);
      } else this.map.set(a, [b, id]);
      const bit = a % (1 << FILTER_BITS);
      this.filter[bit >>> 5] |= 1 << (bit & 31);
      this.size++;
    }
  }
}

const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const B64_FOLD = Int8Array.from(B64, (ch) => foldCode(ch.charCodeAt(0)));

/**
 * Folded symbols of the base64 characters that depend only on `bytes` when they sit `offset`
 * bytes (0-2) after a 3-byte boundary of a longer stream. Characters mixing in neighbouring
 * bytes differ from stream to stream, so they are left out.
 */
function base64Core(
  bytes: Uint8Array,
  offset: number,
  randomBytes: Uint8Array,
): [Uint8Array, Uint8Array] {
  const totalBits = 8 * (offset + bytes.length);
  const first = Math.ceil((8 * offset) / 6);
  const last = Math.floor(totalBits / 6); // exclusive
  const out = new Uint8Array(Math.max(0, last - first));
  const random = new Uint8Array(out.length);
  let k = 0;
  for (let ch = first; ch < last; ch++) {
    let v = 0;
    for (let b = 0; b < 6; b++) {
      const bit = 6 * ch + b - 8 * offset; // bit index inside `bytes`
      const byte = bytes[bit >> 3];
      v = (v << 1) | ((byte >> (7 - (bit & 7))) & 1);
    }
    const sym = B64_FOLD[v];
    if (sym >= 0) {
      const lo = (6 * ch - 8 * offset) >> 3, hi = (6 * ch + 5 - 8 * offset) >> 3;
      random[k] = randomBytes[lo] & randomBytes[hi];
      out[k++] = sym;
    }
  }
  const result = out.slice(0, k);
  out.fill(0);
  return [result, random.slice(0, k)];
}

/**
 * Which UTF-8 bytes of `value` belong to a random-looking token (see {@linkcode randomTokens}):
 * only windows over those become pieces, in every encoding.
 */
function randomByteMask(value: string): Uint8Array {
  const charRandom = new Uint8Array(value.length);
  for (const m of value.matchAll(TOKEN)) {
    if (looksRandom(foldValue(m[0]))) charRandom.fill(1, m.index, m.index + m[0].length);
  }
  const out: number[] = [];
  const enc = new TextEncoder();
  for (let i = 0; i < value.length;) {
    const cp = value.codePointAt(i) as number;
    const width = cp > 0xffff ? 2 : 1;
    const n = enc.encode(String.fromCodePoint(cp)).length;
    for (let j = 0; j < n; j++) out.push(charRandom[i]);
    i += width;
  }
  return Uint8Array.from(out);
}

/** Which hex symbols come from random bytes. */
function hexRandom(randomBytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(randomBytes.length * 2);
  for (let i = 0; i < randomBytes.length; i++) out[2 * i] = out[2 * i + 1] = randomBytes[i];
  return out;
}

/** Folded symbols of the lowercase hex of `bytes` (a nibble's value is its symbol). */
function hexSymbols(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(bytes.length * 2);
  for (let i = 0; i < bytes.length; i++) {
    out[2 * i] = bytes[i] >> 4;
    out[2 * i + 1] = bytes[i] & 15;
  }
  return out;
}

/** Folded symbols of a value (letters and digits only). */
function foldValue(value: string): Uint8Array {
  const out = new Uint8Array(value.length);
  let k = 0;
  for (let i = 0; i < value.length; i++) {
    const sym = foldCode(value.charCodeAt(i));
    if (sym >= 0) out[k++] = sym;
  }
  const result = out.slice(0, k);
  out.fill(0);
  return result;
}

/** One credential as the builder sees it. */
export interface NamedSecret {
  name: string;
  value: Secret;
}

/** The compiled form of one vault state; replaced as a whole on refresh. */
class Compiled {
  readonly names: string[];
  readonly unscanned: string[];
  readonly folded: Automaton | null;
  readonly exact: Automaton | null;
  /** Code unit -> exact-alphabet symbol (0: a character no value contains). */
  readonly exactMap: Uint16Array | null;
  readonly pieces: PieceIndex;

  constructor(entries: Iterable<NamedSecret>, minLength: number, minFolded: number) {
    this.names = [];
    this.unscanned = [];
    this.pieces = new PieceIndex();
    const folded: { symbols: Uint8Array; tag: number }[] = [];
    const exact: { symbols: Uint16Array; tag: number }[] = [];
    const exactMap = new Uint16Array(65536);
    let exactAlphabet = 1;
    const encoder = new TextEncoder();
    for (const { name, value } of entries) {
      const plain = value.reveal();
      if (plain.length < minLength) {
        this.unscanned.push(name);
        continue;
      }
      const id = this.names.length;
      this.names.push(name);
      const ex = new Uint16Array(plain.length);
      for (let i = 0; i < plain.length; i++) {
        const c = plain.charCodeAt(i);
        if (exactMap[c] === 0) exactMap[c] = exactAlphabet++;
        ex[i] = exactMap[c];
      }
      exact.push({ symbols: ex, tag: (id << ENC_BITS) | ENC_EXACT });
      const fv = foldValue(plain);
      if (fv.length < minFolded) {
        fv.fill(0);
        continue;
      }
      const bytes = encoder.encode(plain);
      const randomBytes = randomByteMask(plain);
      const b64 = [0, 1, 2].map((offset) => base64Core(bytes, offset, randomBytes));
      const variants: [Uint8Array, number, Uint8Array | null][] = [
        [fv, ENC_PLAIN, null],
        [hexSymbols(bytes), ENC_HEX, hexRandom(randomBytes)],
        ...b64.map(([sym, random]): [Uint8Array, number, Uint8Array] => [sym, ENC_BASE64, random]),
      ];
      bytes.fill(0);
      for (const [symbols, enc, random] of variants) {
        folded.push({ symbols, tag: (id << ENC_BITS) | enc });
        // Pieces come only from the random-looking tokens of a value: a credential that is a
        // URL or a JSON document also holds ordinary words ("oauth2googleapis", "https://h")
        // that other texts mention, in clear or encoded.
        // Hex of letters and digits is mostly digits ("396638..."), so allow all-digit windows.
        if (random) this.pieces.add(symbols, id, random, enc === ENC_HEX);
      }
      for (const token of randomTokens(plain)) {
        this.pieces.add(token, id);
        token.fill(0);
      }
    }
    this.folded = folded.length > 0 ? new Automaton(FOLD_ALPHABET, folded) : null;
    this.exact = exact.length > 0 ? new Automaton(exactAlphabet, exact) : null;
    this.exactMap = exact.length > 0 ? exactMap : null;
    for (const p of folded) p.symbols.fill(0);
    for (const p of exact) p.symbols.fill(0);
  }
}

/** Fingerprint of a store's contents without reading values: names and update times. */
function storeFingerprint(store: CredentialStore): string {
  return store.list().map((c) => `${c.name}\u0000${c.updatedAt.getTime()}`).join("\u0001");
}

/** Reads every credential of `store` as `NamedSecret`s. */
function* storeEntries(store: CredentialStore): Generator<NamedSecret> {
  for (const info of store.list()) {
    const value = store.get(info.name);
    if (value) yield { name: info.name, value };
  }
}

/**
 * Scans texts for vault credentials and key shapes. Build one per vault with
 * {@linkcode SecretScanner.fromStore}; call {@linkcode SecretScanner.refreshIfChanged} (cheap:
 * metadata only) before scanning, or {@linkcode SecretScanner.refresh} after a credential
 * changed.
 */
export class SecretScanner {
  readonly #store: CredentialStore | undefined;
  readonly #entries: readonly NamedSecret[] | undefined;
  readonly #minLength: number;
  readonly #minFolded: number;
  readonly #shapes: boolean;
  readonly #scratch = new Scratch();
  #compiled: Compiled;
  #fingerprint = "";
  #checkedAt = 0;

  private constructor(
    source: { store: CredentialStore } | { entries: readonly NamedSecret[] },
    options: ScannerOptions,
  ) {
    this.#minLength = options.minLength ?? 8;
    this.#minFolded = options.minFoldedLength ?? 12;
    this.#shapes = options.shapes ?? true;
    if ("store" in source) {
      this.#store = source.store;
      this.#fingerprint = storeFingerprint(source.store);
      this.#compiled = this.#compile(storeEntries(source.store));
    } else {
      this.#entries = source.entries;
      this.#compiled = this.#compile(source.entries);
    }
  }

  /** A scanner over every credential of `store` (the vault), plus key shapes. */
  static fromStore(store: CredentialStore, options: ScannerOptions = {}): SecretScanner {
    return new SecretScanner({ store }, options);
  }

  /** A scanner over the given credentials (tests, or values that never were in the vault). */
  static fromSecrets(
    entries: Iterable<NamedSecret>,
    options: ScannerOptions = {},
  ): SecretScanner {
    return new SecretScanner({ entries: [...entries] }, options);
  }

  #compile(entries: Iterable<NamedSecret>): Compiled {
    return new Compiled(entries, this.#minLength, this.#minFolded);
  }

  /** Rebuilds the matcher from the store (or the given entries); call after a change. */
  refresh(): void {
    if (this.#store) {
      this.#fingerprint = storeFingerprint(this.#store);
      this.#compiled = this.#compile(storeEntries(this.#store));
    } else if (this.#entries) {
      this.#compiled = this.#compile(this.#entries);
    }
  }

  /**
   * Rebuilds only when the store's names or update times changed since the last build;
   * true when it did. Reads metadata only (about 0.3 ms for 100 credentials in the real
   * vault), and not at all when the last look was less than `maxAgeMs` ago.
   */
  refreshIfChanged(maxAgeMs = 0): boolean {
    if (!this.#store) return false;
    const now = performance.now();
    if (maxAgeMs > 0 && now - this.#checkedAt < maxAgeMs) return false;
    this.#checkedAt = now;
    if (storeFingerprint(this.#store) === this.#fingerprint) return false;
    this.refresh();
    return true;
  }

  /** Names of the credentials being looked for. */
  get covered(): readonly string[] {
    return this.#compiled.names;
  }

  /** Names of credentials too short to scan for without matching ordinary words. */
  get unscanned(): readonly string[] {
    return this.#compiled.unscanned;
  }

  /** Total automaton states (a size measure). */
  get states(): number {
    return (this.#compiled.folded?.states ?? 0) + (this.#compiled.exact?.states ?? 0);
  }

  /** Every hit in `text`, sorted by start; overlapping hits are all reported. */
  scan(text: string): SecretHit[] {
    const hits: SecretHit[] = [];
    const c = this.#compiled;
    const n = text.length;
    if (n === 0) return hits;
    const s = this.#scratch;
    s.ensure(n);
    try {
      if (c.exact && c.exactMap) {
        const map = c.exactMap;
        const sym = s.exact;
        for (let i = 0; i < n; i++) sym[i] = map[text.charCodeAt(i)];
        c.exact.scan(sym, n, (tag, start, end) => {
          hits.push({
            name: c.names[tag >> ENC_BITS],
            source: "vault",
            encoding: "exact",
            start,
            end,
          });
        });
      }
      if (c.folded) {
        const k = foldText(text, s);
        const starts = s.starts, ends = s.ends;
        c.folded.scan(s.folded, k, (tag, start, end) => {
          hits.push({
            name: c.names[tag >> ENC_BITS],
            source: "vault",
            encoding: ENCODINGS[tag & ((1 << ENC_BITS) - 1)],
            start: starts[start],
            end: ends[end - 1],
          });
        });
        this.#findPieces(c, s, k, hits);
      }
    } finally {
      s.folded.fill(0, 0, n);
      s.exact.fill(0, 0, n);
    }
    if (this.#shapes) {
      for (const shape of KEY_SHAPES) {
        shape.re.lastIndex = 0;
        for (const m of text.matchAll(shape.re)) {
          const part = shape.group ? m[shape.group] : m[0];
          if (part === undefined || (shape.accept && !shape.accept(part))) continue;
          // The group is the match's tail (the regexes end with it), so its start follows.
          const end = m.index + m[0].length;
          hits.push({
            name: shape.name,
            source: "shape",
            encoding: "shape",
            start: end - part.length,
            end,
          });
        }
      }
    }
    hits.sort((a, b) => a.start - b.start || b.end - a.end);
    return hits;
  }

  /** Looks up every 12-symbol window of the folded text; adjacent windows merge into one hit. */
  #findPieces(c: Compiled, s: Scratch, k: number, hits: SecretHit[]): void {
    if (c.pieces.size === 0) return;
    const sym = s.folded, starts = s.starts, ends = s.ends;
    const filter = c.pieces.filter, map = c.pieces.map;
    const open = new Map<number, SecretHit>();
    let a = 0, b = 0;
    for (let i = 0; i < k; i++) {
      b = (b % POW5) * 36 + sym[i];
      if (i >= HALF) a = (a % POW5) * 36 + sym[i - HALF];
      if (i < PIECE - 1) continue;
      const bit = a % (1 << FILTER_BITS);
      if ((filter[bit >>> 5] & (1 << (bit & 31))) === 0) continue;
      const list = map.get(a);
      if (!list) continue;
      for (let j = 0; j < list.length; j += 2) {
        if (list[j] !== b) continue;
        const id = list[j + 1];
        const start = starts[i - PIECE + 1], end = ends[i];
        const last = open.get(id);
        if (last && start <= last.end) last.end = end;
        else {
          const hit: SecretHit = {
            name: c.names[id],
            source: "vault",
            encoding: "partial",
            start,
            end,
          };
          open.set(id, hit);
          hits.push(hit);
        }
      }
    }
  }

  /** True when `text` holds any secret. */
  has(text: string): boolean {
    return this.scan(text).length > 0;
  }

  /**
   * `text` with every hit replaced by `[REDACTED:<name>]`; overlapping hits merge into one
   * replacement named after the first (vault names win over shapes at the same start).
   */
  redactText(text: string): RedactResult {
    const hits = this.scan(text);
    if (hits.length === 0) return { text, hits };
    return { text: applyRedactions(text, hits), hits };
  }
}

/**
 * Replaces the merged spans of `hits` (from {@linkcode SecretScanner.scan} of this `text`,
 * sorted by start) with `[REDACTED:<name>]`.
 */
export function applyRedactions(text: string, hits: readonly SecretHit[]): string {
  const parts: string[] = [];
  let at = 0;
  let i = 0;
  while (i < hits.length) {
    const first = hits[i];
    let start = first.start;
    let end = first.end;
    let name = first.name;
    let vault = first.source === "vault";
    i++;
    while (i < hits.length && hits[i].start <= end) {
      if (!vault && hits[i].source === "vault" && hits[i].start === start) {
        name = hits[i].name;
        vault = true;
      }
      end = Math.max(end, hits[i].end);
      i++;
    }
    start = Math.max(start, at);
    parts.push(text.slice(at, start), `[REDACTED:${name}]`);
    at = end;
  }
  parts.push(text.slice(at));
  return parts.join("");
}
