import {
  assert,
  assertEquals,
  assertRejects,
  assertStringIncludes,
  assertThrows,
} from "../../tests/assert.ts";
import { join } from "node:path";
import { basePolicy, fakeOrgServer, newOrgKey } from "../../tests/policy/fake_org.ts";
import { parseConfig } from "../config/load.ts";
import { InsecureUrlError } from "../net/secure_url.ts";
import {
  describePolicy,
  enforce,
  PolicyViolationError,
  providerAllowed,
  violations,
} from "./apply.ts";
import { fetchEnvelopeText, refreshPolicy } from "./refresh.ts";
import { PolicyError } from "./signature.ts";

async function cachePath(): Promise<string> {
  return join(await Deno.makeTempDir(), "org-policy.json");
}

Deno.test("policy: a validly signed policy is applied and cached", async () => {
  const key = await newOrgKey();
  const org = fakeOrgServer();
  try {
    await org.publish(basePolicy(3), key);
    const cache = await cachePath();
    const r = await refreshPolicy({ url: org.url, fingerprint: key.fingerprint }, cache);
    assertEquals(r.source, "fresh");
    assertEquals(r.policy.serial, 3);
    assertEquals(((await Deno.stat(cache)).mode ?? 0) & 0o777, 0o600);
  } finally {
    await org.close();
  }
});

Deno.test("policy: a bad signature is refused", async () => {
  const key = await newOrgKey();
  const org = fakeOrgServer();
  try {
    await org.publish(basePolicy(1, { channels: { allowed: ["telegram"] } }), key);
    // Flip the payload to allow every channel, keeping the old signature.
    const env = JSON.parse(org.state.body);
    env.payload = btoa(JSON.stringify(basePolicy(1)));
    org.state.body = JSON.stringify(env);
    await assertRejects(
      () =>
        refreshPolicy({ url: org.url, fingerprint: key.fingerprint }, "/nonexistent/cache.json"),
      PolicyError,
      "invalid signature",
    );
  } finally {
    await org.close();
  }
});

Deno.test("policy: a policy signed by another key (even validly) is refused", async () => {
  const key = await newOrgKey();
  const attacker = await newOrgKey();
  const org = fakeOrgServer();
  try {
    await org.publish(basePolicy(99), attacker);
    const e = await assertRejects(
      async () => refreshPolicy({ url: org.url, fingerprint: key.fingerprint }, await cachePath()),
      PolicyError,
      "unknown key",
    );
    assertStringIncludes(e.fix ?? "", key.fingerprint);
  } finally {
    await org.close();
  }
});

Deno.test("policy: rollback to an older serial, or a reused serial, is refused; cache stays", async () => {
  const key = await newOrgKey();
  const org = fakeOrgServer();
  const cache = await cachePath();
  const pin = { url: org.url, fingerprint: key.fingerprint };
  try {
    await org.publish(basePolicy(5), key);
    await refreshPolicy(pin, cache);
    await org.publish(basePolicy(4), key);
    await assertRejects(() => refreshPolicy(pin, cache), PolicyError, "rollback");
    await org.publish(basePolicy(5, { channels: { allowed: [] } }), key);
    await assertRejects(() => refreshPolicy(pin, cache), PolicyError, "reuses serial 5");
    await org.publish(basePolicy(6), key);
    assertEquals((await refreshPolicy(pin, cache)).policy.serial, 6);
  } finally {
    await org.close();
  }
});

Deno.test("policy: offline start uses the verified cache; no cache means a clear error", async () => {
  const key = await newOrgKey();
  const org = fakeOrgServer();
  const cache = await cachePath();
  const pin = { url: org.url, fingerprint: key.fingerprint };
  await org.publish(basePolicy(2), key);
  await refreshPolicy(pin, cache);
  await org.close();
  const r = await refreshPolicy(pin, cache);
  assertEquals(r.source, "cache");
  assertEquals(r.policy.serial, 2);
  assertStringIncludes(r.warning ?? "", "using the cached policy");
  await assertRejects(
    async () => refreshPolicy(pin, await cachePath()),
    PolicyError,
    "No org policy is available",
  );
});

Deno.test("policy: a cache edited on disk is not trusted", async () => {
  const key = await newOrgKey();
  const org = fakeOrgServer();
  const cache = await cachePath();
  const pin = { url: org.url, fingerprint: key.fingerprint };
  await org.publish(basePolicy(2, { channels: { allowed: [] } }), key);
  await refreshPolicy(pin, cache);
  await org.close();
  const env = JSON.parse(await Deno.readTextFile(cache));
  env.payload = btoa(JSON.stringify(basePolicy(2)));
  await Deno.writeTextFile(cache, JSON.stringify(env));
  await assertRejects(() => refreshPolicy(pin, cache), PolicyError, "invalid signature");
});

Deno.test("policy: plain http to another host, oversized bodies and error statuses are refused", async () => {
  await assertRejects(() => fetchEnvelopeText("http://corp.example/policy"), InsecureUrlError);
  const big = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () => new Response("x".repeat(2 << 20)),
  );
  try {
    await assertRejects(
      () => fetchEnvelopeText(`http://127.0.0.1:${big.addr.port}/`),
      PolicyError,
      "larger than",
    );
  } finally {
    await big.shutdown();
  }
  const org = fakeOrgServer();
  org.state.status = 500;
  try {
    await assertRejects(() => fetchEnvelopeText(org.url), PolicyError, "answered 500");
  } finally {
    await org.close();
  }
});

Deno.test("policy: local config enabling a forbidden provider or channel is refused with the reason", () => {
  const policy = basePolicy(1, {
    providers: {
      allowed: [{ kind: "ollama" }, { kind: "openai", models: ["gpt-4o*"] }],
      reason: "EU data only",
    },
    channels: { allowed: ["slack"], reason: "Slack is our chat" },
  });
  const ok = parseConfig(
    JSON.stringify({ provider: { kind: "openai", model: "gpt-4o-mini" } }),
    "c",
  );
  assertEquals(violations(ok, policy), []);
  const bad = parseConfig(
    JSON.stringify({
      provider: { kind: "anthropic", model: "claude" },
      agents: [{ id: "default" }, { id: "x", provider: { kind: "openai", model: "o1" } }],
      channels: { telegram: {}, slack: {} },
    }),
    "c",
  );
  const e = assertThrows(() => enforce(bad, policy), PolicyViolationError);
  assertStringIncludes(e.message, "provider uses anthropic/claude");
  assertStringIncludes(e.message, "(policy: EU data only)");
  assertStringIncludes(e.message, "agent x uses openai/o1");
  assertStringIncludes(
    e.message,
    "channel telegram is not allowed by Example Corp (policy: Slack is our chat)",
  );
  assert(!e.message.includes("channel slack"));
  assert(providerAllowed(policy, "openai", "gpt-4o"));
  assert(!providerAllowed(policy, "openai", "gpt-4"));
});

Deno.test("policy: the summary shows every section, none as not enforced", () => {
  const lines = describePolicy(basePolicy(1, {
    providers: { allowed: [{ kind: "ollama" }] },
    tiers: { exec: 3 },
    sandbox: { required: "bubblewrap" },
    skills: { registries: ["https://skills.example.com/"] },
    siem: { destinations: [{ name: "corp", kind: "webhook", url: "https://siem.example.com/" }] },
    audit: { minRetentionDays: 365 },
  }));
  assert(lines.some((l) => l === "providers: ollama"));
  assert(lines.some((l) => l === "tier floors: exec>=T3"));
  assert(lines.some((l) => l.startsWith("sandbox required for exec: bubblewrap")));
  assert(lines.some((l) => l.startsWith("skill registries: https://skills.example.com/")));
  assert(lines.some((l) => l === "SIEM destinations always on: corp"));
  assert(lines.some((l) => l === "audit retention at least 365 days"));
  assert(!lines.some((l) => l.includes("not enforced")));
});
