/**
 * Spawning one child with a wall-clock limit and capped output: shared by the bwrap, docker
 * and host backends so the timeout and truncation rules exist once.
 *
 * @module
 */
import type { SandboxKind, SandboxLimits, SandboxResult } from "./types.ts";
import { SandboxError } from "./types.ts";

/** Output past the cap is read and dropped up to this much, then the command is killed. */
export const DRAIN_LIMIT_BYTES = 16 * 1024 * 1024;

/** Minimal PATH for sandboxed children (the gateway's environment never leaks in). */
export const SAFE_PATH = "/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin";

/** Options of {@linkcode runProcess}. */
export interface ProcessOptions {
  /** Full argv; `argv[0]` is looked up on `PATH`. */
  argv: readonly string[];
  /** Environment of the child; nothing else is inherited. */
  env: Record<string, string>;
  cwd?: string;
  stdin?: Uint8Array;
  limits: SandboxLimits;
  kind: SandboxKind;
  signal?: AbortSignal;
  /** Extra kill step (e.g. `docker kill <name>`), run on timeout, abort or output flood. */
  onKill?: () => Promise<void>;
  /** Kills the process group instead of only the child (host runs started under `setsid`). */
  killGroup?: boolean;
}

interface Capture {
  bytes: Uint8Array;
  truncated: boolean;
}

async function capture(
  stream: ReadableStream<Uint8Array>,
  cap: number,
  onFlood: () => void,
): Promise<Capture> {
  const kept = new Uint8Array(cap);
  let length = 0;
  let dropped = 0;
  for await (const chunk of stream) {
    const room = cap - length;
    if (room > 0) {
      const take = Math.min(room, chunk.length);
      kept.set(chunk.subarray(0, take), length);
      length += take;
      dropped += chunk.length - take;
    } else {
      dropped += chunk.length;
    }
    // Keep draining so the child never blocks on a full pipe, but not forever (`yes`).
    if (dropped > DRAIN_LIMIT_BYTES) onFlood();
  }
  return { bytes: kept.slice(0, length), truncated: dropped > 0 };
}

const decoder = new TextDecoder();

/** Runs a child to completion under the limits; kills it (and with `onKill`, its tree) on timeout. */
export async function runProcess(options: ProcessOptions): Promise<SandboxResult> {
  const started = performance.now();
  const [program, ...args] = options.argv;
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(program, {
      args,
      env: options.env,
      clearEnv: true,
      cwd: options.cwd,
      stdin: options.stdin ? "piped" : "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  } catch (e) {
    throw new SandboxError(`Cannot start ${program}: ${(e as Error).message}`, {
      fix: `Install ${program} or choose another sandbox in config (tools.sandbox).`,
      cause: e,
    });
  }
  let timedOut = false;
  let killed = false;
  const kill = () => {
    if (killed) return;
    killed = true;
    try {
      if (options.killGroup) Deno.kill(-child.pid, "SIGKILL");
      else child.kill("SIGKILL");
    } catch { /* already gone */ }
    options.onKill?.().catch(() => {});
  };
  const timer = setTimeout(() => {
    timedOut = true;
    kill();
  }, options.limits.timeoutMs);
  const onAbort = () => kill();
  options.signal?.addEventListener("abort", onAbort, { once: true });
  if (options.signal?.aborted) kill();
  try {
    if (options.stdin && child.stdin) {
      const writer = child.stdin.getWriter();
      // A child that never reads must not hang us: write errors (EPIPE) are ignored.
      writer.write(options.stdin).then(() => writer.close()).catch(() => {});
    }
    const [out, err, status] = await Promise.all([
      capture(child.stdout, options.limits.maxOutputBytes, kill),
      capture(child.stderr, options.limits.maxOutputBytes, kill),
      child.status,
    ]);
    return {
      exitCode: status.signal ? null : status.code,
      signal: status.signal ?? null,
      stdout: decoder.decode(out.bytes),
      stderr: decoder.decode(err.bytes),
      truncated: out.truncated || err.truncated,
      timedOut,
      durationMs: Math.round(performance.now() - started),
      sandbox: options.kind,
    };
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener("abort", onAbort);
    if (killed && options.killGroup) {
      try {
        Deno.kill(-child.pid, "SIGKILL");
      } catch { /* group gone */ }
    }
  }
}

/** True when `name` is an executable on `PATH`. */
export async function onPath(name: string): Promise<string | null> {
  for (const dir of (Deno.env.get("PATH") ?? SAFE_PATH).split(":")) {
    if (!dir) continue;
    const full = `${dir}/${name}`;
    try {
      const info = await Deno.stat(full);
      if (info.isFile && info.mode !== null && (info.mode & 0o111) !== 0) return full;
    } catch { /* not here */ }
  }
  return null;
}
