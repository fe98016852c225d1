/**
 * The one interface every sandbox implements: run a command under limits, get its exit code
 * and capped output. Backends: bubblewrap (`bwrap.ts`), Docker/Podman (`docker.ts`), Wasm
 * (`wasm/`), and host execution (`host.ts`, only when the user opted in).
 *
 * @module
 */
import { resolve } from "node:path";
import { WirkenError } from "../errors.ts";

/** Which backend ran a command; shown in approval prompts and recorded in the audit log. */
export type SandboxKind = "bwrap" | "docker" | "wasm" | "host";

/** Resource limits of one run. */
export interface SandboxLimits {
  /** Wall-clock limit; the whole process tree is killed when it passes. */
  timeoutMs: number;
  /** Bytes kept of stdout and of stderr each; the rest is dropped and marked. */
  maxOutputBytes: number;
  /** Address-space / container memory limit in bytes. */
  memoryBytes: number;
  /** Most processes (threads included) at once. */
  maxProcesses: number;
}

/** Defaults: 300 s, 32 KiB of output, 512 MiB, 256 processes (the numbers). */
export const DEFAULT_LIMITS: Readonly<SandboxLimits> = Object.freeze({
  timeoutMs: 300_000,
  maxOutputBytes: 32 * 1024,
  memoryBytes: 512 * 1024 * 1024,
  maxProcesses: 256,
});

/** What to run. */
export interface SandboxCommand {
  /** Program and arguments; a shell command is `["sh", "-c", text]`. */
  argv: readonly string[];
  /** Working directory: an absolute path inside the workspace (default: the workspace). */
  cwd?: string;
  /** Bytes written to the command's stdin (then closed). */
  stdin?: Uint8Array;
  /** Extra environment; the gateway's own environment is never passed through. */
  env?: Readonly<Record<string, string>>;
  /**
   * Network through the gateway's egress proxy, and no other: absent, the command has no
   * network at all. Supported by bubblewrap (see `egress_relay.ts`); other backends refuse.
   */
  egress?: SandboxEgress;
}

/** An egress proxy a sandboxed command may use (from `startSandboxEgress` in src/guard/). */
export interface SandboxEgress {
  /** Host path of the proxy's Unix socket; its folder (the proxy's alone) is bound in. */
  socket: string;
  /** The proxy's credentials, put into `HTTP_PROXY`/`HTTPS_PROXY`. */
  credentials: { username: string; password: string };
}

/** What came back. */
export interface SandboxResult {
  /** Exit code, or null when killed by a signal. */
  exitCode: number | null;
  /** The signal that ended it, if any. */
  signal: string | null;
  stdout: string;
  stderr: string;
  /** Some output was dropped because of `maxOutputBytes`. */
  truncated: boolean;
  /** Killed because `timeoutMs` passed. */
  timedOut: boolean;
  durationMs: number;
  sandbox: SandboxKind;
}

/** A place to run commands. */
export interface Sandbox {
  /** The backend, shown to users ("host" is flagged in every approval prompt). */
  readonly kind: SandboxKind;
  /** Runs `command`; resolves when it and all its children are gone. */
  run(command: SandboxCommand, limits: SandboxLimits, signal?: AbortSignal): Promise<SandboxResult>;
}

/** A sandbox could not be set up (missing binary, engine down, bad module). */
export class SandboxError extends WirkenError {}

/**
 * The working directory of `command` as an absolute path inside `workspace`, or a
 * {@linkcode SandboxError}. Normalised before the comparison: `<workspace>/../x` starts with
 * the workspace but is outside it, and `<workspace>-evil` is a different folder.
 */
export function workspaceCwd(workspace: string, cwd: string | undefined): string {
  const root = resolve(workspace);
  const dir = resolve(root, cwd ?? ".");
  if (dir !== root && !dir.startsWith(root + "/")) {
    throw new SandboxError(`The working directory ${dir} is outside the workspace.`, {
      fix: "Run commands from inside the agent's workspace.",
    });
  }
  return dir;
}
