/**
 * The Wasm sandbox against real modules written in WAT and assembled with binaryen: echo of
 * JSON stdin, fuel against infinite loops and tail recursion, the wall clock, the memory cap,
 * output caps, and modules importing filesystem or socket functions (refused before running).
 */
import binaryen from "binaryen";
import { capMemory, instrumentFuel } from "../../src/sandbox/wasm/fuel.ts";
import { WasmSandbox } from "../../src/sandbox/wasm/sandbox.ts";
import { DEFAULT_LIMITS, SandboxError, type SandboxLimits } from "../../src/sandbox/types.ts";
import { assert, assertEquals, assertRejects, assertStringIncludes } from "../assert.ts";

const LIMITS: SandboxLimits = { ...DEFAULT_LIMITS, timeoutMs: 10_000 };

function wat(text: string): Uint8Array {
  const m = binaryen.parseText(text);
  try {
    m.setFeatures(
      binaryen.Features.MVP | binaryen.Features.TailCall | binaryen.Features.BulkMemory,
    );
    assert(m.validate(), "test module must validate");
    return m.emitBinary();
  } finally {
    m.dispose();
  }
}

const WASI_IMPORTS = `
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
`;

/** Reads stdin (up to 1000 bytes) and writes `got:` + it to stdout, then exits 7. */
const ECHO = wat(`(module ${WASI_IMPORTS}
  (memory (export "memory") 1)
  (data (i32.const 2000) "got:")
  (func (export "_start")
    ;; iovec at 0: buffer 1000, length 1000
    (i32.store (i32.const 0) (i32.const 1000))
    (i32.store (i32.const 4) (i32.const 1000))
    (drop (call $fd_read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 100)))
    ;; iovecs at 16: "got:" then the bytes read
    (i32.store (i32.const 16) (i32.const 2000))
    (i32.store (i32.const 20) (i32.const 4))
    (i32.store (i32.const 24) (i32.const 1000))
    (i32.store (i32.const 28) (i32.load (i32.const 100)))
    (drop (call $fd_write (i32.const 1) (i32.const 16) (i32.const 2) (i32.const 104)))
    (call $proc_exit (i32.const 7))))`);

const LOOP_FOREVER = wat(`(module
  (memory (export "memory") 1)
  (func (export "_start") (loop $l (br $l))))`);

const TAIL_RECURSION = wat(`(module
  (memory (export "memory") 1)
  (func $spin (return_call $spin))
  (func (export "_start") (call $spin)))`);

/** Writes one byte per iteration forever (fuel ends it). */
const CHATTY = wat(`(module ${WASI_IMPORTS}
  (memory (export "memory") 1)
  (data (i32.const 100) "x")
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 100))
    (i32.store (i32.const 4) (i32.const 1))
    (loop $l
      (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
      (br $l))))`);

/** Tries to grow memory by 1000 pages (64 MiB): exits 3 when refused, 0 when granted. */
const GROW = wat(`(module ${WASI_IMPORTS}
  (memory (export "memory") 1)
  (func (export "_start")
    (if (i32.eq (memory.grow (i32.const 1000)) (i32.const -1))
      (then (call $proc_exit (i32.const 3)))
      (else (call $proc_exit (i32.const 0))))))`);

function importing(module: string, name: string): Uint8Array {
  return wat(`(module
    (import "${module}" "${name}" (func $f (param i32 i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
    (memory (export "memory") 1)
    (func (export "_start") (drop (call $f (i32.const 0) (i32.const 0) (i32.const 0)
      (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0)))))`);
}

Deno.test("wasm: JSON on stdin, output on stdout, exit code", async () => {
  const sb = new WasmSandbox();
  const r = await sb.runModule(ECHO, { stdin: new TextEncoder().encode('{"q":1}') }, LIMITS);
  assertEquals(r.stdout, 'got:{"q":1}');
  assertEquals(r.exitCode, 7);
  assertEquals(r.sandbox, "wasm");
  assertEquals(r.timedOut, false);
});

Deno.test("wasm: an infinite loop traps on fuel", async () => {
  const sb = new WasmSandbox({ fuel: 10_000_000n });
  const started = performance.now();
  const r = await sb.runModule(LOOP_FOREVER, {}, LIMITS);
  assertEquals(r.signal, "FUEL");
  assertEquals(r.exitCode, null);
  assertEquals(r.timedOut, false);
  assertStringIncludes(r.stderr, "out of fuel");
  assert(performance.now() - started < 5000);
});

Deno.test("wasm: endless tail recursion (no loop at all) traps on fuel", async () => {
  const sb = new WasmSandbox({ fuel: 5_000_000n });
  const r = await sb.runModule(TAIL_RECURSION, {}, LIMITS);
  assertEquals(r.signal, "FUEL");
});

Deno.test("wasm: the wall clock stops a module with plenty of fuel", async () => {
  const sb = new WasmSandbox({ fuel: 10n ** 15n });
  const started = performance.now();
  const r = await sb.runModule(LOOP_FOREVER, {}, { ...LIMITS, timeoutMs: 500 });
  assertEquals(r.timedOut, true);
  assert(performance.now() - started < 5000);
});

Deno.test("wasm: output is capped and marked truncated", async () => {
  const sb = new WasmSandbox({ fuel: 200_000n });
  const r = await sb.runModule(CHATTY, {}, { ...LIMITS, maxOutputBytes: 100 });
  assertEquals(r.stdout, "x".repeat(100));
  assertEquals(r.truncated, true);
  assertEquals(r.signal, "FUEL");
});

Deno.test("wasm: memory is capped", async () => {
  const sb = new WasmSandbox();
  const small = await sb.runModule(GROW, {}, { ...LIMITS, memoryBytes: 16 * 1024 * 1024 });
  assertEquals(small.exitCode, 3, "growing past the cap is refused");
  const large = await sb.runModule(GROW, {}, { ...LIMITS, memoryBytes: 128 * 1024 * 1024 });
  assertEquals(large.exitCode, 0, "within the cap it works");
  const huge = wat(`(module (memory (export "memory") 5000) (func (export "_start")))`);
  await assertRejects(
    () => sb.runModule(huge, {}, { ...LIMITS, memoryBytes: 16 * 1024 * 1024 }),
    SandboxError,
    "pages of memory at start",
  );
});

Deno.test("wasm: modules importing filesystem or socket functions are refused before running", async () => {
  const sb = new WasmSandbox();
  for (
    const [module, name] of [
      ["wasi_snapshot_preview1", "path_open"],
      ["wasi_snapshot_preview1", "fd_readdir"],
      ["wasi_snapshot_preview1", "path_unlink_file"],
      ["wasi_snapshot_preview1", "sock_accept"],
      ["wasi_snapshot_preview1", "sock_recv"],
      ["wasi_snapshot_preview1", "sock_send"],
      ["wasi_unstable", "path_open"],
      ["env", "system"],
    ]
  ) {
    const e = await assertRejects(
      () => sb.runModule(importing(module, name), {}, LIMITS),
      SandboxError,
    );
    assertStringIncludes(e.message, name);
  }
  // The fuel global's own namespace cannot be imported by a module to forge fuel.
  await assertRejects(() => sb.runModule(importing("wirken", "x"), {}, LIMITS), SandboxError);
});

Deno.test("wasm: garbage and imported memories are refused", async () => {
  const sb = new WasmSandbox();
  await assertRejects(
    () => sb.runModule(new TextEncoder().encode("not wasm"), {}, LIMITS),
    SandboxError,
  );
  const importsMemory = wat(`(module (import "env" "memory" (memory 1)) (func (export "_start")))`);
  await assertRejects(() => instrumentFuel(importsMemory, 1 << 24), SandboxError);
});

Deno.test("wasm: capMemory sets a maximum when there is none", () => {
  const bytes = wat(`(module (memory 2) (export "memory" (memory 0)))`);
  const capped = new Uint8Array(capMemory(bytes, 10));
  const module = new WebAssembly.Module(capped);
  const instance = new WebAssembly.Instance(module);
  const memory = instance.exports.memory as WebAssembly.Memory;
  let failed = false;
  try {
    memory.grow(9);
  } catch {
    failed = true;
  }
  assert(failed, "growing to 11 pages must fail with a cap of 10");
  memory.grow(8);
  assertEquals(memory.buffer.byteLength, 10 * 65536);
});

Deno.test("wasm: run() loads modules only from allowed folders", async () => {
  const dir = await Deno.realPath(await Deno.makeTempDir());
  try {
    await Deno.writeFile(`${dir}/echo.wasm`, ECHO);
    const sb = new WasmSandbox({ moduleDirs: [dir] });
    const r = await sb.run(
      { argv: [`${dir}/echo.wasm`], stdin: new TextEncoder().encode("hi") },
      LIMITS,
    );
    assertEquals(r.stdout, "got:hi");
    await assertRejects(
      () =>
        new WasmSandbox({ moduleDirs: ["/nonexistent"] }).run(
          { argv: [`${dir}/echo.wasm`] },
          LIMITS,
        ),
      SandboxError,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
