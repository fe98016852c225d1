/**
 * Worker entry that runs one instrumented Wasm module. It is started with
 * `deno: { permissions: "none" }`, so even a bug in the WASI shim cannot reach files, network
 * or environment; the parent also terminates it at the wall-clock timeout.
 *
 * @module
 */
import { FUEL_IMPORT } from "./fuel.ts";
import { CappedOutput, checkImports, WASI_MODULE, WasiExit, wasiImports } from "./wasi.ts";

/** What the parent sends. */
export interface WasmJob {
  wasm: Uint8Array;
  args: string[];
  stdin: Uint8Array;
  fuel: string;
  maxOutputBytes: number;
}

/** What the worker answers. */
export interface WasmOutcome {
  kind: "exit" | "fuel" | "trap" | "refused";
  exitCode: number | null;
  stdout: string;
  stderr: string;
  truncated: boolean;
  message?: string;
}

interface WorkerScope {
  onmessage: ((event: MessageEvent<WasmJob>) => void) | null;
  postMessage(message: WasmOutcome): void;
}

const scope = globalThis as unknown as WorkerScope;

function run(job: WasmJob): WasmOutcome {
  const stdout = new CappedOutput(job.maxOutputBytes);
  const stderr = new CappedOutput(job.maxOutputBytes);
  const done = (kind: WasmOutcome["kind"], exitCode: number | null, message?: string) => ({
    kind,
    exitCode,
    stdout: stdout.text(),
    stderr: stderr.text(),
    truncated: stdout.truncated || stderr.truncated,
    message,
  });
  const module = new WebAssembly.Module(new Uint8Array(job.wasm));
  const bad = checkImports(module);
  if (bad) return done("refused", null, `it imports ${bad}, which the sandbox does not provide`);
  const fuel = new WebAssembly.Global({ value: "i64", mutable: true }, BigInt(job.fuel));
  let memory: WebAssembly.Memory | undefined;
  const wasi = wasiImports({ args: job.args, stdin: job.stdin, stdout, stderr }, () => {
    if (!memory) throw new Error("the module has no exported memory");
    return memory;
  });
  try {
    const instance = new WebAssembly.Instance(module, {
      [WASI_MODULE]: wasi,
      [FUEL_IMPORT.module]: { [FUEL_IMPORT.name]: fuel },
    });
    const exports = instance.exports as Record<string, unknown>;
    if (exports.memory instanceof WebAssembly.Memory) memory = exports.memory;
    const start = exports._start;
    if (typeof start !== "function") {
      return done("refused", null, "it exports no _start function (build it as a WASI command)");
    }
    (start as () => void)();
    return done("exit", 0);
  } catch (e) {
    if (e instanceof WasiExit) return done("exit", e.code);
    if ((fuel.value as bigint) < 0n) return done("fuel", null, "it ran out of fuel");
    return done("trap", null, e instanceof Error ? e.message : String(e));
  }
}

scope.onmessage = (event) => {
  let outcome: WasmOutcome;
  try {
    outcome = run(event.data);
  } catch (e) {
    outcome = {
      kind: "refused",
      exitCode: null,
      stdout: "",
      stderr: "",
      truncated: false,
      message: e instanceof Error ? e.message : String(e),
    };
  }
  scope.postMessage(outcome);
};
