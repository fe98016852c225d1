/**
 * The Docker / Podman backend: one ephemeral container per command.
 *
 * `--network=none`, memory and swap capped (512 MiB by default), 256 PIDs, a non-root user,
 * read-only root filesystem, every capability dropped, `no-new-privileges`, a tmpfs `/tmp`,
 * and the workspace as the only bind mount, at the same path as on the host (so paths in
 * output mean the same thing). The gateway's environment is not passed in.
 *
 * Killing the `docker` client does not stop a container, so a timeout runs `docker kill`
 * on the container's unique name; `--rm` then removes it.
 *
 * @module
 */
import { onPath, runProcess, SAFE_PATH } from "./process.ts";
import type { Sandbox, SandboxCommand, SandboxLimits, SandboxResult } from "./types.ts";
import { SandboxError, workspaceCwd } from "./types.ts";

/** Options of {@linkcode DockerSandbox}. */
export interface DockerOptions {
  /** Real path of the workspace, bound read-write. */
  workspace: string;
  /** Image to run (must already be present or pullable). */
  image: string;
  /** `docker` (default) or `podman`, or a full path. */
  engine?: string;
  /** `uid:gid` inside the container; default the gateway's own ids, or 65534 when root. */
  user?: string;
  /** Extra engine arguments placed before the image (e.g. `--runtime runc` for podman). */
  extraArgs?: readonly string[];
}

/** Environment the engine client needs (socket location, config), nothing else. */
function clientEnv(): Record<string, string> {
  const env: Record<string, string> = { PATH: Deno.env.get("PATH") ?? SAFE_PATH };
  for (const key of ["HOME", "DOCKER_HOST", "DOCKER_CONTEXT", "DOCKER_CONFIG", "XDG_RUNTIME_DIR"]) {
    const value = Deno.env.get(key);
    if (value) env[key] = value;
  }
  return env;
}

function defaultUser(): string {
  const uid = Deno.uid();
  const gid = Deno.gid();
  // Never root inside: a root gateway's commands run as nobody (the workspace must allow it).
  if (uid === null || uid === 0) return "65534:65534";
  return `${uid}:${gid ?? uid}`;
}

/** The `run` arguments (exported for tests and `wirken doctor`). */
export function dockerRunArgs(
  o: DockerOptions,
  name: string,
  command: SandboxCommand,
  limits: SandboxLimits,
): string[] {
  const memory = String(limits.memoryBytes);
  const args = [
    "run",
    "--rm",
    "--interactive",
    "--name",
    name,
    "--network=none",
    `--memory=${memory}`,
    `--memory-swap=${memory}`,
    `--pids-limit=${limits.maxProcesses}`,
    `--user=${o.user ?? defaultUser()}`,
    "--read-only",
    "--cap-drop=ALL",
    "--security-opt=no-new-privileges",
    "--tmpfs=/tmp:rw,nosuid,nodev,size=67108864,mode=1777",
    "--ipc=none",
    "--pull=never",
    `--volume=${o.workspace}:${o.workspace}:rw`,
    `--workdir=${command.cwd ?? o.workspace}`,
    "--env",
    `PATH=${SAFE_PATH}`,
    "--env",
    `HOME=${o.workspace}`,
    "--env",
    "TMPDIR=/tmp",
  ];
  for (const [key, value] of Object.entries(command.env ?? {})) {
    args.push("--env", `${key}=${value}`);
  }
  args.push(...(o.extraArgs ?? []), "--", o.image, ...command.argv);
  return args;
}

/** Runs commands in throwaway containers. */
export class DockerSandbox implements Sandbox {
  /** Always `docker` (Podman included). */
  readonly kind = "docker" as const;
  readonly #o: DockerOptions;

  /** See {@linkcode DockerOptions}. */
  constructor(options: DockerOptions) {
    this.#o = options;
  }

  /** Why the engine is unusable, or null when a daemon answers within five seconds. */
  static async unavailableReason(engine = "docker"): Promise<string | null> {
    const bin = engine.includes("/") ? engine : await onPath(engine);
    if (!bin) return `${engine} is not installed`;
    const child = new Deno.Command(bin, {
      args: ["version", "--format", "{{.Server.Version}}"],
      env: clientEnv(),
      clearEnv: true,
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const timer = setTimeout(() => {
      try {
        child.kill("SIGKILL");
      } catch { /* gone */ }
    }, 5000);
    try {
      const out = await child.output();
      if (out.success) return null;
      const why = new TextDecoder().decode(out.stderr).trim().split("\n")[0];
      return `${engine} is installed but no engine answers (${why || "no reason given"})`;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Runs `command` in a new container. */
  async run(
    command: SandboxCommand,
    limits: SandboxLimits,
    signal?: AbortSignal,
  ): Promise<SandboxResult> {
    const engine = this.#o.engine ?? "docker";
    const bin = engine.includes("/") ? engine : await onPath(engine);
    if (!bin) {
      throw new SandboxError(`${engine} is not installed.`, {
        fix: "Install Docker or Podman, or set tools.sandbox to bwrap.",
      });
    }
    const cwd = workspaceCwd(this.#o.workspace, command.cwd);
    if (command.egress) {
      // Not built yet: the container keeps --network=none rather than getting a route out.
      throw new SandboxError("Network through the egress proxy is not supported in Docker yet.", {
        fix: "Use the bubblewrap sandbox for commands that need network, or leave it off.",
      });
    }
    const name = `wirken-${crypto.randomUUID()}`;
    const env = clientEnv();
    const result = await runProcess({
      argv: [bin, ...dockerRunArgs(this.#o, name, { ...command, cwd }, limits)],
      env,
      stdin: command.stdin,
      limits,
      kind: "docker",
      signal,
      onKill: async () => {
        await new Deno.Command(bin, {
          args: ["kill", name],
          env,
          clearEnv: true,
          stdout: "null",
          stderr: "null",
        }).output().catch(() => {});
      },
    });
    // 125 is the engine's own failure (bad image, daemon gone), not the command's exit code.
    if (result.exitCode === 125 && !result.timedOut) {
      throw new SandboxError(
        `The container could not start: ${result.stderr.trim().slice(0, 500)}`,
        {
          fix:
            `Check that the image ${this.#o.image} exists locally (docker images) and the engine runs.`,
        },
      );
    }
    return result;
  }
}
