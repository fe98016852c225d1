/**
 * The `exec` tool: one shell command in the agent's workspace, inside the configured sandbox
 * (bubblewrap, Docker, or the host only when the user opted in). Tier 2: asked on first use
 * per program, remembered 30 days; destructive commands are asked every time (see
 * `permissions/policy.ts`).
 *
 * @module
 */
import { z } from "zod";
import type { Sandbox, SandboxEgress, SandboxLimits, SandboxResult } from "../sandbox/types.ts";
import { ConfinementError, Workspace } from "./fs/confine.ts";
import { defineTool, type Tool, type ToolContext } from "./types.ts";

/** What `exec` needs from the gateway. */
export interface ExecToolOptions {
  /** The sandbox for a workspace (real path); the gateway may cache one per workspace. */
  sandboxFor: (workspace: string) => Promise<Sandbox>;
  /** Limits; `timeoutMs` is also the most a call may ask for. */
  limits: SandboxLimits;
  /**
   * Network for a run (`tools.execNetwork`): an egress proxy for the calling agent, closed
   * after the run. Absent: commands have no network. Only bubblewrap runs get it; in Docker
   * commands stay without network, on the host (no sandbox) nothing is limited anyway.
   */
  network?: (ctx: ToolContext) => Promise<{ egress: SandboxEgress; close(): Promise<void> }>;
}

/** Formats a result for the model: status line, then both streams, then truncation notes. */
export function formatExecResult(r: SandboxResult, limits: SandboxLimits): string {
  const where = r.sandbox === "host" ? "on the host, unsandboxed" : `${r.sandbox} sandbox`;
  const status = r.timedOut
    ? `killed after ${Math.round(limits.timeoutMs / 1000)} s (time limit)`
    : r.exitCode === null
    ? `killed by ${r.signal ?? "a signal"}`
    : `exit code ${r.exitCode}`;
  const parts = [`${status} (${where}, ${r.durationMs} ms)`];
  if (r.stdout) parts.push(`--- stdout ---\n${r.stdout}`);
  if (r.stderr) parts.push(`--- stderr ---\n${r.stderr}`);
  if (r.truncated) parts.push(`[output truncated to ${limits.maxOutputBytes} bytes per stream]`);
  return parts.join("\n");
}

/** Builds the `exec` tool. */
export function execTool(options: ExecToolOptions): Tool {
  const maxSeconds = Math.max(1, Math.floor(options.limits.timeoutMs / 1000));
  return defineTool({
    name: "exec",
    description: options.network
      ? "Run a shell command (sh -c) in the workspace, sandboxed; HTTP(S) only to the hosts on the egress allow-list, through a proxy (HTTP_PROXY is set). Returns exit code, stdout and stderr."
      : "Run a shell command (sh -c) in the workspace, sandboxed without network. Returns exit code, stdout and stderr.",
    tier: 2,
    inputSchema: z.strictObject({
      command: z.string().min(1).max(10_000).describe("The shell command."),
      cwd: z.string().min(1).max(4096).optional().describe(
        "Working folder relative to the workspace (default: the workspace root).",
      ),
      timeout_seconds: z.number().int().min(1).max(maxSeconds).optional().describe(
        `Time limit in seconds (default and maximum ${maxSeconds}).`,
      ),
    }),
    run: async (input, ctx) => {
      if (!ctx.workspace) {
        return { content: "This agent has no workspace; exec is off.", isError: true };
      }
      let cwd: string;
      let ws: Workspace;
      try {
        ws = await Workspace.open(ctx.workspace);
        const dir = await ws.resolve(input.cwd ?? ".", { mustExist: true });
        if (!(await Deno.stat(dir.abs)).isDirectory) {
          return { content: `${dir.rel} is not a folder.`, isError: true };
        }
        cwd = dir.abs;
      } catch (e) {
        if (e instanceof ConfinementError) {
          return { content: `Refused: ${e.message}`, isError: true };
        }
        throw e;
      }
      const sandbox = await options.sandboxFor(ws.root);
      const limits = {
        ...options.limits,
        timeoutMs: Math.min(options.limits.timeoutMs, (input.timeout_seconds ?? maxSeconds) * 1000),
      };
      const lease = options.network && sandbox.kind === "bwrap"
        ? await options.network(ctx)
        : undefined;
      let r: SandboxResult;
      try {
        r = await sandbox.run(
          { argv: ["sh", "-c", input.command], cwd, egress: lease?.egress },
          limits,
          ctx.signal,
        );
      } finally {
        await lease?.close();
      }
      return { content: formatExecResult(r, limits), isError: r.exitCode !== 0 };
    },
  }) as Tool;
}
