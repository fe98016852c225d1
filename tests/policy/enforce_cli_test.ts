/**
 * The org policy's tier floors, required sandbox, audit minimum and skill registry allow-list
 * through the real CLI, with a signed policy served by a fake org server on loopback.
 */
import { join } from "node:path";
import { assertEquals, assertFalse, assertStringIncludes } from "../assert.ts";
import { fakeChat } from "../fakes/openai_chat.ts";
import { tempDataDir, wirken } from "../cli/helpers.ts";
import { signSkillFolder } from "../../src/skills/sign.ts";
import { generateSigningKey } from "../../src/skills/signature.ts";
import type { Policy } from "../../src/policy/schema.ts";
import { basePolicy, fakeOrgServer, newOrgKey } from "./fake_org.ts";

const API_KEY = "sk-test-policy-0123456789";

/** A data dir pinned to a fresh org serving `policy`, with `config` merged in. */
async function pinned(policy: Policy, config: Record<string, unknown> = {}) {
  const key = await newOrgKey();
  const org = fakeOrgServer();
  await org.publish(policy, key);
  const dataDir = await tempDataDir();
  const pin = await wirken(["setup", "--org", org.url, "--org-fingerprint", key.fingerprint], {
    dataDir,
  });
  assertEquals(pin.code, 0, pin.stderr);
  const path = `${dataDir}/config.json`;
  await Deno.writeTextFile(
    path,
    JSON.stringify({ ...JSON.parse(await Deno.readTextFile(path)), ...config }),
  );
  return { dataDir, org, key };
}

function ask(dataDir: string, baseUrl: string) {
  return wirken(["ask", "--provider", "custom", "--base-url", baseUrl, "--model", "m", "look"], {
    dataDir,
    env: { WIRKEN_API_KEY: API_KEY },
  });
}

Deno.test("policy e2e: a tool the policy raises to T3 needs approval although local config says T1", async () => {
  const model = fakeChat((n) =>
    n % 2 === 0 ? { calls: [{ name: "read_file", args: { path: "notes.txt" } }] } : { text: "ok" }
  );
  const { dataDir, org, key } = await pinned(basePolicy(1), { tools: { tiers: { read_file: 1 } } });
  try {
    await Deno.mkdir(join(dataDir, "workspace/default"), { recursive: true });
    await Deno.writeTextFile(join(dataDir, "workspace/default/notes.txt"), "the notes say 42");
    // Serial 1 has no tier floors: read_file (tier 1) runs without asking.
    const free = await ask(dataDir, model.baseUrl);
    assertEquals(free.code, 0, free.stderr);
    const toolResult = (i: number) =>
      (model.requests[i].messages as { role: string; content: string }[])
        .filter((m) => m.role === "tool").map((m) => m.content).at(-1);
    assertEquals(toolResult(1), "the notes say 42");

    // Serial 2 raises read_file to T3: `wirken ask` (like `wirken run`) asks, and with no
    // terminal to ask on, the call is refused and never runs.
    await org.publish(basePolicy(2, { tiers: { read_file: 3 } }), key);
    const asked = await ask(dataDir, model.baseUrl);
    assertEquals(asked.code, 0, asked.stderr);
    assertStringIncludes(asked.stderr, "needs approval (tier 3)");
    assertEquals(toolResult(3), "The user did not allow read_file to run this time.");

    const doctor = await wirken(["doctor", "--json"], { dataDir });
    const check = JSON.parse(doctor.stdout).checks.find((c: { check: string }) =>
      c.check === "org policy"
    );
    assertStringIncludes(check.detail, "tier floors: read_file>=T3");
    assertStringIncludes(check.detail, "tools.tiers.read_file raised from T1 to T3");
    assertFalse(check.detail.includes("not enforced"));
  } finally {
    await model.close();
    await org.close();
  }
});

Deno.test("policy e2e: a weaker local sandbox stops run; a required Wasm sandbox leaves no exec", async () => {
  const model = fakeChat(() => ({ text: "ok" }));
  const { dataDir, org } = await pinned(
    basePolicy(1, { sandbox: { required: "wasm", reason: "no shell on laptops" } }),
    { tools: { sandbox: "host" } },
  );
  try {
    const run = await wirken(["run", "--port", "0"], { dataDir });
    assertEquals(run.code, 1);
    assertStringIncludes(
      run.stderr,
      "tools.sandbox is host, but Example Corp requires the wasm sandbox (policy: no shell on laptops)",
    );
    const refused = await ask(dataDir, model.baseUrl);
    assertEquals(refused.code, 1);
    assertStringIncludes(refused.stderr, "tools.sandbox is host");
    assertEquals(model.requests.length, 0, "nothing reached the model");

    const path = `${dataDir}/config.json`;
    const config = JSON.parse(await Deno.readTextFile(path));
    config.tools.sandbox = "auto";
    await Deno.writeTextFile(path, JSON.stringify(config));
    const ok = await ask(dataDir, model.baseUrl);
    assertEquals(ok.code, 0, ok.stderr);
    const tools = (model.requests[0].tools as { function: { name: string } }[] | undefined ?? [])
      .map((t) => t.function.name);
    assertFalse(tools.includes("exec"), `exec offered: ${tools.join(", ")}`);
    assertStringIncludes(ok.stderr, "requires the Wasm sandbox");
  } finally {
    await model.close();
    await org.close();
  }
});

Deno.test("policy e2e: audit prune below the minimum is refused; skills outside the allowed registries are refused at install and load", async () => {
  const mine = generateSigningKey();
  const { dataDir, org } = await pinned(
    basePolicy(1, {
      audit: { minRetentionDays: 365, reason: "SOX" },
      skills: { registries: ["https://skills.example.com/"], reason: "vetted skills only" },
    }),
    {
      audit: { retentionDays: 7 },
      // Both ways a local user could try to trust their own key: as an extra key, and as the
      // key of the registry URL the policy allows (it pins no key for it).
      skills: {
        trustedKeys: [mine.publicKey],
        registry: { url: "https://skills.example.com/", publicKey: mine.publicKey },
      },
    },
  );
  try {
    const prune = await wirken(["audit", "prune", "--older-than", "30"], { dataDir });
    assertEquals(prune.code, 1);
    assertStringIncludes(prune.stderr, "keeps audit events at least 365 days (policy: SOX)");
    assertStringIncludes(prune.stderr, "Nothing was pruned");

    const doctor = await wirken(["doctor", "--json"], { dataDir });
    const check = JSON.parse(doctor.stdout).checks.find((c: { check: string }) =>
      c.check === "org policy"
    );
    assertStringIncludes(check.detail, "audit.retentionDays raised from 7 to the policy minimum");

    // A skill signed with a key local config trusts: refused at install with the reason.
    const src = join(await Deno.makeTempDir(), "own-skill");
    await Deno.mkdir(src);
    await Deno.writeTextFile(
      join(src, "SKILL.md"),
      "---\nname: own-skill\ndescription: Mine.\n---\n# own\n",
    );
    await signSkillFolder(src, mine.seed);
    const install = await wirken(["skills", "install", src, "--yes"], { dataDir });
    assertEquals(install.code, 1);
    assertStringIncludes(install.stderr, "Example Corp allows only skills signed by");
    assertStringIncludes(install.stderr, "(policy: vetted skills only)");

    // Copied in by hand: listed as refused at load, with the same reason.
    await Deno.mkdir(join(dataDir, "skills"), { recursive: true });
    await Deno.rename(src, join(dataDir, "skills", "own-skill"));
    const list = await wirken(["skills", "list", "--json"], { dataDir });
    assertEquals(list.code, 0, list.stderr);
    const own = JSON.parse(list.stdout).find((e: { name: string }) => e.name === "own-skill");
    assertEquals(own.available, false);
    assertStringIncludes(own.reasons.join("; "), "(policy: vetted skills only)");
  } finally {
    await org.close();
  }
});
