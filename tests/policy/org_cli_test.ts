import { assertEquals, assertFalse, assertStringIncludes } from "../assert.ts";
import { startGateway, tempDataDir, wirken } from "../cli/helpers.ts";
import { basePolicy, fakeOrgServer, newOrgKey } from "./fake_org.ts";

Deno.test("setup --org: pins the key, run enforces the policy, falls back to the cache offline", async () => {
  const key = await newOrgKey();
  const org = fakeOrgServer();
  const dataDir = await tempDataDir();
  try {
    await org.publish(
      basePolicy(1, { providers: { allowed: [{ kind: "ollama" }], reason: "local models only" } }),
      key,
    );
    // Without a fingerprint and without a terminal to confirm on, nothing is trusted.
    const refused = await wirken(["setup", "--org", org.url], { dataDir });
    assertEquals(refused.code, 1);
    assertStringIncludes(refused.stderr, key.fingerprint);
    assertStringIncludes(refused.stderr, "--org-fingerprint");

    const wrong = await wirken([
      "setup",
      "--org",
      org.url,
      "--org-fingerprint",
      "sha256:" + "0".repeat(64),
    ], {
      dataDir,
    });
    assertEquals(wrong.code, 1);
    assertStringIncludes(wrong.stderr, "not the expected");

    const ok = await wirken(["setup", "--org", org.url, "--org-fingerprint", key.fingerprint], {
      dataDir,
    });
    assertEquals(ok.code, 0, ok.stderr);
    assertStringIncludes(ok.stdout, "Example Corp, serial 1");
    const config = JSON.parse(await Deno.readTextFile(`${dataDir}/config.json`));
    assertEquals(config.org, { url: org.url, fingerprint: key.fingerprint });

    // A local config that the policy forbids: run refuses with the policy's reason.
    config.provider = { kind: "openai", model: "gpt-4o" };
    await Deno.writeTextFile(`${dataDir}/config.json`, JSON.stringify(config));
    const blocked = await wirken(["run", "--port", "0"], { dataDir });
    assertEquals(blocked.code, 1);
    assertStringIncludes(blocked.stderr, "provider uses openai/gpt-4o");
    assertStringIncludes(blocked.stderr, "local models only");

    config.provider = { kind: "ollama", model: "llama3.2" };
    await Deno.writeTextFile(`${dataDir}/config.json`, JSON.stringify(config));
    const gw = await startGateway({ dataDir });
    await gw.stop();
    assertStringIncludes(gw.output(), "Policy: Example Corp (serial 1)");

    const doctor = await wirken(["doctor", "--json"], { dataDir });
    const check = JSON.parse(doctor.stdout).checks.find((c: { check: string }) =>
      c.check === "org policy"
    );
    assertEquals(check.status, "ok");
    assertStringIncludes(check.detail, "providers: ollama");
  } finally {
    await org.close();
  }
  // The org server is gone: the verified cache keeps the gateway starting.
  const gw = await startGateway({ dataDir });
  await gw.stop();
  assertStringIncludes(gw.output(), "Policy: Example Corp (serial 1, cached copy)");
  assertStringIncludes(gw.output(), "using the cached policy");
  assertFalse(gw.output().includes("    at "));
});
