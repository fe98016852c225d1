/**
 * Reading a secret from the user: a no-echo prompt when stdin is a terminal, otherwise all of
 * stdin. Never from argv (visible in `ps` and shell history). Prompts go to stderr so stdout
 * stays clean for `--json`.
 *
 * @module
 */
import { Secret } from "../secret.ts";
import { VaultError } from "./errors.ts";

/** Longest secret accepted (a PEM key fits easily; a runaway pipe does not). */
export const MAX_SECRET_BYTES = 64 * 1024;

const encoder = new TextEncoder();

/** True when stdin is an interactive terminal. */
export function stdinIsTerminal(): boolean {
  return Deno.stdin.isTerminal();
}

/**
 * Reads one line from the terminal without echoing it. Ctrl-C aborts, backspace edits.
 * Requires stdin to be a terminal.
 */
export async function promptHidden(prompt: string): Promise<string> {
  Deno.stderr.writeSync(encoder.encode(prompt));
  Deno.stdin.setRaw(true);
  const bytes: number[] = [];
  const buf = new Uint8Array(256);
  try {
    outer: while (true) {
      const n = await Deno.stdin.read(buf);
      if (n === null) break;
      for (const b of buf.subarray(0, n)) {
        if (b === 0x0d || b === 0x0a) break outer;
        if (b === 0x03) throw new VaultError("Cancelled.", { exitCode: 130 });
        if (b === 0x04 && bytes.length === 0) break outer;
        if (b === 0x7f || b === 0x08) {
          // Drop a whole UTF-8 code point, not a single byte of it.
          while (bytes.length && (bytes[bytes.length - 1] & 0xc0) === 0x80) bytes.pop();
          bytes.pop();
          continue;
        }
        bytes.push(b);
        if (bytes.length > MAX_SECRET_BYTES) throw tooLong();
      }
    }
  } finally {
    Deno.stdin.setRaw(false);
    buf.fill(0);
    Deno.stderr.writeSync(encoder.encode("\n"));
  }
  const arr = new Uint8Array(bytes);
  bytes.fill(0);
  const text = new TextDecoder().decode(arr);
  arr.fill(0);
  return text;
}

/** Asks a yes/no question on the terminal (echoed); true only for y/yes. */
export async function confirm(question: string): Promise<boolean> {
  Deno.stderr.writeSync(encoder.encode(`${question} [y/N] `));
  const buf = new Uint8Array(64);
  const n = await Deno.stdin.read(buf);
  const answer = new TextDecoder().decode(buf.subarray(0, n ?? 0)).trim().toLowerCase();
  return answer === "y" || answer === "yes";
}

/** Reads all of stdin (bounded), dropping one trailing newline (`echo` and heredocs add it). */
export async function readStdinSecret(): Promise<string> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of Deno.stdin.readable) {
    total += chunk.length;
    // Room for the line ending dropped below: `echo` of a value at the limit is still accepted.
    if (total > MAX_SECRET_BYTES + 2) throw tooLong();
    chunks.push(chunk);
  }
  const all = new Uint8Array(total);
  let off = 0;
  for (const c of chunks) {
    all.set(c, off);
    off += c.length;
    c.fill(0);
  }
  const text = new TextDecoder().decode(all);
  const ending = all[total - 1] === 0x0a ? (all[total - 2] === 0x0d ? 2 : 1) : 0;
  all.fill(0);
  if (total - ending > MAX_SECRET_BYTES) throw tooLong();
  return text.replace(/\r?\n$/, "");
}

/**
 * Reads a secret value: hidden prompt (asked twice when `confirmTwice`) on a terminal, else
 * stdin. Refuses an empty value.
 */
export async function readSecret(
  what: string,
  options: { confirmTwice?: boolean } = {},
): Promise<Secret> {
  let value: string;
  if (stdinIsTerminal()) {
    value = await promptHidden(`${what}: `);
    if (options.confirmTwice) {
      const again = await promptHidden(`Repeat ${what.toLowerCase()}: `);
      if (again !== value) {
        throw new VaultError("The two entries differ; nothing was stored.", {
          fix: "Run the command again and type the same value twice.",
        });
      }
    }
  } else {
    value = await readStdinSecret();
  }
  if (value.length === 0) {
    throw new VaultError(`No ${what.toLowerCase()} was given (empty input).`, {
      fix: 'Type it at the prompt, or pipe it on stdin, e.g. `printf %s "$KEY" | wirken ...`.',
    });
  }
  return new Secret(value);
}

function tooLong(): VaultError {
  return new VaultError(`The value is longer than ${MAX_SECRET_BYTES} bytes.`, {
    fix: "Credentials are short strings; check that the right input was piped in.",
  });
}
