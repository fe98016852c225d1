/**
 * The built-in tool set, assembled from config. The gateway calls
 * {@linkcode builtinToolsFromConfig} once and hands the tools to the agent loop; everything
 * they need from outside (sandbox, vault) is passed in.
 *
 * @module
 */
import type { Config } from "../config/schema.ts";
import type { Sandbox } from "../sandbox/types.ts";
import { execTool, type ExecToolOptions } from "./exec.ts";
import { type FileToolOptions, fileTools } from "./fs/tools.ts";
import type { Tool } from "./types.ts";
import { type WebToolOptions, webTools } from "./web.ts";

/** Names of the built-in tools, in the order the model sees them. */
export const BUILTIN_TOOL_NAMES = [
  "read_file",
  "write_file",
  "edit_file",
  "list_dir",
  "search_files",
  "exec",
  "web_search",
  "web_fetch",
] as const;

/** Options of {@linkcode builtinTools}. */
export interface BuiltinToolOptions {
  file: FileToolOptions;
  /** Absent: no `exec` tool (e.g. no sandbox available and host not opted in). */
  exec?: ExecToolOptions;
  web: WebToolOptions;
}

/** All built-in tools. */
export function builtinTools(options: BuiltinToolOptions): Tool[] {
  return [
    ...fileTools(options.file),
    ...(options.exec ? [execTool(options.exec)] : []),
    ...webTools(options.web),
  ];
}

/** What {@linkcode builtinToolsFromConfig} needs besides config. */
export interface BuiltinDeps {
  /** The sandbox for a workspace, e.g. `sandboxProvider(config.tools)` from `sandbox/select.ts`. */
  sandboxFor?: (workspace: string) => Promise<Sandbox>;
  /** Reads a vault credential by name (the Brave search key). */
  getCredential?: (name: string) => Promise<string>;
  /**
   * The agent's egress options for web_fetch (allow-list, pinned connections), e.g.
   * `(agent) => ({ policy: egressPolicyFor(config, agent) })` from `guard/egress.ts`.
   */
  egress?: WebToolOptions["egress"];
  /** Network for exec runs through the egress proxy, used when `tools.execNetwork` is on. */
  execNetwork?: ExecToolOptions["network"];
}

/** The built-in tools configured by `config.tools` and `config.limits`. */
export function builtinToolsFromConfig(config: Config, deps: BuiltinDeps): Tool[] {
  const t = config.tools;
  return builtinTools({
    file: {
      readMaxBytes: t.readMaxBytes,
      writeMaxBytes: t.writeMaxBytes,
      extraRoots: t.extraRoots,
    },
    exec: deps.sandboxFor
      ? {
        sandboxFor: deps.sandboxFor,
        limits: {
          timeoutMs: config.limits.execTimeoutSeconds * 1000,
          maxOutputBytes: t.outputLimitBytes,
          memoryBytes: t.memoryMb * 1024 * 1024,
          maxProcesses: t.maxProcesses,
        },
        network: t.execNetwork ? deps.execNetwork : undefined,
      }
      : undefined,
    web: {
      search: t.webSearch,
      getCredential: deps.getCredential,
      maxBytes: t.webFetchMaxBytes,
      timeoutMs: t.webTimeoutSeconds * 1000,
      egress: deps.egress,
    },
  });
}
