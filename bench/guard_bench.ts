/**
 * Secret-scanning cost: what the guard adds to every message that leaves the gateway.
 *
 * Figures (all in milliseconds):
 * - `build_100_secrets_ms`: compiling the matcher for 100 vault secrets (done at start and
 *   when a credential changes);
 * - `scan_4kb_clean_ms`: `redactText` of a 4 KB ordinary message (the common case);
 * - `scan_4kb_with_leak_ms`: the same message carrying one secret in base64 (a hit to redact);
 * - `scan_64kb_provider_body_ms`: a 64 KB provider request body.
 *
 * Run alone with `deno run bench/guard_bench.ts`, or through `deno task bench`.
 *
 * @module
 */
import { SecretScanner } from "../src/guard/scan.ts";
import { Secret } from "../src/secret.ts";
import { summarize, type Summary } from "./stats.ts";

function randomSecret(i: number): string {
  const bytes = crypto.getRandomValues(new Uint8Array(30));
  const b64 = btoa(String.fromCharCode(...bytes)).replaceAll("+", "A").replaceAll("/", "b");
  return i % 3 === 0 ? `sk-proj-${b64}` : i % 3 === 1 ? `xoxb-${b64}` : b64;
}

/** An ordinary-looking message of about `bytes` characters. */
function message(bytes: number): string {
  const words = [
    "the",
    "gateway",
    "forwarded",
    "550e8400-e29b-41d4-a716-446655440000",
    "request",
    "to",
    "https://example.com/docs?page=2",
    "and",
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "returned",
    '{"ok":true,"count":42}',
    "within",
    "120ms.\n",
  ];
  let out = "";
  for (let i = 0; out.length < bytes; i++) out += words[i % words.length] + " ";
  return out.slice(0, bytes);
}

function time(n: number, fn: () => void): Summary {
  for (let i = 0; i < Math.min(50, n); i++) fn(); // warm-up: JIT
  const samples: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    fn();
    samples.push(performance.now() - t0);
  }
  return summarize(samples);
}

/** Runs the guard benchmarks. */
export function run(): Promise<Record<string, Summary>> {
  const entries = Array.from({ length: 100 }, (_, i) => ({
    name: `cred.${i}`,
    value: new Secret(randomSecret(i)),
  }));
  let scanner = SecretScanner.fromSecrets(entries);
  const build = time(20, () => {
    scanner = SecretScanner.fromSecrets(entries);
  });
  const clean = message(4096);
  const leaked = clean.slice(0, 2000) + btoa(entries[42].value.reveal()) + clean.slice(2100);
  const body = message(65536);
  let sink = 0;
  const results = {
    build_100_secrets_ms: build,
    scan_4kb_clean_ms: time(2000, () => {
      sink += scanner.redactText(clean).hits.length;
    }),
    scan_4kb_with_leak_ms: time(2000, () => {
      sink += scanner.redactText(leaked).hits.length;
    }),
    scan_64kb_provider_body_ms: time(200, () => {
      sink += scanner.redactText(body).hits.length;
    }),
  };
  if (sink < 2000) throw new Error("the leaked message was not caught");
  return Promise.resolve(results);
}

if (import.meta.main) {
  const r = await run();
  Deno.stdout.writeSync(new TextEncoder().encode(JSON.stringify(r, null, 2) + "\n"));
}
