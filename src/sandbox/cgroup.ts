/**
 * Per-run control groups for the process and memory limits.
 *
 * Why this exists next to rlimits: Linux never enforces `RLIMIT_NPROC` for uid 0 (the check in
 * `copy_process` exempts the root user outright), so a gateway running as root needs a cgroup
 * `pids.max` to stop a fork bomb. For a non-root gateway rlimits alone hold, and cgroups are
 * used only when the hierarchy is writable. cgroup v2 (unified) and v1 (`pids`, `memory`
 * controllers) are both handled.
 *
 * The work is done by a small shell prefix in the child, not by Deno: Deno 2 refuses writes
 * under `/sys` unless the whole process runs with `--allow-all`, which the gateway does not.
 * The prefix creates the group, joins it and execs the sandbox; as root without any writable
 * pids controller it refuses to run (exit 125 with a marker on stderr): fail closed.
 *
 * @module
 */

/** Exit code of the prefix when it refuses to run. */
export const CGROUP_REFUSED_EXIT = 125;

/** Marker the prefix prints on stderr when it refuses. */
export const CGROUP_REFUSED_MARKER = "wirken-sandbox: cannot limit processes";

const SETUP = `
g=$1; max=$2; mem=$3; shift 3
R=/sys/fs/cgroup
refuse() { echo "${CGROUP_REFUSED_MARKER}: $1" >&2; exit ${CGROUP_REFUSED_EXIT}; }
if [ -f "$R/cgroup.controllers" ] && grep -qw pids "$R/cgroup.controllers" 2>/dev/null && [ -w "$R/cgroup.subtree_control" ]; then
  echo +pids > "$R/cgroup.subtree_control" 2>/dev/null
  echo +memory > "$R/cgroup.subtree_control" 2>/dev/null
  mkdir "$R/$g" 2>/dev/null && echo "$max" > "$R/$g/pids.max" && echo $$ > "$R/$g/cgroup.procs" \\
    || { [ "$(id -u)" = 0 ] && refuse "cgroup v2 pids group could not be set up"; }
  echo "$mem" > "$R/$g/memory.max" 2>/dev/null
elif [ -d "$R/pids" ] && [ -w "$R/pids" ]; then
  mkdir "$R/pids/$g" 2>/dev/null && echo "$max" > "$R/pids/$g/pids.max" && echo $$ > "$R/pids/$g/cgroup.procs" \\
    || { [ "$(id -u)" = 0 ] && refuse "cgroup v1 pids group could not be set up"; }
  if mkdir "$R/memory/$g" 2>/dev/null; then
    echo "$mem" > "$R/memory/$g/memory.limit_in_bytes" 2>/dev/null
    echo $$ > "$R/memory/$g/cgroup.procs" 2>/dev/null
  fi
elif [ "$(id -u)" = 0 ]; then
  refuse "running as root and no writable pids cgroup exists"
fi
exec "$@"
`;

const CLEANUP = `
g=$1
for d in /sys/fs/cgroup/$g /sys/fs/cgroup/pids/$g /sys/fs/cgroup/memory/$g; do
  [ -d "$d" ] || continue
  i=0
  while [ $i -lt 50 ]; do
    for p in $(cat "$d/cgroup.procs" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
    rmdir "$d" 2>/dev/null && break
    sleep 0.02
    i=$((i+1))
  done
done
`;

/** A per-run group: the argv prefix that sets it up, and the cleanup. */
export interface RunCgroup {
  /** Put in front of the command's argv. */
  prefix: string[];
  /** Kills anything left inside and removes the group. */
  remove(): Promise<void>;
}

/** A fresh group for one run (nothing is created until the prefix runs). */
export function runCgroup(limits: { maxProcesses: number; memoryBytes: number }): RunCgroup {
  const name = `wirken-${crypto.randomUUID()}`;
  return {
    prefix: [
      "sh",
      "-c",
      SETUP,
      "wirken-cgroup",
      name,
      String(limits.maxProcesses),
      String(limits.memoryBytes),
    ],
    remove: async () => {
      await new Deno.Command("sh", {
        args: ["-c", CLEANUP, "wirken-cgroup-cleanup", name],
        stdout: "null",
        stderr: "null",
      }).output().catch(() => {});
    },
  };
}
