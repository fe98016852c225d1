import { join } from "node:path";
import {
  assert,
  assertEquals,
  assertRejects,
  assertStringIncludes,
  assertThrows,
} from "../../tests/assert.ts";
import { basePolicy } from "../../tests/policy/fake_org.ts";
import { parseConfig } from "../config/load.ts";
import { effectiveTier } from "../permissions/policy.ts";
import { createSandbox, type SandboxSettings, sandboxStatus } from "../sandbox/select.ts";
import { SandboxError } from "../sandbox/types.ts";
import { bundledSkillsDir, loadSkills, trustedKeysFrom } from "../skills/load.ts";
import { installFromFolder } from "../skills/registry.ts";
import { signSkillFolder } from "../skills/sign.ts";
import { generateSigningKey } from "../skills/signature.ts";
import { SkillSignatureError } from "../skills/errors.ts";
import { enforce, PolicyViolationError, violations } from "./apply.ts";
import { applyPolicy, registryAllowed } from "./effective.ts";
import { cachedOrgPolicy } from "./follow.ts";
import { PolicyError } from "./signature.ts";

const config = (json: unknown) => parseConfig(JSON.stringify(json), "config.json");

Deno.test("policy tiers: the floor raises a tool above local config, never lowers it", () => {
  const policy = basePolicy(1, { tiers: { read_file: 3, exec: 1, mcp_gh_create_issue: 3 } });
  const local = config({ tools: { tiers: { read_file: 1, exec: 3 } } });
  const { config: eff, adjustments } = applyPolicy(local, policy);
  assertEquals(eff.tools.tiers, { read_file: 3, exec: 3, mcp_gh_create_issue: 3 });
  assert(adjustments.some((a) => a === "tools.tiers.read_file raised from T1 to T3 by the policy"));
  // What the broker computes from the merged table: tier 3 (asked every time) for a tool
  // declared tier 1 whose local config says T1.
  assertEquals(effectiveTier("read_file", 1, { path: "notes.txt" }, { tiers: eff.tools.tiers }), 3);
  assertEquals(effectiveTier("mcp_gh_create_issue", 2, {}, { tiers: eff.tools.tiers }), 3);
  // Without the policy the same local config leaves it at 1.
  assertEquals(
    effectiveTier("read_file", 1, { path: "notes.txt" }, { tiers: local.tools.tiers }),
    1,
  );
});

Deno.test("policy sandbox: naming another backend or host is refused at start with the reason", () => {
  const policy = basePolicy(1, {
    sandbox: { required: "bubblewrap", reason: "containers are not approved" },
  });
  for (const sandbox of ["host", "docker"]) {
    const e = assertThrows(
      () => enforce(config({ tools: { sandbox } }), policy),
      PolicyViolationError,
    );
    assertStringIncludes(
      e.message,
      `tools.sandbox is ${sandbox}, but Example Corp requires the bubblewrap sandbox (policy: containers are not approved)`,
    );
  }
  assertEquals(violations(config({ tools: { sandbox: "auto" } }), policy), []);
  assertEquals(violations(config({ tools: { sandbox: "bwrap" } }), policy), []);
  const docker = basePolicy(1, { sandbox: { required: "docker" } });
  assertEquals(violations(config({ tools: { sandbox: "bwrap" } }), docker).length, 1);
  assertEquals(violations(config({ tools: { sandbox: "docker" } }), docker), []);
  const wasm = basePolicy(1, { sandbox: { required: "wasm" } });
  assertEquals(violations(config({ tools: { sandbox: "bwrap" } }), wasm).length, 1);
  const { limits } = applyPolicy(config({}), policy);
  assertEquals(limits.sandbox, {
    backend: "bubblewrap",
    by: "Example Corp's policy (policy: containers are not approved)",
  });
});

const BASE_SETTINGS: SandboxSettings = {
  sandbox: "auto",
  // An "engine" that never answers: Docker is unavailable here whatever this machine has.
  docker: { engine: "/bin/false" as unknown as "docker", image: "none:latest" },
  memoryMb: 64,
  maxProcesses: 16,
  outputLimitBytes: 4096,
};

Deno.test("policy sandbox: a required backend that is missing refuses exec instead of falling back", async () => {
  const workspace = await Deno.makeTempDir();
  try {
    const by = "Example Corp's policy";
    const required = { ...BASE_SETTINGS, required: { backend: "docker" as const, by } };
    const e = await assertRejects(() => createSandbox(required, workspace), SandboxError);
    assertStringIncludes(e.message, "Example Corp's policy requires Docker/Podman");
    assertStringIncludes(e.message, "exec is refused rather than run in a weaker sandbox");
    const status = await sandboxStatus(required);
    assertEquals(status.ok, false);
    assertStringIncludes(status.detail, "exec is refused");
    // Control: without the requirement `auto` would have used bubblewrap when it works here.
    const auto = await sandboxStatus(BASE_SETTINGS);
    if (auto.ok) assertEquals(auto.kind, "bwrap");

    const wasm = { ...BASE_SETTINGS, required: { backend: "wasm" as const, by } };
    await assertRejects(
      () => createSandbox(wasm, workspace),
      SandboxError,
      "shell commands (exec) are refused",
    );
    assertEquals((await sandboxStatus(wasm)).ok, false);
    // `host` in local config never wins over a requirement (start refuses it anyway).
    const host = { ...BASE_SETTINGS, sandbox: "host" as const, required: required.required };
    await assertRejects(() => createSandbox(host, workspace), SandboxError, "requires Docker");
  } finally {
    await Deno.remove(workspace, { recursive: true });
  }
});

Deno.test("policy SIEM: destinations are added, re-enabled and pointed at the policy's URL", () => {
  const policy = basePolicy(1, {
    siem: {
      destinations: [
        { name: "corp", kind: "webhook", url: "https://siem.example.com/in" },
        { name: "dd", kind: "datadog", url: "https://http-intake.logs.datadoghq.eu/api/v2/logs" },
      ],
    },
  });
  const local = config({
    siem: {
      destinations: [
        {
          name: "corp",
          kind: "webhook",
          url: "https://elsewhere.example.net/",
          enabled: false,
          batchSize: 7,
        },
        { name: "mine", kind: "splunk", url: "https://splunk.example.net/" },
      ],
    },
  });
  const { config: eff, adjustments } = applyPolicy(local, policy);
  const byName = new Map(eff.siem.destinations.map((d) => [d.name, d]));
  assertEquals(byName.get("corp")?.url, "https://siem.example.com/in");
  assertEquals(byName.get("corp")?.enabled, true);
  assertEquals(byName.get("corp")?.batchSize, 7, "local tuning of the same kind is kept");
  assertEquals(byName.get("dd")?.enabled, true);
  assertEquals(byName.get("dd")?.kind, "datadog");
  assertEquals(byName.get("mine")?.url, "https://splunk.example.net/", "local ones stay");
  assert(adjustments.some((a) => a.startsWith("SIEM destination corp forwards to the policy's")));
  // Removing it locally changes nothing either.
  const none = applyPolicy(config({}), policy).config.siem.destinations;
  assertEquals(none.map((d) => d.name).sort(), ["corp", "dd"]);
});

Deno.test("policy audit: a shorter local retention is raised to the minimum and said", () => {
  const policy = basePolicy(1, { audit: { minRetentionDays: 365, reason: "SOX" } });
  const short = applyPolicy(config({ audit: { retentionDays: 7 } }), policy);
  assertEquals(short.config.audit.retentionDays, 365);
  assertEquals(short.adjustments, [
    "audit.retentionDays raised from 7 to the policy minimum of 365 (policy: SOX)",
  ]);
  const long = applyPolicy(config({ audit: { retentionDays: 800 } }), policy);
  assertEquals(long.config.audit.retentionDays, 800, "a longer local retention is kept");
  assertEquals(long.adjustments, []);
});

async function skill(root: string, name: string, seed?: string): Promise<string> {
  const dir = join(root, name);
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(
    join(dir, "SKILL.md"),
    `---\nname: ${name}\ndescription: The ${name} skill.\n---\n# ${name}\n`,
  );
  if (seed) await signSkillFolder(dir, seed);
  return dir;
}

Deno.test("policy skills: only the allowed registry's signatures load; own keys and unsigned are refused with the reason", async () => {
  const registry = generateSigningKey();
  const mine = generateSigningKey();
  const root = await Deno.makeTempDir();
  try {
    const installed = join(root, "installed");
    await skill(installed, "from-registry", registry.seed);
    await skill(installed, "self-signed", mine.seed);
    await skill(installed, "unsigned");
    const local = config({
      skills: {
        registry: { url: "https://skills.example.com/", publicKey: registry.publicKey },
        trustedKeys: [mine.publicKey],
        allowUnsigned: ["unsigned"],
      },
    });
    const policy = basePolicy(1, {
      skills: {
        registries: [{ url: "https://skills.example.com", publicKey: registry.publicKey }],
        reason: "vetted skills only",
      },
    });
    const eligibility = { env: { get: () => undefined }, hasBin: () => true, os: "linux" as const };
    const load = (p: typeof policy | null, c = local) =>
      loadSkills([{ dir: installed, source: "installed" }], {
        trusted: trustedKeysFrom(c.skills),
        allowUnsigned: c.skills.allowUnsigned,
        eligibility,
        policy: p ? applyPolicy(c, p).limits.skills : undefined,
      });
    // Without the policy all three load (local trust).
    assertEquals((await load(null)).available().map((e) => e.name).sort(), [
      "from-registry",
      "self-signed",
      "unsigned",
    ]);
    const catalog = await load(policy);
    assertEquals(catalog.available().map((e) => e.name), ["from-registry"]);
    for (const name of ["self-signed", "unsigned"]) {
      const e = catalog.get(name)!;
      assertEquals(e.signature.status, "refused");
      assertStringIncludes(e.reasons[0], "Example Corp allows only skills signed by");
      assertStringIncludes(e.reasons[0], "(policy: vetted skills only)");
    }
    const { adjustments } = applyPolicy(local, policy);
    assert(adjustments.some((a) => a.startsWith("skills.trustedKeys (1) are ignored")));
    assert(adjustments.some((a) => a.startsWith("skills.allowUnsigned (unsigned) is ignored")));

    // A registry the policy does not list: its skills are refused too.
    const other = basePolicy(1, { skills: { registries: ["https://other.example.com/"] } });
    assertEquals((await load(other)).available().length, 0);
    // The allowed URL paired with a key of the user's own: refused when the policy pins the key.
    const pinned = basePolicy(1, {
      skills: {
        registries: [{ url: "https://skills.example.com/", publicKey: mine.publicKey }],
      },
    });
    assertEquals(registryAllowed(pinned, local.skills.registry), false);
    assertEquals((await load(pinned)).available().length, 0);

    // At install: a folder signed by a locally trusted key is refused with the reason, and
    // --allow-unsigned does not get around it.
    const skillsDir = join(root, "data-skills");
    const base = {
      skillsDir,
      trusted: trustedKeysFrom(local.skills),
      approve: () => Promise.resolve(true),
      actor: "test",
      eligibility,
      policy: applyPolicy(local, policy).limits.skills,
    };
    const src = join(root, "src");
    await skill(src, "self-signed", mine.seed);
    await skill(src, "unsigned");
    await assertRejects(
      () => installFromFolder(join(src, "self-signed"), base),
      SkillSignatureError,
      "(policy: vetted skills only)",
    );
    await assertRejects(
      () => installFromFolder(join(src, "unsigned"), { ...base, allowUnsigned: true }),
      SkillSignatureError,
      "Example Corp allows only skills",
    );
    assertEquals(await Deno.stat(skillsDir).then(() => true, () => false), false);
    const ok = await installFromFolder(join(installed, "from-registry"), base);
    assertEquals(ok.name, "from-registry");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("policy skills: a registry the policy lists by URL only trusts no local key; the allowed URL paired with the user's own key is refused at install and at load", async () => {
  const mine = generateSigningKey();
  const root = await Deno.makeTempDir();
  try {
    const installed = join(root, "installed");
    await skill(installed, "self-signed", mine.seed);
    // The bypass: the policy allows the URL, local config names the user's own key for it.
    const local = config({
      skills: { registry: { url: "https://skills.example.com/", publicKey: mine.publicKey } },
    });
    const policy = basePolicy(1, {
      skills: { registries: ["https://skills.example.com/"], reason: "vetted skills only" },
    });
    const limits = applyPolicy(local, policy).limits.skills!;
    assertEquals(limits.allowedKeys.includes(mine.publicKey), false);
    assertEquals(registryAllowed(policy, local.skills.registry), false);
    const eligibility = { env: { get: () => undefined }, hasBin: () => true, os: "linux" as const };

    const catalog = await loadSkills([{ dir: installed, source: "installed" }], {
      trusted: trustedKeysFrom(local.skills),
      allowUnsigned: [],
      eligibility,
      policy: limits,
    });
    assertEquals(catalog.available().length, 0);
    const e = catalog.get("self-signed")!;
    assertEquals(e.signature.status, "refused");
    assertStringIncludes(e.reasons[0], "(policy: vetted skills only)");
    assertStringIncludes(e.reasons[0], "listed by URL only");

    const skillsDir = join(root, "data-skills");
    await assertRejects(
      () =>
        installFromFolder(join(installed, "self-signed"), {
          skillsDir,
          trusted: trustedKeysFrom(local.skills),
          approve: () => Promise.resolve(true),
          actor: "test",
          eligibility,
          policy: limits,
        }),
      SkillSignatureError,
      "Example Corp allows only skills",
    );
    assertEquals(await Deno.stat(skillsDir).then(() => true, () => false), false);

    const { adjustments } = applyPolicy(local, policy);
    assert(
      adjustments.some((a) => a.includes("pins no key")),
      adjustments.join("\n"),
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("policy skills: bundled skills (project key) still load under a registry allow-list", async () => {
  const policy = basePolicy(1, { skills: { registries: [] } });
  const catalog = await loadSkills([{ dir: bundledSkillsDir(), source: "bundled" }], {
    trusted: trustedKeysFrom({}),
    allowUnsigned: [],
    eligibility: { env: { get: () => undefined }, hasBin: () => true, os: "linux" },
    policy: applyPolicy(config({}), policy).limits.skills,
  });
  assert(catalog.entries.length > 0);
  for (const e of catalog.entries) assertEquals(e.signature.status, "verified", e.name);
});

Deno.test("policy: offline commands refuse when the install follows an org but has no verified copy", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const pinnedConfig = config({
      org: { url: "https://it.example.com/p.json", fingerprint: "sha256:" + "a".repeat(64) },
    });
    await assertRejects(
      () => cachedOrgPolicy(pinnedConfig, { orgPolicy: join(dir, "org-policy.json") }),
      PolicyError,
      "no verified copy is cached",
    );
    assertEquals(await cachedOrgPolicy(config({}), { orgPolicy: join(dir, "x") }), null);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
