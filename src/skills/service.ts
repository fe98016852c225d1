/**
 * One call for the gateway: load the bundled and installed skills with the configured trust,
 * and get the system-prompt section and the tools that expose them to the agent.
 *
 * @module
 */
import type { SkillsConfig } from "../config/schema.ts";
import { currentOs, pathBinLookup } from "./eligibility.ts";
import {
  bundledSkillsDir,
  loadSkills,
  type SkillCatalog,
  type SkillPolicy,
  trustedKeysFrom,
} from "./load.ts";
import type { Tool } from "../tools/types.ts";
import { skillTools, type WasmModuleRunner } from "./tools.ts";

/** What {@linkcode openSkills} needs. */
export interface OpenSkillsOptions {
  /** The `skills` config section. */
  settings: SkillsConfig;
  /** `dataPaths(root).skills`. */
  installedDir: string;
  /** Environment for `requires.env` checks (the gateway's). */
  env: { get(name: string): string | undefined };
  /** The whole config, for OpenClaw `requires.config` paths. */
  config?: unknown;
  /** The Wasm sandbox (e.g. `new WasmSandbox()`); without it `skill_run` is not offered. */
  wasm?: WasmModuleRunner;
  /** Replaces the bundled folder (tests). */
  bundledDir?: string;
  /** The org policy's registry allow-list, when the gateway follows one. */
  policy?: SkillPolicy;
}

/** Loaded skills and what the agent needs of them. */
export interface OpenedSkills {
  catalog: SkillCatalog;
  /** Append to the system prompt (`systemExtra`); empty when no skill is available. */
  promptSection: string;
  /** `skill_read`, and `skill_run` when a Wasm runner was given. */
  tools: Tool[];
}

/** Loads skills (bundled, then installed, which shadow bundled ones of the same name). */
export async function openSkills(options: OpenSkillsOptions): Promise<OpenedSkills> {
  const catalog = await loadSkills(
    [
      { dir: options.bundledDir ?? bundledSkillsDir(), source: "bundled" },
      { dir: options.installedDir, source: "installed" },
    ],
    {
      trusted: trustedKeysFrom(options.settings),
      allowUnsigned: options.settings.allowUnsigned,
      policy: options.policy,
      eligibility: {
        env: options.env,
        hasBin: pathBinLookup(options.env),
        os: currentOs(),
        configHas: (path) => truthyAt(options.config, path),
      },
    },
  );
  return {
    catalog,
    promptSection: catalog.promptSection(),
    tools: catalog.available().length ? skillTools(catalog, options.wasm) : [],
  };
}

function truthyAt(config: unknown, path: string): boolean {
  let v: unknown = config;
  for (const k of path.split(".")) {
    if (typeof v !== "object" || v === null) return false;
    v = (v as Record<string, unknown>)[k];
  }
  return Boolean(v);
}
