/**
 * Fuel metering for Wasm modules, by rewriting them with binaryen.
 *
 * Deno's WebAssembly has no fuel, so the module is instrumented: every function entry and
 * every loop header decrements an imported i64 global (`wirken.fuel`) and hits `unreachable`
 * once it goes negative. Any unbounded computation must pass a loop header or a function
 * entry (recursion), so a runaway module traps after at most `fuel` such steps. The host can
 * tell a fuel trap from any other by reading the global after the trap.
 *
 * The memory is capped by rewriting the binary's memory section so its maximum is at most
 * the cap (a module that needs more initial pages than the cap is refused). Modules that
 * import a memory, use more than one, or use features outside a conservative set (GC,
 * exceptions, stack switching, strings, memory64, threads) are refused: the walker below only
 * knows the instructions of that set, and refusing is safer than skipping an unknown loop.
 *
 * binaryen is loaded lazily: nothing here runs at import time.
 *
 * @module
 */
import { SandboxError } from "../types.ts";

/** Module and field name of the fuel global every instrumented module imports. */
export const FUEL_IMPORT = { module: "wirken", name: "fuel" } as const;

/** Bytes of one Wasm page. */
export const WASM_PAGE = 65536;

type Binaryen = typeof import("binaryen").default;
type BModule = InstanceType<Binaryen["Module"]>;

let loaded: Promise<Binaryen> | undefined;

function loadBinaryen(): Promise<Binaryen> {
  loaded ??= import("binaryen").then((m) => m.default);
  return loaded;
}

function refuse(message: string): never {
  throw new SandboxError(`This Wasm module cannot run in the sandbox: ${message}`, {
    fix:
      "Build the module for wasm32-wasip1 without threads, GC or exceptions, and without filesystem or socket use.",
  });
}

/** Child fields holding expressions, per expression kind; a kind not listed is refused. */
function childFields(b: Binaryen): Map<number, readonly string[]> {
  return new Map<number, readonly string[]>([
    [b.BlockId, ["children"]],
    [b.IfId, ["condition", "ifTrue", "ifFalse"]],
    [b.LoopId, ["body"]],
    [b.BreakId, ["condition", "value"]],
    [b.SwitchId, ["condition", "value"]],
    [b.CallId, ["operands"]],
    [b.CallIndirectId, ["target", "operands"]],
    [b.LocalGetId, []],
    [b.LocalSetId, ["value"]],
    [b.GlobalGetId, []],
    [b.GlobalSetId, ["value"]],
    [b.LoadId, ["ptr"]],
    [b.StoreId, ["ptr", "value"]],
    [b.ConstId, []],
    [b.UnaryId, ["value"]],
    [b.BinaryId, ["left", "right"]],
    [b.SelectId, ["ifTrue", "ifFalse", "condition"]],
    [b.DropId, ["value"]],
    [b.ReturnId, ["value"]],
    [b.MemorySizeId, []],
    [b.MemoryGrowId, ["delta"]],
    [b.NopId, []],
    [b.UnreachableId, []],
    [b.SIMDExtractId, ["vec"]],
    [b.SIMDReplaceId, ["vec", "value"]],
    [b.SIMDShuffleId, ["left", "right"]],
    [b.SIMDTernaryId, ["a", "b", "c"]],
    [b.SIMDShiftId, ["vec", "shift"]],
    [b.SIMDLoadId, ["ptr"]],
    [b.SIMDLoadStoreLaneId, ["ptr", "vec"]],
    [b.MemoryInitId, ["dest", "offset", "size"]],
    [b.DataDropId, []],
    [b.MemoryCopyId, ["dest", "source", "size"]],
    [b.MemoryFillId, ["dest", "value", "size"]],
    [b.RefNullId, []],
    [b.RefIsNullId, ["value"]],
    [b.RefFuncId, []],
    [b.RefEqId, ["left", "right"]],
    [b.TableGetId, ["index"]],
    [b.TableSetId, ["index", "value"]],
    [b.TableSizeId, []],
    [b.TableGrowId, ["value", "delta"]],
    [b.TupleMakeId, ["operands"]],
    [b.TupleExtractId, ["tuple"]],
  ]);
}

/** The features a module may use; anything else fails to parse and is refused. */
function allowedFeatures(b: Binaryen): number {
  const f = b.Features;
  return f.MutableGlobals | f.NontrappingFPToInt | f.SIMD128 | f.BulkMemory | f.SignExt |
    f.TailCall | f.ReferenceTypes | f.Multivalue | f.ExtendedConst | f.BulkMemoryOpt |
    f.CallIndirectOverlong;
}

/** Setters binaryen.js has at runtime but its typings omit. */
interface BodySetter {
  setBody(ref: number, body: number): void;
}

/**
 * Instruments `wasm` with fuel checks and returns the new binary. Throws
 * {@linkcode SandboxError} for modules it will not run.
 */
export async function instrumentFuel(
  input: Uint8Array,
  maxMemoryBytes: number,
): Promise<Uint8Array> {
  const wasm = new Uint8Array(input); // an ArrayBuffer-backed copy the WebAssembly API accepts
  if (!WebAssembly.validate(wasm)) refuse("it is not a valid WebAssembly binary.");
  // Imports are checked before binaryen sees the module (cheap, and the error is clearer).
  const probe = new WebAssembly.Module(wasm);
  for (const imp of WebAssembly.Module.imports(probe)) {
    if (imp.module === FUEL_IMPORT.module) {
      refuse(`it imports from the reserved module "${imp.module}".`);
    }
    if (imp.kind === "memory") refuse("it imports its memory; modules must define their own.");
  }
  const b = await loadBinaryen();
  let mod: BModule;
  try {
    // binaryen.js takes the feature set as readBinary's second argument (its typings say
    // readBinaryWithFeatures, which does not exist at runtime).
    const read = b.readBinary as unknown as (data: Uint8Array, features: number) => BModule;
    mod = read(wasm, allowedFeatures(b));
  } catch (e) {
    refuse(`binaryen could not read it (${(e as Error).message}).`);
  }
  try {
    if (!mod.validate()) refuse("it uses features outside the supported set.");
    const fuel = "__wirken_fuel";
    mod.addGlobalImport(fuel, FUEL_IMPORT.module, FUEL_IMPORT.name, b.i64, true);
    // binaryen 132 takes one bigint here; its typings still describe (low, high).
    const i64 = (v: bigint) => (mod.i64.const as unknown as (value: bigint) => number)(v);
    const check = () =>
      mod.block(null, [
        mod.global.set(fuel, mod.i64.sub(mod.global.get(fuel, b.i64), i64(1n))),
        mod.if(mod.i64.lt_s(mod.global.get(fuel, b.i64), i64(0n)), mod.unreachable()),
      ], b.none);
    const fields = childFields(b);
    const api = b as unknown as { Loop: BodySetter; Function: BodySetter };
    const visit = (root: number) => {
      const stack = [root];
      while (stack.length > 0) {
        const expr = stack.pop()!;
        if (!expr) continue;
        const id = b.getExpressionId(expr);
        const names = fields.get(id);
        if (names === undefined) {
          refuse(`it uses an instruction the fuel meter does not know (id ${id}).`);
        }
        // Leaves are skipped before getExpressionInfo, which throws for some (unreachable).
        if (names.length === 0) continue;
        const info = b.getExpressionInfo(expr) as unknown as Record<string, unknown>;
        for (const name of names) {
          const child = info[name];
          if (Array.isArray(child)) stack.push(...(child as number[]));
          else if (typeof child === "number" && child !== 0) stack.push(child);
        }
        if (id === b.LoopId) {
          const body = info.body as number;
          api.Loop.setBody(expr, mod.block(null, [check(), body], b.auto));
        }
      }
    };
    for (let i = 0; i < mod.getNumFunctions(); i++) {
      const fn = mod.getFunctionByIndex(i);
      const info = b.getFunctionInfo(fn);
      if (info.module || !info.body) continue; // an import: no body to meter
      visit(info.body);
      api.Function.setBody(fn, mod.block(null, [check(), info.body], b.auto));
    }
    if (!mod.validate()) refuse("instrumentation produced an invalid module (please report this).");
    return capMemory(mod.emitBinary(), Math.floor(maxMemoryBytes / WASM_PAGE));
  } finally {
    mod.dispose();
  }
}

function readLeb(bytes: Uint8Array, at: number): { value: number; next: number } {
  let value = 0;
  let shift = 0;
  let pos = at;
  while (true) {
    const byte = bytes[pos++];
    if (byte === undefined) refuse("its binary is truncated.");
    value += (byte & 0x7f) * 2 ** shift;
    if ((byte & 0x80) === 0) break;
    shift += 7;
    if (shift > 35) refuse("its binary has an oversized number.");
  }
  return { value, next: pos };
}

function leb(value: number): number[] {
  const out: number[] = [];
  let v = value;
  do {
    let byte = v & 0x7f;
    v = Math.floor(v / 128);
    if (v !== 0) byte |= 0x80;
    out.push(byte);
  } while (v !== 0);
  return out;
}

/**
 * Rewrites the memory section so the (single) memory's maximum is at most `maxPages`.
 * Exported for tests.
 */
export function capMemory(wasm: Uint8Array, maxPages: number): Uint8Array {
  const parts: Uint8Array[] = [wasm.subarray(0, 8)];
  let pos = 8;
  while (pos < wasm.length) {
    const id = wasm[pos];
    const size = readLeb(wasm, pos + 1);
    const start = size.next;
    const end = start + size.value;
    if (id !== 5) {
      parts.push(wasm.subarray(pos, end));
      pos = end;
      continue;
    }
    const count = readLeb(wasm, start);
    if (count.value > 1) refuse("it defines more than one memory.");
    const body: number[] = [...leb(count.value)];
    if (count.value === 1) {
      const flags = wasm[count.next];
      if (flags !== 0 && flags !== 1) refuse("its memory is shared or 64-bit.");
      const min = readLeb(wasm, count.next + 1);
      let max = maxPages;
      if (flags === 1) max = Math.min(readLeb(wasm, min.next).value, maxPages);
      if (min.value > maxPages) {
        refuse(`it needs ${min.value} pages of memory at start; the cap is ${maxPages}.`);
      }
      body.push(1, ...leb(min.value), ...leb(max));
    }
    parts.push(new Uint8Array([5, ...leb(body.length), ...body]));
    pos = end;
  }
  const total = parts.reduce((n, p) => n + p.length, 0);
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
