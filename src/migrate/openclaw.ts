/**
 * `wirken migrate openclaw`: brings over from an OpenClaw home folder what can be brought
 * safely, in two steps so `--dry-run` is exactly the first one.
 *
 * {@linkcode planOpenClawMigration} reads (never writes): `openclaw.json` (JSON5, validated
 * field by field with zod), the skill folders, and each agent's `SOUL.md`. It returns the plan:
 * skills to copy (parsed with the same SKILL.md parser the gateway uses, with eligibility and
 * the reason for anything refused), config changes (provider and model, agents and their
 * system prompts, channels and allow-lists, routes), the credentials it found and the exact
 * command to re-enter each, and everything it did not import with the reason.
 * {@linkcode applyOpenClawMigration} then copies the skills and saves `config.json` once,
 * atomically, through the one config writer.
 *
 * Credentials are never read from plain files: credential files are only noticed by name, and
 * in `openclaw.json` a secret-looking key is only checked for presence; its value is never
 * copied into the plan, the output, the config or the logs. Skills are never marked signed: a
 * `.wirken-signature.json` they bring is dropped, so each copied skill stays refused until you
 * review and sign it. A second run finds everything in place and reports nothing to do.
 *
 * @module
 */
import JSON5 from "json5";
import type { AuditSink } from "../audit/types.ts";
import { WirkenError } from "../errors.ts";
import { join } from "node:path";
import { loadConfig, saveConfig } from "../config/load.ts";
import { dataPaths, DIR_MODE, ensureDataDir, FILE_MODE } from "../config/paths.ts";
import {
  AgentSchema,
  type Channel,
  type Config,
  PROVIDER_KINDS,
  type ProviderConfig,
} from "../config/schema.ts";
import { checkEligibility, type EligibilityContext } from "../skills/eligibility.ts";
import {
  manifestOf,
  readSkillFolder,
  SIGNATURE_FILE,
  type SkillFiles,
} from "../skills/manifest.ts";
import { bundledSkillsDir } from "../skills/load.ts";
import { parseSkillMd } from "../skills/parse.ts";
import { KEY_ENV } from "../providers/registry.ts";
import { credentialNames } from "../vault/types.ts";
import { insideRoot, lstatInside, readTextInside } from "./paths.ts";
import {
  type OcAgent,
  OcAgentSchema,
  OcBindingSchema,
  OcChannelSchema,
  type OcConfig,
  OcConfigSchema,
  OcProviderSchema,
} from "./openclaw_schema.ts";

/** Config file names OpenClaw has used, newest first. */
export const CONFIG_NAMES = ["openclaw.json", "clawdbot.json", "moltbot.json"] as const;

/** Plain files and folders that hold OpenClaw credentials; noticed by name, never opened. */
const CREDENTIAL_FILES = [".env", "credentials", "auth-profiles.json"] as const;

/** What happens to one skill. */
export interface SkillPlan {
  /** The skill's name (front matter, else its folder name). */
  name: string;
  /** Its folder, relative to the OpenClaw folder. */
  source: string;
  /** `copy`: will be copied; `unchanged`: already there, same files; `conflict`: a different
   * skill of that name is installed (kept); `refused`: not copied, see `reason`. */
  action: "copy" | "unchanged" | "conflict" | "refused";
  reason?: string;
  /** Its requirements are met here (binaries, env, OS); false also when refused. */
  eligible: boolean;
  /** What it lacks here, one sentence each. */
  missing: string[];
}

/** A credential found in OpenClaw and how to re-enter it in wirken. */
export interface CredentialPlan {
  /** Where it was found: a config key path or a file name (never its value). */
  found: string;
  /** The command to run, when there is one. */
  command?: string;
  /** What to do otherwise. */
  note?: string;
}

/** Something not imported, and why. */
export interface SkippedItem {
  what: string;
  reason: string;
}

/** The whole plan, as printed (and as `--json`). */
export interface MigrationPlan {
  /** The OpenClaw folder read. */
  from: string;
  /** The config file read, relative to `from`; null when none was usable. */
  configFile: string | null;
  skills: SkillPlan[];
  /** One line per change to `config.json`. */
  configChanges: string[];
  credentials: CredentialPlan[];
  skipped: SkippedItem[];
  /** Nothing would be written (a second run ends here). */
  nothingToDo: boolean;
}

/** A plan plus what applying it writes. */
export interface PreparedMigration {
  plan: MigrationPlan;
  /** The config to save; null when it would not change. */
  nextConfig: Config | null;
  /** Skill files to copy, by skill name. */
  copies: Map<string, SkillFiles>;
}

/** Options of {@linkcode planOpenClawMigration}. */
export interface PlanOptions {
  /** The OpenClaw home folder (e.g. `~/.openclaw`). */
  from: string;
  /** wirken's data directory. */
  dataDir: string;
  /** Where skills' requirements are checked (the real PATH and env by default). */
  eligibility: EligibilityContext;
}

/** What applying did. */
export interface MigrationResult {
  copiedSkills: string[];
  configSaved: boolean;
}

const SECRET_KEY = /(token|secret|password|passwd|api[-_]?key|private[-_]?key|cookie|credential)/i;

/** OpenClaw channel ids that have a wirken adapter. */
const CHANNEL_MAP: Readonly<Record<string, Channel>> = {
  telegram: "telegram",
  discord: "discord",
  slack: "slack",
  msteams: "teams",
  teams: "teams",
  matrix: "matrix",
  whatsapp: "whatsapp",
};

/** Prefixes OpenClaw accepts in allow-lists that are not part of the platform's sender id. */
const SENDER_PREFIXES: Readonly<Record<Channel, readonly string[]>> = {
  telegram: ["telegram:", "tg:"],
  discord: ["discord:", "user:"],
  slack: ["slack:", "user:"],
  teams: ["msteams:", "teams:", "user:"],
  matrix: ["matrix:"],
  whatsapp: ["whatsapp:"],
};

/** OpenClaw provider ids -> wirken provider kinds (others: `custom` when they have a baseUrl). */
const PROVIDER_MAP: Readonly<Record<string, ProviderConfig["kind"]>> = {
  openai: "openai",
  "openai-codex": "openai",
  anthropic: "anthropic",
  google: "gemini",
  gemini: "gemini",
  "amazon-bedrock": "bedrock",
  bedrock: "bedrock",
  ollama: "ollama",
  tinfoil: "tinfoil",
  privatemode: "privatemode",
};

/**
 * Providers OpenClaw knows by name that speak the OpenAI format: wirken reaches them as `custom`
 * with their public endpoint (a `models.providers` entry of the same name still wins).
 */
const OPENAI_COMPATIBLE: Readonly<Record<string, string>> = {
  openrouter: "https://openrouter.ai/api/v1",
  groq: "https://api.groq.com/openai/v1",
};

/**
 * Environment variables that hold a provider key, from the providers' own list (`KEY_ENV`), so
 * an OpenClaw `env.OPENAI_API_KEY` maps to the vault name wirken reads first. The first kind
 * listing a variable wins (`OPENAI_API_KEY` is OpenAI's before it is `custom`'s fallback).
 */
const PROVIDER_ENV: ReadonlyMap<string, ProviderConfig["kind"]> = (() => {
  const out = new Map<string, ProviderConfig["kind"]>();
  for (const kind of PROVIDER_KINDS) {
    for (const name of KEY_ENV[kind]) if (!out.has(name)) out.set(name, kind);
  }
  return out;
})();

/** Top-level `openclaw.json` keys the planner reads (the rest are reported as not imported). */
const READ_KEYS = new Set([
  "agent",
  "agents",
  "identity",
  "bindings",
  "channels",
  "models",
  "auth",
  "skills",
  "env",
  "$schema",
  "meta",
]);

const AGENT_ID = /^[a-z0-9][a-z0-9_-]{0,62}$/;

/** Reads `from` and returns what migrating would do; writes nothing. */
export async function planOpenClawMigration(options: PlanOptions): Promise<PreparedMigration> {
  const from = options.from;
  const root = await Deno.stat(from).catch(() => null);
  if (!root?.isDirectory) {
    throw new WirkenError(`${from} is not an OpenClaw folder (not a directory).`, {
      fix: "Pass the OpenClaw home folder with --from, e.g. --from ~/.openclaw.",
    });
  }
  const paths = dataPaths(options.dataDir);
  const current = await loadConfig(paths.config);
  const next: Config = structuredClone(current);
  const plan: MigrationPlan = {
    from,
    configFile: null,
    skills: [],
    configChanges: [],
    credentials: [],
    skipped: [],
    nothingToDo: true,
  };
  const skip = (what: string, reason: string) => plan.skipped.push({ what, reason });
  const commands = new Set<string>();
  const credential = (found: string, command?: string, note?: string) => {
    plan.credentials.push({ found, ...(command ? { command } : {}), ...(note ? { note } : {}) });
    if (command) commands.add(command);
  };

  const { config: oc, raw } = await readOpenClawConfig(from, plan, skip);

  // Credentials: found by key name (values are never looked at beyond "present").
  const providerIds = new Set<string>();
  if (raw) {
    for (const path of secretPaths(raw, [], 0)) {
      const at = path.join(".");
      const [top, second, third] = path;
      if (top === "channels" && second !== undefined) {
        const ch = CHANNEL_MAP[second];
        if (ch) credential(at, `wirken channel add ${ch}`);
        else skip(at, `channel "${second}" has no wirken adapter; its secret is not needed`);
      } else if (top === "models" && second === "providers" && third !== undefined) {
        providerIds.add(third);
      } else if (top === "env") {
        const name = path[path.length - 1];
        const kind = PROVIDER_ENV.get(name);
        if (kind) credential(at, `wirken credentials add ${credentialNames.providerKey(kind)}`);
        else {
          credential(
            at,
            undefined,
            `set ${name} in the environment that runs \`wirken run\` if a skill needs it`,
          );
        }
      } else if (top === "skills") {
        credential(
          at,
          undefined,
          "set the skill's environment variable (see `wirken skills list`) where `wirken run` runs",
        );
      } else {
        skip(at, "a credential of an OpenClaw feature wirken does not have; not needed");
      }
    }
    // `env` values are credentials or settings by convention; only their names are listed.
    const env = (raw as Record<string, unknown>).env;
    if (isRecord(env)) {
      const names = [
        ...Object.keys(env).filter((k) => k !== "vars" && k !== "shellEnv"),
        ...(isRecord(env.vars) ? Object.keys(env.vars) : []),
      ].filter((n) => !SECRET_KEY.test(n));
      for (const n of names) {
        const kind = PROVIDER_ENV.get(n);
        if (kind) {
          credential(`env.${n}`, `wirken credentials add ${credentialNames.providerKey(kind)}`);
        } else skip(`env.${n}`, "environment values are not imported; set it where wirken runs");
      }
    }
  }
  for (const name of CREDENTIAL_FILES) {
    const found = await lstatInside(from, name);
    if (found.kind !== "missing") {
      credential(
        name,
        undefined,
        "not opened: re-enter what it held with the commands listed here",
      );
    }
  }
  const agentDirs = await listDir(from, "agents");
  for (const id of agentDirs) {
    for (const file of ["agent/auth-profiles.json", "agent/auth.json"]) {
      const rel = `agents/${id}/${file}`;
      if ((await lstatInside(from, rel)).kind !== "missing") {
        credential(rel, undefined, "not opened: re-enter provider keys with the commands listed");
      }
    }
  }

  // Provider and model.
  const agents = oc ? collectAgents(oc, skip) : [];
  const defaultAgent = agents.find((a) => a.isDefault);
  const defaultModel = defaultAgent?.model ?? (oc ? defaultsModel(oc) : undefined);
  let provider: ProviderConfig | undefined;
  if (defaultModel) {
    provider = providerOf(defaultModel, oc, skip);
    if (provider) {
      if (!current.provider) {
        next.provider = provider;
        plan.configChanges.push(`provider: ${provider.kind} (${provider.model})`);
      } else if (!sameProvider(current.provider, provider)) {
        skip(
          `model ${defaultModel}`,
          `wirken already uses ${current.provider.kind} (${current.provider.model}); kept`,
        );
      }
    }
  }
  const keyed = next.provider ?? current.provider;
  if (keyed && keyed.kind !== "ollama" && keyed.kind !== "bedrock") {
    commands.add(`wirken credentials add ${credentialNames.providerKey(keyed.kind)}`);
  }
  for (const id of providerIds) {
    const kind = PROVIDER_MAP[id] ?? (keyed?.kind === "custom" ? "custom" : undefined);
    if (kind) {
      credential(
        `models.providers.${id}`,
        `wirken credentials add ${credentialNames.providerKey(kind)}`,
      );
    } else {skip(
        `models.providers.${id}`,
        "provider not used by the imported model; its key is not needed",
      );}
  }

  // Agents and their system prompts.
  const idMap = new Map<string, string>();
  for (const agent of agents) {
    const id = agent.isDefault ? "default" : agent.id.toLowerCase();
    if (!AGENT_ID.test(id)) {
      skip(`agent ${agent.id}`, "its id is not a valid wirken agent id (a-z, 0-9, '-', '_')");
      continue;
    }
    idMap.set(agent.id, id);
    const wanted: Record<string, unknown> = { id };
    if (agent.name) wanted.name = agent.name;
    if (!agent.isDefault && agent.model && agent.model !== defaultModel) {
      const p = providerOf(agent.model, oc, skip);
      const base = next.provider ?? current.provider;
      if (p && base && p.kind === base.kind && p.baseUrl === base.baseUrl) wanted.model = p.model;
      else if (p) wanted.provider = p;
    }
    const prompt = await systemPromptOf(from, agent, skip);
    if (prompt) wanted.systemPrompt = prompt.text;
    const parsed = AgentSchema.safeParse(wanted);
    if (!parsed.success) {
      skip(`agent ${agent.id}`, parsed.error.issues[0]?.message ?? "invalid");
      continue;
    }
    const existing = next.agents.find((a) => a.id === id);
    const label = agent.isDefault ? `agent default (OpenClaw "${agent.id}")` : `agent ${id}`;
    if (!existing) {
      next.agents.push(parsed.data);
      plan.configChanges.push(
        `${label}: added${prompt ? `, system prompt from ${prompt.file}` : ""}`,
      );
      continue;
    }
    const added: string[] = [];
    for (const key of ["name", "model", "provider", "systemPrompt"] as const) {
      const value = parsed.data[key];
      if (value === undefined) continue;
      if (existing[key] === undefined) {
        (existing as Record<string, unknown>)[key] = value;
        added.push(key === "systemPrompt" && prompt ? `systemPrompt (from ${prompt.file})` : key);
      } else if (JSON.stringify(existing[key]) !== JSON.stringify(value)) {
        skip(`${label}: ${key}`, "wirken already has a different value; kept");
      }
    }
    if (added.length) plan.configChanges.push(`${label}: set ${added.join(", ")}`);
  }

  // Channels and allow-lists.
  if (oc?.channels) {
    for (const [ocId, value] of Object.entries(oc.channels)) {
      const ch = CHANNEL_MAP[ocId];
      if (!ch) {
        skip(`channels.${ocId}`, "no wirken adapter for this channel");
        continue;
      }
      const parsed = OcChannelSchema.safeParse(value);
      if (!parsed.success) {
        skip(`channels.${ocId}`, "not an object");
        continue;
      }
      const senders = new Set<string>();
      for (
        const s of [
          ...(parsed.data.allowFrom ?? []),
          ...(parsed.data.dm?.allowFrom ?? []),
          ...(parsed.data.groupAllowFrom ?? []),
        ]
      ) {
        const id = normalizeSender(ch, s);
        if (id === "*") {
          skip(
            `channels.${ocId} allowFrom "*"`,
            "open access is not carried over: wirken answers only senders listed in allowFrom",
          );
        } else if (id !== "") senders.add(id);
      }
      const existing = next.channels[ch];
      if (!existing) {
        next.channels[ch] = { enabled: parsed.data.enabled ?? true, allowFrom: [...senders] };
        plan.configChanges.push(
          `channel ${ch}: added (${senders.size} allowed sender${senders.size === 1 ? "" : "s"})`,
        );
        commands.add(`wirken channel add ${ch}`);
      } else {
        const fresh = [...senders].filter((s) => !existing.allowFrom.includes(s));
        if (fresh.length) {
          existing.allowFrom.push(...fresh);
          plan.configChanges.push(`channel ${ch}: allowFrom += ${fresh.join(", ")}`);
        }
      }
      if (ch === "whatsapp") {
        skip(
          "WhatsApp session",
          "OpenClaw links WhatsApp Web as a device; wirken uses the WhatsApp Business Cloud API, so set up an app (docs/channels.md)",
        );
      }
    }
  }

  // Bindings -> routes.
  for (const [i, value] of (oc?.bindings ?? []).entries()) {
    const b = OcBindingSchema.safeParse(value);
    if (!b.success) {
      skip(`bindings[${i}]`, "malformed (needs agentId and match.channel)");
      continue;
    }
    const { agentId, match, type } = b.data;
    const what = `bindings[${i}] (${match.channel} -> ${agentId})`;
    if (type !== undefined && type !== "route") {
      skip(what, `binding type "${type}" has no wirken equivalent`);
      continue;
    }
    const ch: Channel | "webchat" | undefined = match.channel === "webchat"
      ? "webchat"
      : CHANNEL_MAP[match.channel];
    const agent = idMap.get(agentId);
    if (!ch) skip(what, "no wirken adapter for this channel");
    else if (!agent) skip(what, `agent "${agentId}" was not imported`);
    else if (match.accountId !== undefined && match.accountId !== "*") {
      skip(
        what,
        "wirken has one account per channel; an account-specific binding is not carried over",
      );
    } else if (match.guildId !== undefined || match.teamId !== undefined) {
      skip(what, "guild/team bindings have no wirken equivalent; use a route per conversation");
    } else {
      const route = {
        channel: ch,
        ...(match.peer ? { conversation: String(match.peer.id) } : {}),
        agent,
      };
      const exists = next.routes.some((r) =>
        r.channel === route.channel && r.conversation === route.conversation &&
        r.sender === undefined && r.agent === route.agent
      );
      if (!exists) {
        next.routes.push(route);
        plan.configChanges.push(
          `route ${ch}${route.conversation ? `/${route.conversation}` : ""} -> ${agent}`,
        );
      }
    }
  }

  // Unknown top-level keys: listed, never dropped silently.
  if (raw) {
    for (const key of Object.keys(raw)) {
      if (!READ_KEYS.has(key)) skip(key, "no wirken equivalent; not imported");
    }
  }

  // Skills.
  const copies = new Map<string, SkillFiles>();
  const roots = skillRoots(from, oc, agents, skip);
  const seen = new Set<string>();
  const bundled = new Set(await listDir(bundledSkillsDir(), ""));
  for (const rootRel of roots) {
    const found = await lstatInside(from, rootRel);
    if (found.kind === "missing") continue;
    if (found.kind !== "dir") {
      skip(
        rootRel,
        found.kind === "symlink" ? `${found.at} is a symbolic link (not followed)` : "not a folder",
      );
      continue;
    }
    for (const entry of await listDir(from, rootRel, true)) {
      const rel = `${rootRel}/${entry}`;
      const sp = await planSkill(from, rel, entry, paths.skills, options.eligibility, bundled);
      if (sp.action !== "refused") {
        if (seen.has(sp.plan.name)) {
          plan.skills.push({
            ...sp.plan,
            action: "refused",
            reason: "a skill of the same name was found earlier (that one is used)",
            eligible: false,
          });
          continue;
        }
        seen.add(sp.plan.name);
        if (sp.action === "copy") copies.set(sp.plan.name, sp.files);
      }
      plan.skills.push(sp.plan);
    }
  }

  for (const c of commands) {
    // Commands the imported config needs that no found credential already listed (e.g. the key
    // of the chosen provider when OpenClaw kept it in a file that is never opened).
    if (!plan.credentials.some((p) => p.command === c)) {
      plan.credentials.push({ found: "needed by the imported config", command: c });
    }
  }
  const configChanged = JSON.stringify(next) !== JSON.stringify(current);
  plan.nothingToDo = copies.size === 0 && !configChanged;
  return { plan, nextConfig: configChanged ? next : null, copies };
}

/**
 * Writes what `prepared` plans: skills first (each atomically), then `config.json` once. With an
 * audit sink, each skill is recorded as `skill.install` and the config as `config.change` before
 * it is written, like every other install: a write that cannot be recorded does not happen.
 */
export async function applyOpenClawMigration(
  prepared: PreparedMigration,
  dataDir: string,
  audit?: AuditSink,
): Promise<MigrationResult> {
  const paths = await ensureDataDir(dataDir);
  const copied: string[] = [];
  const from = prepared.plan.from;
  for (const [name, files] of prepared.copies) {
    const source = prepared.plan.skills.find((s) => s.name === name && s.action === "copy");
    await audit?.append({
      kind: "skill.install",
      actor: "cli",
      payload: {
        name,
        version: "openclaw",
        source: `wirken migrate openclaw: ${join(from, source?.source ?? name)}`,
        publisher: null,
        fingerprint: null,
        unsigned: true,
        signatureProblem: "imported from OpenClaw; never marked signed (sign it to load it)",
        files: files.files.size,
        replaces: false,
        approved: true,
      },
    });
    await writeSkill(paths.skills, name, files);
    copied.push(name);
  }
  if (prepared.nextConfig) {
    await audit?.append({
      kind: "config.change",
      actor: "cli",
      payload: { change: "migrate openclaw", from, changes: prepared.plan.configChanges },
    });
    await saveConfig(paths.config, prepared.nextConfig);
  }
  return { copiedSkills: copied, configSaved: prepared.nextConfig !== null };
}

async function readOpenClawConfig(
  from: string,
  plan: MigrationPlan,
  skip: (what: string, reason: string) => void,
): Promise<{ config?: OcConfig; raw?: Record<string, unknown> }> {
  for (const name of CONFIG_NAMES) {
    const read = await readTextInside(from, name);
    if ("reason" in read) {
      if (!read.missing) skip(name, read.reason);
      continue;
    }
    let raw: unknown;
    try {
      raw = JSON5.parse(read.text);
    } catch (e) {
      // Only the position: JSON5's message quotes the offending character, which could be part
      // of a token.
      const err = e as { lineNumber?: number; columnNumber?: number };
      skip(
        name,
        `not valid JSON5 (line ${err.lineNumber ?? "?"}, column ${
          err.columnNumber ?? "?"
        }); nothing in it was imported`,
      );
      return {};
    }
    if (!isRecord(raw)) {
      skip(name, "not a JSON object; nothing in it was imported");
      return {};
    }
    plan.configFile = name;
    const parsed = OcConfigSchema.safeParse(raw);
    if (!parsed.success) {
      skip(name, "unreadable structure; nothing in it was imported");
      return { raw };
    }
    return { config: parsed.data, raw };
  }
  skip("openclaw.json", "not found; only skills were looked for");
  return {};
}

interface FoundAgent {
  id: string;
  isDefault: boolean;
  name?: string;
  model?: string;
  workspace?: string;
}

function collectAgents(oc: OcConfig, skip: (what: string, reason: string) => void): FoundAgent[] {
  const raw: { id?: string; agent: OcAgent }[] = [];
  const add = (value: unknown, where: string, id?: string) => {
    const parsed = OcAgentSchema.safeParse(value);
    if (!parsed.success) skip(where, "not an agent object");
    else raw.push({ id: id ?? parsed.data.id, agent: parsed.data });
  };
  (oc.agents?.list ?? []).forEach((v, i) => add(v, `agents.list[${i}]`));
  for (const [id, v] of Object.entries(oc.agents?.entries ?? {})) {
    add(v, `agents.entries.${id}`, id);
  }
  const out: FoundAgent[] = [];
  for (const [i, { id, agent }] of raw.entries()) {
    if (!id) {
      skip(`agents.list[${i}]`, "has no id");
      continue;
    }
    out.push({
      id,
      isDefault: false,
      name: agent.identity?.name ?? agent.name,
      model: agent.model,
      workspace: agent.workspace,
    });
  }
  if (out.length === 0 && (oc.agent || oc.agents?.defaults || oc.identity)) {
    // A single-agent install: OpenClaw calls its agent "main".
    out.push({
      id: "main",
      isDefault: true,
      name: oc.identity?.name,
      model: oc.agent?.model,
      workspace: oc.agent?.workspace,
    });
  }
  const flagged = raw.findIndex((r) => r.agent.default === true);
  const chosen = flagged >= 0
    ? out.findIndex((a) => a.id === raw[flagged].id)
    : Math.max(0, out.findIndex((a) => a.id === "main"));
  if (out[chosen]) out[chosen].isDefault = true;
  return out;
}

function defaultsModel(oc: OcConfig): string | undefined {
  return oc.agents?.defaults?.model ?? oc.agent?.model;
}

function providerOf(
  model: string,
  oc: OcConfig | undefined,
  skip: (what: string, reason: string) => void,
): ProviderConfig | undefined {
  const slash = model.indexOf("/");
  if (slash <= 0 || slash === model.length - 1) {
    skip(
      `model ${model}`,
      "not in provider/model form (an alias?); choose one with `wirken setup`",
    );
    return undefined;
  }
  const id = model.slice(0, slash);
  const name = model.slice(slash + 1);
  const kind = PROVIDER_MAP[id];
  if (kind) return { kind, model: name };
  const custom = OcProviderSchema.safeParse(oc?.models?.providers?.[id]);
  if (custom.success && custom.data.baseUrl && /^https?:\/\//.test(custom.data.baseUrl)) {
    if (custom.data.api === undefined || custom.data.api.startsWith("openai")) {
      return { kind: "custom", model: name, baseUrl: custom.data.baseUrl };
    }
  }
  const known = OPENAI_COMPATIBLE[id];
  if (known) return { kind: "custom", model: name, baseUrl: known };
  skip(
    `model ${model}`,
    `provider "${id}" has no wirken equivalent (${
      PROVIDER_KINDS.join(", ")
    }); choose one with \`wirken setup\``,
  );
  return undefined;
}

function sameProvider(a: ProviderConfig, b: ProviderConfig): boolean {
  return a.kind === b.kind && a.model === b.model && a.baseUrl === b.baseUrl;
}

/** The agent's workspace, relative to the OpenClaw folder; null when outside it. */
function workspaceOf(agent: FoundAgent): string {
  return agent.workspace ?? (agent.isDefault ? "workspace" : `workspace-${agent.id}`);
}

async function systemPromptOf(
  from: string,
  agent: FoundAgent,
  skip: (what: string, reason: string) => void,
): Promise<{ text: string; file: string } | undefined> {
  const ws = insideRoot(from, workspaceOf(agent));
  if (ws === null) {
    skip(`agent ${agent.id} workspace`, "outside the OpenClaw folder; not read");
    return undefined;
  }
  const file = ws === "" ? "SOUL.md" : `${ws}/SOUL.md`;
  const read = await readTextInside(from, file, 64 * 1024);
  if ("reason" in read) {
    if (!read.missing) skip(file, read.reason);
    return undefined;
  }
  const text = read.text.trim();
  return text ? { text, file } : undefined;
}

function skillRoots(
  from: string,
  oc: OcConfig | undefined,
  agents: readonly FoundAgent[],
  skip: (what: string, reason: string) => void,
): string[] {
  const roots: string[] = [];
  const add = (rel: string | null, what: string) => {
    if (rel === null) skip(what, "outside the OpenClaw folder; not read");
    else if (!roots.includes(rel)) roots.push(rel);
  };
  // Workspace skills win over managed ones in OpenClaw, so they are read first.
  const workspaces: FoundAgent[] = agents.length ? [...agents] : [{ id: "main", isDefault: true }];
  for (const a of workspaces) {
    const ws = insideRoot(from, workspaceOf(a));
    add(
      ws === null ? null : ws === "" ? "skills" : `${ws}/skills`,
      `agent ${a.id} workspace skills`,
    );
  }
  add("skills", "skills");
  for (const [i, d] of (oc?.skills?.load?.extraDirs ?? []).entries()) {
    add(insideRoot(from, d), `skills.load.extraDirs[${i}]`);
  }
  return roots;
}

interface SkillOutcome {
  plan: SkillPlan;
  action: SkillPlan["action"];
  files: SkillFiles;
}

async function planSkill(
  from: string,
  rel: string,
  folder: string,
  skillsDir: string,
  eligibility: EligibilityContext,
  bundled: ReadonlySet<string>,
): Promise<SkillOutcome> {
  const empty: SkillFiles = { files: new Map() };
  const refused = (reason: string, name = folder): SkillOutcome => ({
    plan: { name, source: rel, action: "refused", reason, eligible: false, missing: [] },
    action: "refused",
    files: empty,
  });
  const found = await lstatInside(from, rel);
  if (found.kind === "symlink") return refused("a symbolic link (not followed)");
  if (found.kind !== "dir") return refused("not a skill folder");
  let files: SkillFiles;
  try {
    // Refuses symlinks inside, special files, bad names, more than 500 files or 20 MiB.
    files = await readSkillFolder(join(from, rel));
  } catch (e) {
    return refused((e as Error).message);
  }
  const md = files.files.get("SKILL.md");
  if (!md) return refused("no SKILL.md");
  let parsed;
  try {
    parsed = parseSkillMd(new TextDecoder().decode(md), {
      file: `${rel}/SKILL.md`,
      fallbackName: folder,
    });
  } catch (e) {
    return refused((e as Error).message);
  }
  if (bundled.has(parsed.name)) {
    // An installed skill shadows the bundled one of the same name, and an unsigned copy would
    // turn a working, signed skill into a refused one.
    return refused(
      `wirken bundles a signed skill named "${parsed.name}"; the bundled one is kept (give yours another name in its SKILL.md to import it)`,
      parsed.name,
    );
  }
  // Never marked signed: a signature file it brings is not copied.
  files.files.delete(SIGNATURE_FILE);
  const elig = checkEligibility(parsed, eligibility);
  const plan: SkillPlan = {
    name: parsed.name,
    source: rel,
    action: "copy",
    eligible: elig.eligible,
    missing: elig.reasons,
  };
  const dest = join(skillsDir, parsed.name);
  const there = await Deno.lstat(dest).catch(() => null);
  if (there) {
    let same = false;
    if (there.isDirectory && !there.isSymlink) {
      try {
        same = JSON.stringify(manifestOf(await readSkillFolder(dest))) ===
          JSON.stringify(manifestOf(files));
      } catch {
        same = false;
      }
    }
    plan.action = same ? "unchanged" : "conflict";
    if (!same) {
      plan.reason =
        `a different skill named "${parsed.name}" is already installed; kept (remove it with \`wirken skills remove ${parsed.name}\` to import this one)`;
    }
  }
  return { plan, action: plan.action, files };
}

async function writeSkill(skillsDir: string, name: string, skill: SkillFiles): Promise<void> {
  await Deno.mkdir(skillsDir, { recursive: true, mode: DIR_MODE });
  // Written into a hidden temp folder and renamed, so a crash never leaves half a skill (the
  // loader ignores hidden folders).
  const tmp = join(skillsDir, `.migrate-${crypto.randomUUID()}`);
  try {
    await Deno.mkdir(tmp, { mode: DIR_MODE });
    for (const [path, data] of skill.files) {
      const target = join(tmp, ...path.split("/"));
      await Deno.mkdir(join(target, ".."), { recursive: true, mode: DIR_MODE });
      await Deno.writeFile(target, data, { createNew: true, mode: FILE_MODE });
    }
    await Deno.rename(tmp, join(skillsDir, name));
  } catch (e) {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
    throw e;
  }
}

/** Folder entries (names) of `<root>/<rel>`, sorted; hidden ones too when `all`. */
async function listDir(root: string, rel: string, all = false): Promise<string[]> {
  const found = await lstatInside(root, rel);
  if (found.kind !== "dir") return [];
  const names: string[] = [];
  for await (const e of Deno.readDir(join(root, rel))) {
    if (all || !e.name.startsWith(".")) names.push(e.name);
  }
  return names.sort();
}

/** Key paths whose name looks like a credential and whose value is present. */
function secretPaths(value: unknown, path: string[], depth: number): string[][] {
  if (depth > 16 || !isRecord(value)) {
    if (Array.isArray(value) && depth <= 16) {
      return value.flatMap((v, i) => secretPaths(v, [...path, String(i)], depth + 1));
    }
    return [];
  }
  const out: string[][] = [];
  for (const [k, v] of Object.entries(value)) {
    const present = (typeof v === "string" && v.trim() !== "") || isRecord(v);
    if (SECRET_KEY.test(k) && present) out.push([...path, k]);
    else out.push(...secretPaths(v, [...path, k], depth + 1));
  }
  return out;
}

function normalizeSender(ch: Channel, raw: string): string {
  let s = raw.trim();
  if (s === "*") return s;
  for (const p of SENDER_PREFIXES[ch]) {
    if (s.toLowerCase().startsWith(p)) {
      s = s.slice(p.length);
      break;
    }
  }
  if (ch === "discord") s = s.replace(/^<@!?(\d+)>$/, "$1");
  // WhatsApp Cloud API sender ids (wa_id) are the number's digits without "+".
  if (ch === "whatsapp") s = s.replace(/^\+/, "");
  return s;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
