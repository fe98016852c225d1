/**
 * The Wasm sandbox: WASI preview 1 without filesystem or sockets, JSON (or any bytes) on
 * stdin, output on stdout, fuel metering, a memory cap, and a wall-clock limit.
 *
 * Three independent stops for a runaway module: fuel (instrumented by binaryen, see
 * `fuel.ts`), the wall-clock timeout (the worker is terminated), and the memory cap in the
 * rewritten memory section. The module runs in a Worker with no Deno permissions at all.
 *
 * @module
 */
import { z } from "zod";
import { instrumentFuel } from "./fuel.ts";
import { checkImports } from "./wasi.ts";
import type { WasmJob } from "./worker.ts";
import type { Sandbox, SandboxCommand, SandboxLimits, SandboxResult } from "../types.ts";
import { SandboxError } from "../types.ts";

/** Default fuel: about a second of tight looping on a current CPU. */
export const DEFAULT_FUEL = 1_000_000_000n;

const Outcome = z.object({
  kind: z.enum(["exit", "fuel", "trap", "refused"]),
  exitCode: z.number().int().nullable(),
  stdout: z.string(),
  stderr: z.string(),
  truncated: z.boolean(),
  message: z.string().optional(),
});

/** Options of {@linkcode WasmSandbox}. */
export interface WasmSandboxOptions {
  /** Fuel per run (loop iterations plus function calls). */
  fuel?: bigint;
  /** Folders `.wasm` files may be loaded from by {@linkcode WasmSandbox.run} (e.g. skills). */
  moduleDirs?: readonly string[];
}

function refused(message: string): SandboxError {
  return new SandboxError(`This Wasm module cannot run in the sandbox: ${message}.`, {
    fix: "Build it as a WASI (preview 1) command that uses only stdin, stdout and stderr.",
  });
}

/** Runs Wasm modules. */
export class WasmSandbox implements Sandbox {
  /** Always `wasm`. */
  readonly kind = "wasm" as const;
  readonly #fuel: bigint;
  readonly #dirs: readonly string[];

  /** See {@linkcode WasmSandboxOptions}. */
  constructor(options: WasmSandboxOptions = {}) {
    this.#fuel = options.fuel ?? DEFAULT_FUEL;
    this.#dirs = options.moduleDirs ?? [];
  }

  /**
   * `argv[0]` is the path of a `.wasm` file inside one of `moduleDirs`; the rest are its
   * arguments; `stdin` is its input.
   */
  async run(
    command: SandboxCommand,
    limits: SandboxLimits,
    signal?: AbortSignal,
  ): Promise<SandboxResult> {
    const path = command.argv[0] ?? "";
    const real = await Deno.realPath(path).catch(() => "");
    if (!real.endsWith(".wasm") || !this.#dirs.some((d) => real.startsWith(d + "/"))) {
      throw new SandboxError(`${path} is not a Wasm module in an allowed folder.`, {
        fix: "Install the module as a skill; only those folders are loaded.",
      });
    }
    const wasm = await Deno.readFile(real);
    return await this.runModule(
      wasm,
      { args: [...command.argv], stdin: command.stdin },
      limits,
      signal,
    );
  }

  /** Runs module bytes directly (Wasm tools and skills call this). */
  async runModule(
    wasm: Uint8Array,
    io: { args?: readonly string[]; stdin?: Uint8Array },
    limits: SandboxLimits,
    signal?: AbortSignal,
  ): Promise<SandboxResult> {
    const started = performance.now();
    let module: WebAssembly.Module;
    try {
      module = new WebAssembly.Module(new Uint8Array(wasm));
    } catch (e) {
      throw refused(`it is not valid WebAssembly (${(e as Error).message})`);
    }
    const bad = checkImports(module);
    if (bad) {
      throw refused(`it imports ${bad}, which the sandbox does not provide (no files, no sockets)`);
    }
    const instrumented = await instrumentFuel(wasm, limits.memoryBytes);
    const worker = new Worker(new URL("./worker.ts", import.meta.url).href, {
      type: "module",
      // Deno's worker permissions need --unstable-worker-options; "none" denies everything.
      deno: { permissions: "none" },
    } as WorkerOptions);
    const job: WasmJob = {
      wasm: instrumented,
      args: [...(io.args ?? ["module.wasm"])],
      stdin: io.stdin ?? new Uint8Array(),
      fuel: this.#fuel.toString(),
      maxOutputBytes: limits.maxOutputBytes,
    };
    let timedOut = false;
    try {
      const outcome = await new Promise<z.infer<typeof Outcome>>((resolve, reject) => {
        const stop = (why: "timeout" | "abort") => {
          timedOut = why === "timeout";
          worker.terminate();
          resolve({
            kind: "trap",
            exitCode: null,
            stdout: "",
            stderr: "",
            truncated: false,
            message: why,
          });
        };
        const timer = setTimeout(() => stop("timeout"), limits.timeoutMs);
        const onAbort = () => stop("abort");
        signal?.addEventListener("abort", onAbort, { once: true });
        worker.onmessage = (event) => {
          clearTimeout(timer);
          signal?.removeEventListener("abort", onAbort);
          const parsed = Outcome.safeParse(event.data);
          if (parsed.success) resolve(parsed.data);
          else reject(new SandboxError("The Wasm worker sent an unreadable answer."));
        };
        worker.onerror = (event) => {
          clearTimeout(timer);
          event.preventDefault();
          reject(new SandboxError(`The Wasm worker failed: ${event.message}`));
        };
        worker.postMessage(job);
      });
      if (outcome.kind === "refused") throw refused(outcome.message ?? "refused");
      const note = outcome.kind === "fuel"
        ? "\n[wasm: stopped, out of fuel]"
        : outcome.kind === "trap"
        ? `\n[wasm: trapped: ${timedOut ? "wall-clock timeout" : outcome.message}]`
        : "";
      return {
        exitCode: outcome.exitCode,
        signal: outcome.kind === "exit" ? null : outcome.kind === "fuel" ? "FUEL" : "TRAP",
        stdout: outcome.stdout,
        stderr: outcome.stderr + note,
        truncated: outcome.truncated,
        timedOut,
        durationMs: Math.round(performance.now() - started),
        sandbox: "wasm",
      };
    } finally {
      worker.terminate();
    }
  }
}
