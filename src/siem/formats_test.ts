import {
  assert,
  assertEquals,
  assertFalse,
  assertMatch,
  assertThrows,
} from "../../tests/assert.ts";
import { Secret } from "../secret.ts";
import type { AuditEvent } from "../audit/chain.ts";
import { SiemDestinationSchema } from "../config/schema.ts";
import {
  buildRequest,
  credentialFor,
  DATADOG_DEFAULT_URL,
  verifyWebhook,
  webhookSignature,
} from "./formats.ts";
import { SiemError } from "./errors.ts";
import { parseDestinations } from "./forwarder.ts";

const ev = (seq: number): AuditEvent => ({
  seq,
  time: "2026-01-01T00:00:01.500Z",
  session: "s",
  agent: "default",
  channel: "telegram",
  actor: "u",
  kind: "tool.requested",
  payload: { tool: "exec" },
  prevHash: "0".repeat(64),
  hash: "a".repeat(64),
});
const key = new Secret("k3y");
const opts = { hostname: "gw1", now: new Date("2026-01-01T00:00:10Z") };

Deno.test("datadog: DD-API-KEY, default intake url, one log entry per event with seq", () => {
  const d = SiemDestinationSchema.parse({ name: "dd", kind: "datadog", tags: ["env:prod"] });
  const r = buildRequest(d, [ev(1), ev(2)], key, opts);
  assertEquals(r.url, DATADOG_DEFAULT_URL);
  assertEquals(r.headers["dd-api-key"], "k3y");
  const body = JSON.parse(r.body);
  assertEquals(body.length, 2);
  assertEquals(body[1].wirken.seq, 2);
  assertEquals(body[0].ddtags, "source:wirken,kind:tool.requested,env:prod");
  assertEquals(body[0].hostname, "gw1");
  assertEquals(credentialFor(d), "siem.dd.api_key");
});

Deno.test("splunk: Authorization: Splunk <token>, concatenated HEC events with epoch time", () => {
  const d = SiemDestinationSchema.parse({
    name: "sp",
    kind: "splunk",
    url: "https://splunk.example:8088/services/collector/event",
    index: "sec",
  });
  const r = buildRequest(d, [ev(1), ev(2)], key, opts);
  assertEquals(r.headers.authorization, "Splunk k3y");
  const lines = r.body.split("\n").map((l) => JSON.parse(l));
  assertEquals(lines.map((l) => l.event.seq), [1, 2]);
  assertEquals(lines[0].time, 1767225601.5);
  assertEquals(lines[0].index, "sec");
  assertEquals(lines[0].sourcetype, "wirken:audit");
  assertEquals(credentialFor(d), "siem.sp.token");
});

Deno.test("webhook: HMAC-SHA256 over timestamp.body, checked by verifyWebhook with replay window", (): Promise<void> => {
  const d = SiemDestinationSchema.parse({
    name: "hook",
    kind: "webhook",
    url: "http://127.0.0.1:9/x",
  });
  const r = buildRequest(d, [ev(3)], key, opts);
  assertEquals(r.headers["x-wirken-timestamp"], "1767225610");
  assertMatch(r.headers["x-wirken-signature"], /^v1=[0-9a-f]{64}$/);
  assertEquals(r.headers["x-wirken-delivery"], "hook:3-3");
  assertEquals(
    r.headers["x-wirken-signature"],
    `v1=${webhookSignature(key, "1767225610", r.body)}`,
  );
  const h = new Headers(r.headers);
  assert(verifyWebhook(key, h, r.body, opts.now));
  assertFalse(verifyWebhook(key, h, r.body + " ", opts.now), "body changed");
  assertFalse(verifyWebhook(new Secret("other"), h, r.body, opts.now), "wrong key");
  assertFalse(
    verifyWebhook(key, h, r.body, new Date(opts.now.getTime() + 600_000)),
    "replayed late",
  );
  assertEquals(credentialFor(d), "siem.hook.hmac_secret");
  // Pin the construction against an independent implementation (WebCrypto).
  return (async () => {
    const k = await crypto.subtle.importKey(
      "raw",
      new TextEncoder().encode("k3y"),
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["sign"],
    );
    const mac = new Uint8Array(
      await crypto.subtle.sign("HMAC", k, new TextEncoder().encode(`1767225610.${r.body}`)),
    );
    assertEquals(
      r.headers["x-wirken-signature"],
      "v1=" + [...mac].map((b) => b.toString(16).padStart(2, "0")).join(""),
    );
  })();
});

Deno.test("destinations: HTTPS required off loopback, credentials refused in urls, names checked", () => {
  for (
    const url of ["http://siem.example.com/x", "ftp://127.0.0.1/x", "https://u:p@siem.example.com/"]
  ) {
    assertThrows(() => parseDestinations([{ name: "w", kind: "webhook", url }]), SiemError);
  }
  assertThrows(() => parseDestinations([{ name: "w", kind: "webhook" }]), SiemError, "url");
  assertThrows(() => parseDestinations([{ name: "W W", kind: "datadog" }]), SiemError, "name");
  assertEquals(
    parseDestinations([{ name: "w", kind: "webhook", url: "http://localhost:1/x" }])[0].batchSize,
    100,
  );
});
