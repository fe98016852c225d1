/**
 * Permission tiers and the policy table.
 *
 * - Tier 1 runs without asking: workspace file tools, web search.
 * - Tier 2 needs approval on first use; the approval is remembered for 30 days per agent,
 *   tool, scope, channel and user: shell exec, files outside the workspace, web_fetch.
 * - Tier 3 asks every time: destructive actions, credential access, arbitrary network
 *   requests, skill installs.
 *
 * A tool declares its tier; config (and later an org policy) can only raise it. The built-in
 * tier is the floor, so nothing configured can loosen a tool, and a tier-3 tool stays tier 3.
 * On top, some inputs raise the tier of a single call (a destructive shell command is asked
 * every time even though `exec` is tier 2): a heuristic that only ever tightens.
 *
 * (The doc comment of `src/tools/types.ts` describes tiers by side effects; this module is
 * where tiers get their meaning, as its comment says.)
 *
 * @module
 */
import type { Tier } from "../tools/types.ts";

/** What each tier requires, for prompts and `wirken permissions list`. */
export const TIER_MEANING: Readonly<Record<Tier, string>> = {
  1: "runs without asking",
  2: "asks on first use, remembered for 30 days",
  3: "asks every time",
};

/** How long a tier-2 approval is remembered. */
export const REMEMBER_MS = 30 * 24 * 60 * 60 * 1000;

/** The policy the broker applies. */
export interface PermissionPolicy {
  /** Per-tool tiers from config / org policy; used only when higher than the tool's own. */
  tiers?: Readonly<Record<string, Tier>>;
}

/** Shell words that make an `exec` call destructive (asked every time). */
const DESTRUCTIVE =
  /(^|[\s;&|(`$])(rm|rmdir|shred|unlink|mkfs(\.\w+)?|dd|truncate|wipefs|fdisk|parted|chown|chmod\s+-R|find\s.*-delete|git\s+(clean|reset\s+--hard|push\s+(-f|--force))|kill|killall|pkill|reboot|shutdown|curl|wget|nc|ncat|ssh|scp|rsync|sudo|su)(\s|$|;|&|\|)/;

/** Per-call tier: the highest of the tool's own, the policy's, and what the input implies. */
export function effectiveTier(
  tool: string,
  declared: Tier,
  input: unknown,
  policy: PermissionPolicy = {},
): Tier {
  let tier: Tier = declared;
  const configured = policy.tiers?.[tool];
  if (configured !== undefined && configured > tier) tier = configured;
  // An absolute path in a file tool may leave the workspace (config tools.extraRoots):
  // reading there is tier 2, writing tier 3. (Absolute paths inside the workspace are raised
  // too; relative paths never are.)
  const path = pathOf(input);
  if (path !== null && path.startsWith("/")) {
    if (FILE_READ.has(tool) && tier < 2) tier = 2;
    if (FILE_WRITE.has(tool)) tier = 3;
  }
  if (tool === "exec" && tier < 3) {
    const command = commandOf(input);
    if (command !== null && DESTRUCTIVE.test(command)) tier = 3;
  }
  return tier;
}

const FILE_READ = new Set(["read_file", "list_dir", "search_files"]);
const FILE_WRITE = new Set(["write_file", "edit_file"]);

function pathOf(input: unknown): string | null {
  if (typeof input === "object" && input !== null && "path" in input) {
    const p = (input as { path: unknown }).path;
    if (typeof p === "string") return p;
  }
  return null;
}

function commandOf(input: unknown): string | null {
  if (typeof input === "object" && input !== null && "command" in input) {
    const c = (input as { command: unknown }).command;
    if (typeof c === "string") return c;
  }
  return null;
}

/** Shell syntax that chains or redirects: such a command is only ever approved verbatim. */
const SHELL_META = /[;&|`$<>\n\\(){}*?\[\]!#~'"]/;

/**
 * The scope a remembered approval covers, so approving `git` does not approve `curl`:
 * - `exec`: the program (`git`), or the exact command when it uses shell syntax;
 * - `web_fetch`: the origin (`https://example.com`);
 * - tools with a `path`: the path's top folder;
 * - otherwise `*`.
 */
export function scopeOf(tool: string, input: unknown): string {
  if (tool === "exec") {
    const command = commandOf(input)?.trim() ?? "";
    if (command === "" || SHELL_META.test(command)) return `cmd:${command}`;
    const words = command.split(/\s+/).filter((w) => !/^[A-Za-z_][A-Za-z0-9_]*=/.test(w));
    return `prog:${words[0] ?? ""}`;
  }
  if (typeof input === "object" && input !== null) {
    const record = input as Record<string, unknown>;
    if (tool === "web_fetch" && typeof record.url === "string") {
      try {
        return `origin:${new URL(record.url).origin}`;
      } catch {
        return `url:${record.url}`;
      }
    }
    if (typeof record.path === "string") {
      const top = record.path.split("/").filter((s) => s !== "" && s !== ".")[0] ?? ".";
      return `path:${record.path.startsWith("/") ? "/" + top : top}`;
    }
  }
  return "*";
}

/** A one-line description of a call for approval prompts (never the full input). */
export function summarize(tool: string, input: unknown): string {
  const record = (typeof input === "object" && input !== null ? input : {}) as Record<
    string,
    unknown
  >;
  const pick = record.command ?? record.url ?? record.path ?? record.query;
  const detail = typeof pick === "string" ? pick : JSON.stringify(input) ?? "";
  const short = detail.length > 200 ? detail.slice(0, 200) + "…" : detail;
  return `${tool}: ${short}`;
}
