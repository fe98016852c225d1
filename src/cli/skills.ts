/**
 * `wirken skills ...`: SKILL.md skills, the signed registry and Wasm skills.
 *
 * Bodies load the skills modules lazily so `wirken --help` stays fast.
 *
 * @module
 */
import { UsageError } from "../errors.ts";
import { print, printError, printFailure, printJson, table } from "./output.ts";
import type { CommandContext, CommandSpec } from "./spec.ts";
import type { Config } from "../config/schema.ts";
import type { InstallRequest } from "../skills/registry.ts";
import type { SkillEntry } from "../skills/load.ts";

const NAME_ARG = { name: "name", description: "Skill name.", required: true } as const;

/** The `skills` command group. */
export const skillsCommand: CommandSpec = {
  name: "skills",
  summary: "Search, install, sign and verify skills.",
  description:
    "Skills are folders with a SKILL.md (OpenClaw-compatible). Bundled skills are signed by the\n" +
    "wirken project key; installed ones by your registry's key. A skill whose files changed\n" +
    "after signing is refused at every load.",
  examples: ["wirken skills list", "wirken skills install weather"],
  subcommands: [
    {
      name: "inspect",
      summary: "Show what wirken parsed from a SKILL.md (JSON), or the precise error.",
      examples: ["wirken skills inspect ./my-skill", "wirken skills inspect ./my-skill/SKILL.md"],
      args: [{ name: "path", description: "Skill folder or SKILL.md file.", required: true }],
      json: true,
      run: inspectBody,
    },
    {
      name: "search",
      summary: "Search the skill registry.",
      examples: ["wirken skills search calendar"],
      args: [{
        name: "query",
        description: "Words to search for.",
        required: true,
        variadic: true,
      }],
      json: true,
      run: searchBody,
    },
    {
      name: "install",
      summary: "Install a skill after checking its registry signature (asks for approval).",
      description:
        "Everything is verified before a byte is written: the bundle's hash, every path, and the\n" +
        "signature over every file against the registry key from config (never a key the skill\n" +
        "brings). You are shown the binaries and env vars it needs and the publisher's key\n" +
        "fingerprint, and asked every time (tier 3). The install is recorded in the audit log.",
      examples: [
        "wirken skills install weather",
        "wirken skills install ./my-skill",
        "wirken skills install ./untrusted --allow-unsigned",
      ],
      args: [{ name: "source", description: "Registry name or skill folder.", required: true }],
      options: {
        "allow-unsigned": {
          type: "boolean",
          description: "Install and load it even without a valid signature (audited).",
        },
        replace: { type: "boolean", description: "Replace an installed skill of the same name." },
        yes: { type: "boolean", short: "y", description: "Approve without asking." },
      },
      run: installBody,
    },
    {
      name: "list",
      summary: "List installed and bundled skills, with why any is unavailable.",
      examples: ["wirken skills list", "wirken skills list --json"],
      json: true,
      run: listBody,
    },
    {
      name: "sign",
      summary: "Sign a skill folder with your Ed25519 publisher key from the vault.",
      description: "The key is the vault credential named by skills.signingKey (default\n" +
        "skills.signing_key). --new-key creates it and adds its public half to\n" +
        "skills.trustedKeys, so skills you sign load here.",
      examples: ["wirken skills sign ./my-skill", "wirken skills sign ./my-skill --new-key"],
      args: [{ name: "dir", description: "Skill folder.", required: true }],
      options: {
        "new-key": { type: "boolean", description: "Create a new signing key first." },
      },
      json: true,
      run: signBody,
    },
    {
      name: "verify",
      summary: "Verify a skill's signature against the trusted keys.",
      examples: ["wirken skills verify weather", "wirken skills verify ./my-skill --json"],
      args: [{ name: "name", description: "Installed skill name or a folder.", required: true }],
      json: true,
      run: verifyBody,
    },
    {
      name: "publish",
      summary: "Add a signed skill folder to a registry folder (bundle + index.json).",
      description:
        "The registry folder can then be served over HTTPS as is. Sign the skill first with the\n" +
        "key whose public half your users put in skills.registry.publicKey.",
      examples: ["wirken skills publish ./my-skill --to ./registry --version 1.0.0"],
      args: [{ name: "dir", description: "Signed skill folder.", required: true }],
      options: {
        to: {
          type: "string",
          valueName: "<folder>",
          description: "Registry folder (created if missing).",
        },
        version: {
          type: "string",
          valueName: "<version>",
          description: "Version (default 0.0.0).",
        },
      },
      run: publishBody,
    },
    {
      name: "remove",
      summary: "Remove an installed skill.",
      examples: ["wirken skills remove weather"],
      args: [NAME_ARG],
      run: removeBody,
    },
  ],
};

async function configOf(ctx: CommandContext): Promise<{ config: Config; path: string }> {
  const { dataPaths } = await import("../config/paths.ts");
  const { loadConfig } = await import("../config/load.ts");
  const path = dataPaths(ctx.dataDir).config;
  return { config: await loadConfig(path), path };
}

async function trustedOf(config: Config) {
  const { trustedKeysFrom } = await import("../skills/load.ts");
  return trustedKeysFrom(config.skills);
}

/** The org policy's skill limit (from the verified cache), when this install follows one. */
async function skillPolicyFor(ctx: CommandContext, config: Config) {
  if (!config.org) return undefined;
  const [{ cachedOrgPolicy }, { skillPolicyOf }, { dataPaths }] = await Promise.all([
    import("../policy/follow.ts"),
    import("../policy/effective.ts"),
    import("../config/paths.ts"),
  ]);
  const policy = await cachedOrgPolicy(config, dataPaths(ctx.dataDir));
  return policy ? skillPolicyOf(config, policy) : undefined;
}

async function eligibilityOf(ctx: CommandContext, config: Config) {
  const { currentOs, pathBinLookup } = await import("../skills/eligibility.ts");
  return {
    env: ctx.env,
    hasBin: pathBinLookup(ctx.env),
    os: currentOs(),
    configHas: (path: string) => configPathTruthy(config, path),
  };
}

/** OpenClaw `requires.config`: a dotted path into config that must be truthy. */
function configPathTruthy(config: unknown, path: string): boolean {
  let v: unknown = config;
  for (const k of path.split(".")) {
    if (typeof v !== "object" || v === null) return false;
    v = (v as Record<string, unknown>)[k];
  }
  return Boolean(v);
}

async function inspectBody(ctx: CommandContext): Promise<number> {
  const { inspectSkill } = await import("../skills/inspect.ts");
  const { defaultEligibilityContext } = await import("../skills/eligibility.ts");
  try {
    printJson(await inspectSkill(String(ctx.args.path), defaultEligibilityContext()));
    return 0;
  } catch (e) {
    // The precise error (file:line: field: reason) goes to stderr; exit 1 either way.
    printFailure(e, ctx.verbose);
    return 1;
  }
}

function requireRegistry(config: Config): { url: string; publicKey: string } {
  if (!config.skills.registry) {
    throw new UsageError(
      "No skill registry is configured.",
      "Set skills.registry.url and skills.registry.publicKey in config.json (see docs/skills.md).",
    );
  }
  return config.skills.registry;
}

async function searchBody(ctx: CommandContext): Promise<number> {
  const { searchRegistry } = await import("../skills/registry.ts");
  const { config } = await configOf(ctx);
  const query = ([] as string[]).concat(ctx.args.query ?? []).join(" ");
  const hits = await searchRegistry(requireRegistry(config), query);
  if (ctx.json) {
    printJson(hits.map((h) => ({ name: h.name, version: h.version, description: h.description })));
    return 0;
  }
  if (hits.length === 0) {
    print(`No skills match "${query}".`);
    return 0;
  }
  print(
    table(["NAME", "VERSION", "DESCRIPTION"], hits.map((h) => [h.name, h.version, h.description])),
  );
  return 0;
}

async function listBody(ctx: CommandContext): Promise<number> {
  const { loadSkills, bundledSkillsDir } = await import("../skills/load.ts");
  const { dataPaths } = await import("../config/paths.ts");
  const { config } = await configOf(ctx);
  const catalog = await loadSkills(
    [
      { dir: bundledSkillsDir(), source: "bundled" },
      { dir: dataPaths(ctx.dataDir).skills, source: "installed" },
    ],
    {
      trusted: await trustedOf(config),
      allowUnsigned: config.skills.allowUnsigned,
      eligibility: await eligibilityOf(ctx, config),
      policy: await skillPolicyFor(ctx, config),
    },
  );
  if (ctx.json) {
    printJson(catalog.entries.map(entryJson));
    return 0;
  }
  print(table(
    ["NAME", "SOURCE", "STATUS", "SIGNATURE", "WHY"],
    catalog.entries.map((e) => [
      `${e.emoji ? e.emoji + " " : ""}${e.name}`,
      e.source + (e.wasm ? " (wasm)" : ""),
      e.available ? "available" : "unavailable",
      e.signature.status,
      e.reasons.join("; "),
    ]),
  ));
  return 0;
}

function entryJson(e: SkillEntry): Record<string, unknown> {
  return {
    name: e.name,
    description: e.description,
    source: e.source,
    dir: e.dir,
    available: e.available,
    reasons: e.reasons,
    signature: e.signature,
    requires: e.requires,
    wasm: e.wasm,
  };
}

function describeRequest(r: InstallRequest): string {
  const lines = [
    `Install skill "${r.name}" ${r.version} from ${r.source}`,
    `  ${r.description}`,
    r.unsigned
      ? `  SIGNATURE: NOT VERIFIED (${r.signatureProblem}); installing because of --allow-unsigned`
      : `  signed by: ${r.publisher} (${r.publisherFingerprint})`,
    `  needs binaries: ${[...r.requires.bins, ...r.requires.anyBins].join(", ") || "none"}`,
    `  needs env vars: ${r.requires.env.join(", ") || "none"}`,
    `  files: ${r.files} (${r.bytes} bytes)${r.replaces ? ", replaces the installed one" : ""}`,
  ];
  if (r.missing.length) lines.push(`  missing here: ${r.missing.join("; ")}`);
  for (const h of r.install) {
    lines.push(`  install hint: ${h.label ?? `${h.kind} ${h.package ?? ""}`}`);
  }
  return lines.join("\n");
}

async function installBody(ctx: CommandContext): Promise<number> {
  const [{ installFromFolder, installFromRegistry }, { ensureDataDir }, { saveConfig }] =
    await Promise.all([
      import("../skills/registry.ts"),
      import("../config/paths.ts"),
      import("../config/load.ts"),
    ]);
  const paths = await ensureDataDir(ctx.dataDir);
  const { config } = await configOf(ctx);
  const source = String(ctx.args.source);
  const allowUnsigned = ctx.flags["allow-unsigned"] === true;
  const isFolder = /[\/\\.]/.test(source) &&
    await Deno.stat(source).then((s) => s.isDirectory, () => false);
  const { confirm, stdinIsTerminal } = await import("../vault/prompt.ts");
  const { openAuditLog } = await import("../audit/log.ts");
  const audit = openAuditLog(paths.auditDb);
  try {
    const options = {
      skillsDir: paths.skills,
      trusted: await trustedOf(config),
      allowUnsigned,
      policy: await skillPolicyFor(ctx, config),
      replace: ctx.flags.replace === true,
      actor: "cli",
      audit,
      eligibility: await eligibilityOf(ctx, config),
      approve: async (r: InstallRequest) => {
        printError(describeRequest(r));
        if (ctx.flags.yes === true) return true;
        if (!stdinIsTerminal()) {
          throw new UsageError(
            "Installing a skill needs your approval, and there is no terminal to ask on.",
            "Run it in a terminal, or pass --yes after reading what it needs.",
          );
        }
        return await confirm("Install this skill?");
      },
    };
    const result = isFolder
      ? await installFromFolder(source, options)
      : await installFromRegistry(requireRegistry(config), source, options);
    if (result.unsigned && !config.skills.allowUnsigned.includes(result.name)) {
      // The per-skill opt-out lives in config so every later load honours it (and shows it).
      config.skills.allowUnsigned.push(result.name);
      await saveConfig(paths.config, config);
    }
    print(`Installed ${result.name} into ${result.dir}.`);
    return 0;
  } finally {
    audit.close();
  }
}

async function signBody(ctx: CommandContext): Promise<number> {
  const [{ signSkillFolder }, { generateSigningKey, fingerprint }, { openVault }, { Secret }] =
    await Promise.all([
      import("../skills/sign.ts"),
      import("../skills/signature.ts"),
      import("../vault/open.ts"),
      import("../secret.ts"),
    ]);
  const { config, path } = await configOf(ctx);
  const vault = await openVault({ dataDir: ctx.dataDir, env: ctx.env });
  const credential = config.skills.signingKey;
  if (ctx.flags["new-key"] === true) {
    if (vault.get(credential)) {
      throw new UsageError(
        `The vault already holds a signing key (${credential}).`,
        "Sign without --new-key, or remove it first with `wirken credentials remove`.",
      );
    }
    const key = generateSigningKey();
    vault.set(credential, new Secret(key.seed));
    if (!config.skills.trustedKeys.includes(key.publicKey)) {
      config.skills.trustedKeys.push(key.publicKey);
      const { saveConfig } = await import("../config/load.ts");
      await saveConfig(path, config);
    }
    printError(`Created signing key ${fingerprint(key.publicKey)}; its public key is now trusted.`);
  }
  const seed = vault.get(credential);
  if (!seed) {
    throw new UsageError(
      `There is no signing key in the vault (${credential}).`,
      "Create one with `wirken skills sign <dir> --new-key`.",
    );
  }
  const sig = await signSkillFolder(String(ctx.args.dir), seed.reveal());
  if (ctx.json) {
    printJson({
      name: sig.name,
      publicKey: sig.publicKey,
      fingerprint: fingerprint(sig.publicKey),
      files: sig.files.length,
    });
  } else {
    print(`Signed ${sig.name} (${sig.files.length} files) with ${fingerprint(sig.publicKey)}.`);
  }
  return 0;
}

async function verifyBody(ctx: CommandContext): Promise<number> {
  const { verifySkillFolder } = await import("../skills/sign.ts");
  const { dataPaths } = await import("../config/paths.ts");
  const { join } = await import("node:path");
  const { config } = await configOf(ctx);
  const name = String(ctx.args.name);
  const isPath = /[\/\\]/.test(name) || name.startsWith(".");
  const { bundledSkillsDir } = await import("../skills/load.ts");
  let dir = isPath ? name : join(dataPaths(ctx.dataDir).skills, name);
  if (!isPath && !(await Deno.stat(dir).then(() => true, () => false))) {
    dir = join(bundledSkillsDir(), name);
  }
  const r = await verifySkillFolder(dir, await trustedOf(config));
  if (ctx.json) {
    printJson(
      r.ok
        ? { name: r.name, dir, ok: true, publisher: r.publisher.label, fingerprint: r.fingerprint }
        : {
          name: r.name,
          dir,
          ok: false,
          code: r.code,
          reason: r.reason,
          fingerprint: r.fingerprint,
        },
    );
  } else if (r.ok) {
    print(`${r.name}: signature OK, signed by ${r.publisher.label} (${r.fingerprint}).`);
  } else {
    printError(`${r.name}: REFUSED: ${r.reason}.`);
  }
  return r.ok ? 0 : 1;
}

async function removeBody(ctx: CommandContext): Promise<number> {
  const { removeSkill } = await import("../skills/registry.ts");
  const { dataPaths } = await import("../config/paths.ts");
  const { config, path } = await configOf(ctx);
  const name = String(ctx.args.name);
  const removed = await removeSkill(dataPaths(ctx.dataDir).skills, name);
  if (config.skills.allowUnsigned.includes(name)) {
    config.skills.allowUnsigned = config.skills.allowUnsigned.filter((n) => n !== name);
    const { saveConfig } = await import("../config/load.ts");
    await saveConfig(path, config);
  }
  if (!removed) {
    printError(`No installed skill is named "${name}".`);
    return 1;
  }
  print(`Removed ${name}.`);
  return 0;
}

async function publishBody(ctx: CommandContext): Promise<number> {
  const { publishToFolder } = await import("../skills/registry.ts");
  if (typeof ctx.flags.to !== "string") {
    throw new UsageError("publish needs --to <registry folder>.", "e.g. --to ./registry");
  }
  const version = typeof ctx.flags.version === "string" ? ctx.flags.version : "0.0.0";
  const entry = await publishToFolder(ctx.flags.to, String(ctx.args.dir), version);
  print(`Published ${entry.name} ${entry.version} (${entry.bundle}) to ${ctx.flags.to}.`);
  return 0;
}
