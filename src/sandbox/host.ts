/**
 * Host execution: no sandbox at all. Used only when the user set `tools.sandbox` to `host`
 * explicitly; every approval prompt then says the command runs directly on this computer.
 *
 * The command starts in its own session (`setsid`), so a timeout kills its whole process
 * group. A process that starts yet another session escapes that kill: one more reason this
 * mode is opt-in only.
 *
 * @module
 */
import { resolve } from "node:path";
import { onPath, runProcess, SAFE_PATH } from "./process.ts";
import type { Sandbox, SandboxCommand, SandboxLimits, SandboxResult } from "./types.ts";
import { SandboxError, workspaceCwd } from "./types.ts";

/** Runs commands directly on the host, in the workspace. */
export class HostSandbox implements Sandbox {
  /** Always `host`. */
  readonly kind = "host" as const;
  readonly #workspace: string;

  /** `workspace` is the working directory of every command. */
  constructor(workspace: string) {
    this.#workspace = resolve(workspace);
  }

  /** Runs `command` on the host with the limits that do not need a sandbox. */
  async run(
    command: SandboxCommand,
    limits: SandboxLimits,
    signal?: AbortSignal,
  ): Promise<SandboxResult> {
    const setsid = await onPath("setsid");
    const prlimit = await onPath("prlimit");
    if (!setsid) {
      throw new SandboxError("setsid is missing, so a timed-out command could not be killed.", {
        fix: "Install util-linux, or use the bwrap or docker sandbox.",
      });
    }
    const cwd = workspaceCwd(this.#workspace, command.cwd);
    const limitArgv = prlimit
      ? [
        prlimit,
        `--data=${limits.memoryBytes}`,
        `--nproc=${limits.maxProcesses}`,
        "--core=0",
        "--",
      ]
      : [];
    return await runProcess({
      argv: [setsid, "--wait", ...limitArgv, ...command.argv],
      env: { PATH: SAFE_PATH, HOME: this.#workspace, LANG: "C.UTF-8", ...command.env },
      cwd,
      stdin: command.stdin,
      limits,
      kind: "host",
      signal,
      killGroup: true,
    });
  }
}
