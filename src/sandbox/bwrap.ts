/**
 * The bubblewrap backend (default on Linux when `bwrap` is installed).
 *
 * The child sees a minimal read-only system (`/usr`, `/etc` with secrets masked, the `/bin`
 * and `/lib` links), a fresh `/proc`, a minimal `/dev`, a fresh `/tmp`, and the workspace as
 * the only writable place. Home directories, the wirken data directory, `/run` (and so the
 * Docker socket) are simply not there. All namespaces are unshared (no network), capabilities
 * dropped, a new session (no TIOCSTI into our terminal), and the tree dies with us.
 *
 * Limits: `prlimit` sets RLIMIT_DATA (memory a bomb can touch; unlike RLIMIT_AS it does not
 * count the large PROT_NONE reservations V8 and the JVM make, so node/deno still start),
 * RLIMIT_NPROC and no core dumps. Because the kernel never enforces RLIMIT_NPROC for uid 0, a
 * per-run cgroup (`cgroup.ts`) adds `pids.max` and a memory cap when the hierarchy is writable.
 *
 * @module
 */
import { basename, dirname } from "node:path";
import { CGROUP_REFUSED_EXIT, CGROUP_REFUSED_MARKER, runCgroup } from "./cgroup.ts";
import { EGRESS_DIR, proxyEnv, relayArgv, relayProxyUrl } from "./egress_relay.ts";
import { onPath, runProcess, SAFE_PATH } from "./process.ts";
import type { Sandbox, SandboxCommand, SandboxLimits, SandboxResult } from "./types.ts";
import { SandboxError, workspaceCwd } from "./types.ts";

/** Files inside the bound `/etc` replaced by empty ones: a root gateway could read them. */
const MASKED_ETC = ["/etc/shadow", "/etc/gshadow", "/etc/shadow-", "/etc/gshadow-", "/etc/sudoers"];
/** Directories inside `/etc` hidden behind an empty tmpfs (host keys, sudo rules). */
const MASKED_ETC_DIRS = ["/etc/ssh", "/etc/sudoers.d", "/etc/ssl/private", "/etc/wirken"];
/** Top-level system paths; symlinks (merged /usr) are recreated as symlinks. */
const SYSTEM = ["/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"];

/** The relay's interpreter, from the bound `/usr` (see `egress_relay.ts`). */
const PERL = "/usr/bin/perl";

/** Options of {@linkcode BwrapSandbox}. */
export interface BwrapOptions {
  /** Real path of the workspace, bound read-write. */
  workspace: string;
  /** Extra host paths bound read-only (e.g. a toolchain under /opt). */
  readOnlyPaths?: readonly string[];
  /** The `bwrap` binary (default: found on PATH). */
  bwrapPath?: string;
  /** Use per-run cgroups when possible (default true). */
  cgroups?: boolean;
}

function lstatOrNull(path: string): Deno.FileInfo | null {
  try {
    return Deno.lstatSync(path);
  } catch {
    return null;
  }
}

/**
 * Builds bwrap's arguments (exported for tests and `wirken doctor`). Synchronous so the MCP
 * manager's command wrapper can use it (see {@linkcode bwrapWrapper}).
 */
export function bwrapArgs(
  workspace: string,
  command: SandboxCommand,
  readOnlyPaths: readonly string[] = [],
  shareNetwork = false,
  disableUserns = false,
): string[] {
  const args = [
    "--unshare-all",
    ...(shareNetwork ? ["--share-net"] : []),
    // No nested user namespaces inside the sandbox: they are a large kernel attack surface
    // (bwrap >= 0.8; needs its own user namespace, which maps our uid to itself).
    ...(disableUserns ? ["--unshare-user", "--disable-userns"] : []),
    "--die-with-parent",
    "--new-session",
    "--cap-drop",
    "ALL",
    "--clearenv",
    "--setenv",
    "PATH",
    SAFE_PATH,
    "--setenv",
    "HOME",
    workspace,
    "--setenv",
    "TMPDIR",
    "/tmp",
    "--setenv",
    "LANG",
    "C.UTF-8",
    "--ro-bind",
    "/usr",
    "/usr",
  ];
  for (const path of SYSTEM) {
    const info = lstatOrNull(path);
    if (!info) continue;
    if (info.isSymlink) args.push("--symlink", Deno.readLinkSync(path), path);
    else args.push("--ro-bind", path, path);
  }
  args.push("--ro-bind", "/etc", "/etc");
  for (const file of MASKED_ETC) {
    if (lstatOrNull(file)) args.push("--ro-bind", "/dev/null", file);
  }
  for (const dir of MASKED_ETC_DIRS) {
    if (lstatOrNull(dir)?.isDirectory) args.push("--tmpfs", dir);
  }
  for (const path of readOnlyPaths) args.push("--ro-bind", path, path);
  args.push("--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp");
  let argv = command.argv;
  if (command.egress) {
    if (shareNetwork) {
      throw new SandboxError("A sandbox sharing the host network cannot be limited to the proxy.", {
        fix: "Run it without shareNetwork.",
      });
    }
    if (!lstatOrNull(PERL)) {
      throw new SandboxError(
        `Network for sandboxed commands needs ${PERL} (the relay to the egress proxy).`,
        {
          fix: "Install perl-base (apt-get install perl-base), or leave exec without network.",
        },
      );
    }
    // Only the proxy's own folder, read-only: the socket can be connected to, nothing else.
    args.push("--ro-bind", dirname(command.egress.socket), EGRESS_DIR);
    const url = relayProxyUrl(command.egress.credentials);
    for (const [key, value] of Object.entries(proxyEnv(url))) args.push("--setenv", key, value);
    argv = relayArgv(PERL, basename(command.egress.socket), argv);
  }
  // The workspace last, so a workspace under /tmp is not hidden by the fresh /tmp.
  args.push("--bind", workspace, workspace, "--chdir", command.cwd ?? workspace);
  // bwrap builds the new root on a tmpfs; make it read-only so scaffolding dirs stay empty.
  args.push("--remount-ro", "/");
  for (const [key, value] of Object.entries(command.env ?? {})) args.push("--setenv", key, value);
  args.push("--", ...argv);
  return args;
}

const userns = new Map<string, Promise<boolean>>();

/** Whether this bwrap knows `--disable-userns` (0.8.0 and later); probed once per binary. */
export function supportsDisableUserns(bin: string): Promise<boolean> {
  let known = userns.get(bin);
  if (!known) {
    known = new Deno.Command(bin, {
      args: [
        "--unshare-all",
        "--unshare-user",
        "--disable-userns",
        "--ro-bind",
        "/",
        "/",
        "--",
        "true",
      ],
      stdout: "null",
      stderr: "null",
    }).output().then((o) => o.success, () => false);
    userns.set(bin, known);
  }
  return known;
}

function refusedAsRoot(why: string): SandboxError {
  return new SandboxError(`Cannot limit processes as root (${why}); the command was not run.`, {
    fix:
      "Run wirken as a normal user (recommended), give it a writable pids cgroup, or use the docker sandbox.",
  });
}

/** Runs commands under bubblewrap. */
export class BwrapSandbox implements Sandbox {
  /** Always `bwrap`. */
  readonly kind = "bwrap" as const;
  readonly #options: BwrapOptions;

  /** `options.workspace` must be a real (symlink-free) absolute path. */
  constructor(options: BwrapOptions) {
    this.#options = options;
  }

  /** True when `bwrap` is installed and can create namespaces here. */
  static async available(bwrapPath?: string): Promise<boolean> {
    const bin = bwrapPath ?? (await onPath("bwrap"));
    if (!bin || Deno.build.os !== "linux") return false;
    try {
      const out = await new Deno.Command(bin, {
        args: ["--unshare-all", "--ro-bind", "/", "/", "--", "true"],
        stdout: "null",
        stderr: "null",
      }).output();
      return out.success;
    } catch {
      return false;
    }
  }

  /** Runs `command` inside a fresh bubblewrap sandbox. */
  async run(
    command: SandboxCommand,
    limits: SandboxLimits,
    signal?: AbortSignal,
  ): Promise<SandboxResult> {
    const bin = this.#options.bwrapPath ?? (await onPath("bwrap"));
    if (!bin) {
      throw new SandboxError("bubblewrap (bwrap) is not installed.", {
        fix: "Install it (apt-get install bubblewrap) or set tools.sandbox to docker.",
      });
    }
    const cwd = workspaceCwd(this.#options.workspace, command.cwd);
    const prlimit = (await onPath("prlimit")) ?? "prlimit";
    const group = this.#options.cgroups === false ? null : runCgroup(limits);
    if (!group && Deno.uid() === 0) {
      // The kernel ignores RLIMIT_NPROC for root: without a pids cgroup a fork bomb would
      // reach the whole machine. Fail closed rather than run unlimited.
      throw refusedAsRoot("cgroups are turned off");
    }
    const argv = [
      ...(group?.prefix ?? []),
      prlimit,
      `--data=${limits.memoryBytes}`,
      `--nproc=${limits.maxProcesses}`,
      "--core=0",
      "--",
      bin,
      ...bwrapArgs(
        this.#options.workspace,
        { ...command, cwd },
        this.#options.readOnlyPaths,
        false,
        await supportsDisableUserns(bin),
      ),
    ];
    try {
      const result = await runProcess({
        argv,
        env: { PATH: SAFE_PATH },
        cwd: dirname(bin),
        stdin: command.stdin,
        limits,
        kind: "bwrap",
        signal,
      });
      if (
        result.exitCode === CGROUP_REFUSED_EXIT && result.stderr.startsWith(CGROUP_REFUSED_MARKER)
      ) {
        throw refusedAsRoot(result.stderr.slice(CGROUP_REFUSED_MARKER.length + 2).trim());
      }
      return result;
    } finally {
      await group?.remove();
    }
  }
}

/**
 * A command wrapper for long-running children (MCP servers with `sandbox: true`): the same
 * filesystem, namespace and capability rules as {@linkcode BwrapSandbox}, without the
 * per-command timeout. `shareNetwork` keeps the host network (an MCP server that calls an API
 * needs it; everything else stays confined). `bwrapPath` must be an absolute path; with
 * `prlimitPath` and `limits`, memory and process rlimits apply too (no per-run cgroup: the
 * child lives as long as the server).
 */
export function bwrapWrapper(options: {
  workspace: string;
  bwrapPath: string;
  shareNetwork?: boolean;
  readOnlyPaths?: readonly string[];
  prlimitPath?: string;
  limits?: Pick<SandboxLimits, "memoryBytes" | "maxProcesses">;
  /** Pass the result of {@linkcode supportsDisableUserns} (the wrapper itself is synchronous). */
  disableUserns?: boolean;
}): (argv: readonly string[]) => string[] {
  const rlimits = options.prlimitPath && options.limits
    ? [
      options.prlimitPath,
      `--data=${options.limits.memoryBytes}`,
      `--nproc=${options.limits.maxProcesses}`,
      "--core=0",
      "--",
    ]
    : [];
  return (argv) => [
    ...rlimits,
    options.bwrapPath,
    ...bwrapArgs(
      options.workspace,
      { argv },
      options.readOnlyPaths ?? [],
      options.shareNetwork ?? false,
      options.disableUserns ?? false,
    ),
  ];
}
