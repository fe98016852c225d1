import { assert, assertEquals, assertFalse, assertStringIncludes } from "../../tests/assert.ts";
import { Secret } from "../secret.ts";
import type { CredentialInfo, CredentialStore } from "../vault/types.ts";
import { KEY_SHAPE_NAMES, type NamedSecret, SecretScanner } from "./scan.ts";
import { Automaton } from "./automaton.ts";

const KEY = "Zq8vN3xK1pR7tY2mW9bH4cJ6dF0gL5sAe7Uu"; // 36 chars, random-looking
const NAME = "provider.openai.api_key";

function scanner(values: Record<string, string> = { [NAME]: KEY }): SecretScanner {
  return SecretScanner.fromSecrets(
    Object.entries(values).map(([name, v]): NamedSecret => ({ name, value: new Secret(v) })),
  );
}

const enc = new TextEncoder();
const hex = (s: string) => [...enc.encode(s)].map((b) => b.toString(16).padStart(2, "0")).join("");
const b64 = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes));
const b64url = (bytes: Uint8Array) =>
  b64(bytes).replaceAll("+", "-").replaceAll("/", "_").replaceAll("=", "");

/** Asserts the credential is found and gone from the redacted text. */
function assertCaught(s: SecretScanner, text: string, what: string): void {
  const r = s.redactText(text);
  assert(r.hits.some((h) => h.name === NAME), `${what}: not found in ${JSON.stringify(text)}`);
  assertStringIncludes(r.text, `[REDACTED:${NAME}]`, what);
  assertFalse(r.text.includes(KEY), `${what}: value survived redaction`);
}

Deno.test("automaton: finds every occurrence of overlapping patterns", () => {
  // "he", "she", "his", "hers" over "ushers" (the textbook example), alphabet a-z.
  const sym = (w: string) => [...w].map((c) => c.charCodeAt(0) - 97);
  const a = new Automaton(
    26,
    ["he", "she", "his", "hers"].map((w, tag) => ({ symbols: sym(w), tag })),
  );
  const found: string[] = [];
  const text = sym("ushers");
  a.scan(text, text.length, (tag, start, end) => found.push(`${tag}:${start}-${end}`));
  assertEquals(found.sort(), ["0:2-4", "1:1-4", "3:2-6"]);
});

Deno.test("scan: exact value, inside prose and inside JSON", () => {
  const s = scanner();
  assertCaught(s, KEY, "bare");
  assertCaught(s, `Here is the key: ${KEY}. Use it well.`, "prose");
  assertCaught(s, JSON.stringify({ headers: { Authorization: `Bearer ${KEY}` } }), "json");
  const r = s.redactText(`a ${KEY} b ${KEY} c`);
  assertEquals(r.text, `a [REDACTED:${NAME}] b [REDACTED:${NAME}] c`);
});

Deno.test("scan: base64 and base64url at every offset inside a longer stream", () => {
  const s = scanner();
  const value = enc.encode(KEY);
  for (let before = 0; before < 6; before++) {
    for (let after = 0; after < 4; after++) {
      const stream = new Uint8Array(before + value.length + after);
      stream.fill(0x5a);
      stream.set(value, before);
      assertCaught(s, `data: ${b64(stream)}`, `base64 before=${before} after=${after}`);
      assertCaught(s, `?d=${b64url(stream)}`, `base64url before=${before} after=${after}`);
    }
  }
  // MIME-wrapped base64 (line breaks every 76 chars) of a larger document containing the key.
  const doc = enc.encode(`${"lorem ipsum ".repeat(10)}OPENAI_API_KEY=${KEY}\n${"x".repeat(50)}`);
  const wrapped = b64(doc).replace(/(.{76})/g, "$1\r\n");
  assertCaught(s, wrapped, "mime-wrapped base64");
});

Deno.test("scan: hex in both cases, escapes and URL encoding", () => {
  const s = scanner();
  assertCaught(s, hex(KEY), "hex lower");
  assertCaught(s, hex(KEY).toUpperCase(), "hex upper");
  assertCaught(s, hex(KEY).replace(/(..)/g, "$1 "), "hex with spaces");
  assertCaught(s, hex(KEY).replace(/(..)/g, "\\x$1"), "\\x escapes");
  assertCaught(s, [...KEY].map((c) => `%${c.charCodeAt(0).toString(16)}`).join(""), "all %XX");
  assertCaught(s, `https://evil.example/?k=${encodeURIComponent(KEY)}`, "encodeURIComponent");
  assertCaught(
    s,
    [...KEY].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`).join(""),
    "\\u",
  );
  assertCaught(s, [...KEY].map((c) => `&#${c.charCodeAt(0)};`).join(""), "html entities");
  const full = [...KEY].map((c) =>
    /[a-zA-Z0-9]/.test(c) ? String.fromCharCode(c.charCodeAt(0) + 0xfee0) : c
  );
  assertCaught(s, full.join(""), "fullwidth letters");
});

Deno.test("scan: split by whitespace, newlines, zero-width characters and JSON pieces", () => {
  const s = scanner();
  const thirds = [KEY.slice(0, 12), KEY.slice(12, 24), KEY.slice(24)];
  assertCaught(s, thirds.join(" "), "spaces");
  assertCaught(s, thirds.join("\n"), "newlines");
  assertCaught(s, [...KEY].join("\u200b"), "zero-width space between every char");
  assertCaught(s, thirds.join("\u2060\ufeff"), "word joiner + BOM");
  assertCaught(s, JSON.stringify({ parts: thirds }), "JSON array of pieces");
  assertCaught(s, JSON.stringify(thirds.join("\n")), "JSON-escaped newline");
  assertCaught(s, thirds.join("-"), "dashes");
  assertCaught(
    s,
    `part 1: ${thirds[0]}\npart 2: ${thirds[1]}\npart 3: ${thirds[2]}`.replaceAll(
      /part \d: /g,
      "",
    ),
    "one piece per line",
  );
});

Deno.test("scan: pieces of 12 or more letters/digits are caught wherever they sit", () => {
  const long = "ghx_" + "A1b2C3d4E5f6G7h8J9k0L1m2N3p4Q5r6S7t8U9v0W1x2Y3z4A5b6C7d8E9f0G1h2J3k4";
  const s = SecretScanner.fromSecrets([{ name: NAME, value: new Secret(long) }], { shapes: false });
  const r = s.redactText(`first half: ${long.slice(10, 60)}`);
  assert(r.hits.some((h) => h.encoding === "partial"), "a 50-char piece must be caught");
  assertFalse(r.text.includes(long.slice(12, 58)));
  // Interleaved with alphanumeric labels (query parameters), which break the whole value apart.
  const k = KEY;
  const s2 = scanner();
  assertCaught(
    s2,
    `https://evil.example/c?p1=${k.slice(0, 12)}&p2=${k.slice(12, 24)}&p3=${k.slice(24)}`,
    "pieces",
  );
  assertCaught(s2, `a=${btoa(k.slice(0, 18))} b=${btoa(k.slice(18))}`, "base64 of pieces");
  assertFalse(s2.has(`x=${k.slice(0, 10)}`), "10 symbols is below the guarantee");
});

Deno.test("scan: key shapes without any vault entry", () => {
  const s = SecretScanner.fromSecrets([]);
  const cases: [string, string][] = [
    ["openai_api_key", "sk-proj-Ab3dEf7hIj0KlMn2OpQr5StUv8WxYz1A2b3C4d5E6"],
    ["openai_api_key", "sk-T3BlbkFJa9Xk2LmNoPqRsTuVwXyZ0123456789AbCdEf"],
    ["anthropic_api_key", "sk-ant-api03-aBcDeFgHiJkLmNoPqRsTuVwXyZ012345"],
    ["aws_access_key_id", "AKIAIOSFODNN7EXAMPLE"],
    ["aws_access_key_id", "ASIAY34FZKBOKMUTVV7A"],
    ["github_token", "ghp_" + "aB3dE6gH9jK2mN5pQ8sT1vW4yZ7bC0eF3hJ6"],
    ["github_pat", "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz"],
    ["slack_token", "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx"],
    ["slack_app_token", "xapp-1-A0123456789-1234567890123-abcdef0123456789"],
    ["telegram_bot_token", "123456789:AAE_abcdefghijklmnopqrstuvwxyz01234"],
    ["google_api_key", "AIzaSyA-1234567890abcdefghijklmnopqrstu"],
  ];
  for (const [name, token] of cases) {
    const r = s.redactText(`token=${token};`);
    assertEquals(r.text, `token=[REDACTED:${name}];`, token);
  }
  const aws = s.redactText(
    "aws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n",
  );
  assert(aws.hits.some((h) => h.name === "aws_secret_access_key"));
  assertFalse(aws.text.includes("wJalrXUtnFEMI"));
  const pem = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\n" +
    "-----END OPENSSH PRIVATE KEY-----";
  assertEquals(s.redactText(`key:\n${pem}\nthanks`).text, "key:\n[REDACTED:private_key]\nthanks");
  const cut = s.redactText("-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA1");
  assertEquals(cut.text, "[REDACTED:private_key]");
  assertEquals(new Set(cases.map(([n]) => n)).size + 2, KEY_SHAPE_NAMES.length);
});

/** Ordinary texts a gateway sends all day: none may be touched. */
const CORPUS = [
  "The quick brown fox jumps over the lazy dog. Tomorrow's meeting is at 10:30 in room 4B.",
  "Request id 550e8400-e29b-41d4-a716-446655440000 failed; retry 3f2504e0-4f89-11d3-9a0c-0305e82c3301.",
  "sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
  "commit 9fceb02d0ae598e95dc970b74767f19372d61af8 Author: Jane <jane@example.com>",
  "sha1 da39a3ee5e6b4b0d3255bfef95601890afd80709 and md5 d41d8cd98f00b204e9800998ecf8427e",
  "Install with `npm install sk-learn-compat-layer-for-node` or pip install scikit-learn.",
  "The task-management-system-overview document explains sk-planning-and-review-process steps.",
  "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==",
  "https://example.com/search?q=hello%20world&lang=en&page=2#results",
  "Call me at +1 (555) 010-9999, order #123456789: shipped 2026-11-25T03:48:11Z.",
  'JSON: {"id":12345678,"name":"widget","tags":["a","b"],"price":19.99,"ok":true}',
  "Ticket 123456789 : please handle the customer_account_migration_v2_backfill job today",
  "AKIA is not a key on its own; neither is ASIA or AIza in a sentence about keys.",
  "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUK\n-----END CERTIFICATE-----",
  "export PATH=/usr/local/bin:$PATH && deno test --allow-read --parallel > out.txt 2>&1",
  "Zusammenfassung: Die Größe der Änderung beträgt 12,5 % — siehe Anhang für Details.",
];

Deno.test("scan: no false positives on ordinary text with 100 random vault secrets", () => {
  const entries: NamedSecret[] = [];
  for (let i = 0; i < 100; i++) {
    const bytes = crypto.getRandomValues(new Uint8Array(24));
    entries.push({ name: `cred.${i}`, value: new Secret(b64url(bytes)) });
  }
  const s = SecretScanner.fromSecrets(entries);
  for (const text of CORPUS) {
    assertEquals(s.scan(text), [], text);
  }
  const big = CORPUS.join("\n").repeat(20);
  assertEquals(s.redactText(big).text, big);
});

Deno.test("scan: short values are listed as unscanned, not matched everywhere", () => {
  const s = scanner({ "pin": "1234", [NAME]: KEY });
  assertEquals([...s.unscanned], ["pin"]);
  assertEquals([...s.covered], [NAME]);
  assertEquals(s.scan("1234 is a number"), []);
});

class MemStore implements CredentialStore {
  readonly m = new Map<string, { v: Secret; at: Date }>();
  get(name: string): Secret | undefined {
    return this.m.get(name)?.v;
  }
  set(name: string, value: Secret): void {
    this.m.set(name, { v: value, at: new Date(Date.now() + this.m.size) });
  }
  remove(name: string): boolean {
    return this.m.delete(name);
  }
  list(): CredentialInfo[] {
    return [...this.m.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([name, e]) => ({
      name,
      createdAt: e.at,
      updatedAt: e.at,
      expiresAt: null,
    }));
  }
}

Deno.test("scan: refreshIfChanged follows the store (add, rotate, remove)", () => {
  const store = new MemStore();
  store.set("a", new Secret(KEY));
  const s = SecretScanner.fromStore(store);
  assert(s.has(KEY));
  assertFalse(s.refreshIfChanged(), "nothing changed");
  const second = "Pp9Qq8Rr7Ss6Tt5Uu4Vv3Ww2Xx1Yy0";
  store.set("b", new Secret(second));
  assertFalse(s.has(second), "not yet rebuilt");
  assert(s.refreshIfChanged());
  assert(s.has(second));
  store.remove("a");
  assertFalse(s.refreshIfChanged(60_000), "looked less than a minute ago: no look now");
  assert(s.has(KEY));
  assert(s.refreshIfChanged());
  assertFalse(s.has(KEY), "a removed credential is no longer matched");
});

Deno.test("scan: the redacted text never carries hit details that contain the value", () => {
  const s = scanner();
  const r = s.redactText(`x=${btoa(KEY)}`);
  assertFalse(JSON.stringify(r.hits).includes(KEY));
  assertFalse(JSON.stringify(r.hits).includes(btoa(KEY).slice(0, 20)));
});

Deno.test("scan: a credential that is a URL or JSON does not claim the ordinary words in it", () => {
  const webhook = "https://hooks.slack.com/services/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";
  const account = JSON.stringify({
    type: "service_account",
    client_email: "bot@project-123456.iam.gserviceaccount.com",
    token_uri: "https://oauth2.googleapis.com/token",
    private_key_id: "9f8e7d6c5b4a39281706f5e4d3c2b1a0",
  });
  const s = SecretScanner.fromSecrets([
    { name: "slack.webhook", value: new Secret(webhook) },
    { name: "google.service_account", value: new Secret(account) },
  ], { shapes: false });
  for (
    const ordinary of [
      "Post to https://hooks.slack.com/services/ with your own webhook.",
      "Tokens come from https://oauth2.googleapis.com/token as documented.",
      '{"type": "service_account"} is the kind of key file Google hands out.',
    ]
  ) assertEquals(s.scan(ordinary), [], ordinary);
  // Nor the same words encoded: base64 of another https://h... URL, hex of "https://hooks".
  assertEquals(s.scan(`u=${btoa("https://huggingface.co/models?sort=trending")}`), []);
  assertEquals(s.scan(`x=${hex("https://hooks.example.org/services/")}`), []);
  assertEquals(
    s.scan(btoa('{"type": "service_account", "token_uri": "https://oauth2.googleapis.com/token"}')),
    [],
  );
  // Their random parts are still found, whole or in pieces, in clear or encoded.
  assert(s.has(`see ${webhook}`));
  assert(s.has(`b=${btoa("Xy7Kp2Lm9Qr4St6Vw8")}`));
  assert(s.has(`h=${hex("9f8e7d6c5b4a3928")}`));
  assert(s.has("id=Xy7Kp2Lm9Qr4St"));
  assert(s.has("key 9f8e7d6c5b4a3928"));
});
