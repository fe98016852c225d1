/**
 * Per-run control groups for the process and memory limits.
 *
 * Why this exists next to rlimits: Linux never enforces `RLIMIT_NPROC` for uid 0 (the check in
 * `copy_process` exempts the root user outright), so a gateway running as root needs a cgroup
 * `pids.max` to stop a fork bomb. For a non-root gateway rlimits alone hold, and cgroups are
 * used only when the hierarchy is writable. cgroup v2 (unified) and v1 (`pids`, `memory`
 * controllers) are both handled.
 *
 * @module
 */
import { join } from "node:path";

const ROOT = "/sys/fs/cgroup";

/** A created group: the `cgroup.procs` files a child joins, and a cleanup. */
export interface RunCgroup {
  /** Files to which the wrapper writes its own pid before exec'ing the sandbox. */
  procsFiles: string[];
  /** Kills anything left inside and removes the group. */
  remove(): Promise<void>;
}

async function writable(dir: string): Promise<boolean> {
  try {
    const probe = join(dir, `wirken-probe-${crypto.randomUUID()}`);
    await Deno.mkdir(probe);
    await Deno.remove(probe);
    return true;
  } catch {
    return false;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

async function killAndRemove(dir: string): Promise<void> {
  for (let attempt = 0; attempt < 50; attempt++) {
    let pids: string[] = [];
    try {
      pids = (await Deno.readTextFile(join(dir, "cgroup.procs"))).split("\n").filter(Boolean);
    } catch {
      return;
    }
    for (const pid of pids) {
      try {
        Deno.kill(Number(pid), "SIGKILL");
      } catch { /* gone */ }
    }
    try {
      await Deno.remove(dir);
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

/** Which layout, probed once per process. */
let layout: Promise<"v2" | "v1" | "none"> | undefined;

async function probe(): Promise<"v2" | "v1" | "none"> {
  if (Deno.build.os !== "linux") return "none";
  const controllers = await Deno.readTextFile(join(ROOT, "cgroup.controllers")).catch(() => "");
  if (controllers.includes("pids") && (await writable(ROOT))) return "v2";
  if ((await exists(join(ROOT, "pids", "cgroup.procs"))) && (await writable(join(ROOT, "pids")))) {
    return "v1";
  }
  return "none";
}

/** True when per-run cgroups can be created here. */
export async function cgroupsAvailable(): Promise<boolean> {
  layout ??= probe();
  return (await layout) !== "none";
}

/**
 * Creates a group limiting processes and memory, or returns null when the hierarchy is not
 * writable (the caller then relies on rlimits alone).
 */
export async function createRunCgroup(
  limits: { maxProcesses: number; memoryBytes: number },
): Promise<RunCgroup | null> {
  layout ??= probe();
  const kind = await layout;
  const name = `wirken-${crypto.randomUUID()}`;
  try {
    if (kind === "v2") {
      const dir = join(ROOT, name);
      await Deno.mkdir(dir);
      await Deno.writeTextFile(join(dir, "pids.max"), String(limits.maxProcesses));
      await Deno.writeTextFile(join(dir, "memory.max"), String(limits.memoryBytes)).catch(() => {});
      return { procsFiles: [join(dir, "cgroup.procs")], remove: () => killAndRemove(dir) };
    }
    if (kind === "v1") {
      const pids = join(ROOT, "pids", name);
      await Deno.mkdir(pids);
      try {
        await Deno.writeTextFile(join(pids, "pids.max"), String(limits.maxProcesses));
      } catch {
        await Deno.remove(pids).catch(() => {});
        return null;
      }
      const dirs = [pids];
      // The memory group is a bonus (RLIMIT_DATA already caps memory); failing it is not fatal.
      const mem = join(ROOT, "memory", name);
      try {
        await Deno.mkdir(mem);
        dirs.push(mem);
        await Deno.writeTextFile(join(mem, "memory.limit_in_bytes"), String(limits.memoryBytes));
      } catch { /* keep the pids group alone */ }
      return {
        procsFiles: dirs.map((d) => join(d, "cgroup.procs")),
        remove: async () => {
          for (const d of dirs) await killAndRemove(d);
        },
      };
    }
  } catch {
    return null;
  }
  return null;
}

/**
 * Prefix that makes the child join the groups before exec'ing the rest of argv; a failed
 * join aborts with exit code 125 rather than running unlimited.
 */
export function joinCgroupArgv(procsFiles: readonly string[]): string[] {
  if (procsFiles.length === 0) return [];
  return [
    "sh",
    "-c",
    'n=$1; shift; while [ "$n" -gt 0 ]; do echo $$ > "$1" || exit 125; shift; n=$((n-1)); done; exec "$@"',
    "wirken-cgroup",
    String(procsFiles.length),
    ...procsFiles,
  ];
}
