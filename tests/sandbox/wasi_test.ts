/**
 * What a Wasm skill observes through the WASI shim: its argv and nothing of the gateway's
 * environment, clocks, randomness, the three stdio descriptors and no other, no preopened
 * directories, exit codes, traps with the output kept, and the worker refusing a module on
 * its own even when the parent's import check is bypassed. Modules are written in WAT,
 * assembled with binaryen, and report what they saw as hex lines on stdout.
 */
import { join } from "node:path";
import binaryen from "binaryen";
import { WasmSandbox } from "../../src/sandbox/wasm/sandbox.ts";
import type { WasmJob, WasmOutcome } from "../../src/sandbox/wasm/worker.ts";
import { DEFAULT_LIMITS, SandboxError, type SandboxLimits } from "../../src/sandbox/types.ts";
import {
  assert,
  assertEquals,
  assertFalse,
  assertNotEquals,
  assertRejects,
  assertStringIncludes,
} from "../assert.ts";

const LIMITS: SandboxLimits = { ...DEFAULT_LIMITS, timeoutMs: 20_000 };

function wat(text: string): Uint8Array {
  const m = binaryen.parseText(text);
  try {
    m.setFeatures(binaryen.Features.MVP | binaryen.Features.BulkMemory);
    assert(m.validate(), "test module must validate");
    return m.emitBinary();
  } finally {
    m.dispose();
  }
}

const W = "wasi_snapshot_preview1";

/** Every function the shim offers, with its WASI preview 1 signature. */
const IMPORTS = `
  (import "${W}" "args_sizes_get" (func $args_sizes_get (param i32 i32) (result i32)))
  (import "${W}" "args_get" (func $args_get (param i32 i32) (result i32)))
  (import "${W}" "environ_sizes_get" (func $environ_sizes_get (param i32 i32) (result i32)))
  (import "${W}" "environ_get" (func $environ_get (param i32 i32) (result i32)))
  (import "${W}" "clock_res_get" (func $clock_res_get (param i32 i32) (result i32)))
  (import "${W}" "clock_time_get" (func $clock_time_get (param i32 i64 i32) (result i32)))
  (import "${W}" "fd_close" (func $fd_close (param i32) (result i32)))
  (import "${W}" "fd_fdstat_get" (func $fd_fdstat_get (param i32 i32) (result i32)))
  (import "${W}" "fd_prestat_get" (func $fd_prestat_get (param i32 i32) (result i32)))
  (import "${W}" "fd_prestat_dir_name" (func $fd_prestat_dir_name (param i32 i32 i32) (result i32)))
  (import "${W}" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "${W}" "fd_seek" (func $fd_seek (param i32 i64 i32 i32) (result i32)))
  (import "${W}" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "${W}" "poll_oneoff" (func $poll_oneoff (param i32 i32 i32 i32) (result i32)))
  (import "${W}" "proc_exit" (func $proc_exit (param i32)))
  (import "${W}" "random_get" (func $random_get (param i32 i32) (result i32)))
  (import "${W}" "sched_yield" (func $sched_yield (result i32)))
`;

/**
 * Helpers inside each module: `$write fd ptr len` (returns errno), `$hex ptr len` prints the
 * bytes as hex plus a newline, `$say n` prints one byte (an errno) the same way. Scratch
 * memory: the iovec at 0, nwritten at 8, the hex digits at 59900, hex output from 60000.
 * Bytes 16..1023 start as 0xff so a test can tell "the shim wrote a zero" from "untouched".
 */
const HELPERS = `
  (memory (export "memory") 4)
  (data (i32.const 16) "${"\\ff".repeat(1008)}")
  (data (i32.const 59900) "0123456789abcdef\\n")
  (func $write (param $fd i32) (param $ptr i32) (param $len i32) (result i32)
    (i32.store (i32.const 0) (local.get $ptr))
    (i32.store (i32.const 4) (local.get $len))
    (call $fd_write (local.get $fd) (i32.const 0) (i32.const 1) (i32.const 8)))
  (func $hex (param $ptr i32) (param $len i32)
    (local $i i32) (local $b i32)
    (block $done
      (loop $l
        (br_if $done (i32.ge_u (local.get $i) (local.get $len)))
        (local.set $b (i32.load8_u (i32.add (local.get $ptr) (local.get $i))))
        (i32.store8 (i32.add (i32.const 60000) (i32.shl (local.get $i) (i32.const 1)))
          (i32.load8_u (i32.add (i32.const 59900) (i32.shr_u (local.get $b) (i32.const 4)))))
        (i32.store8 (i32.add (i32.const 60001) (i32.shl (local.get $i) (i32.const 1)))
          (i32.load8_u (i32.add (i32.const 59900) (i32.and (local.get $b) (i32.const 15)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $l)))
    (i32.store8 (i32.add (i32.const 60000) (i32.shl (local.get $len) (i32.const 1))) (i32.const 10))
    (drop (call $write (i32.const 1) (i32.const 60000)
      (i32.add (i32.shl (local.get $len) (i32.const 1)) (i32.const 1)))))
  (func $say (param $n i32)
    (i32.store8 (i32.const 59950) (local.get $n))
    (call $hex (i32.const 59950) (i32.const 1)))
`;

/** A module whose `_start` runs `body` with all imports and helpers in scope. */
function probe(body: string, extra = ""): Uint8Array {
  return wat(`(module ${IMPORTS} ${HELPERS} ${extra} (func (export "_start") ${body}))`);
}

function bytesOf(hexLine: string): Uint8Array {
  const out = new Uint8Array(hexLine.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hexLine.slice(i * 2, i * 2 + 2), 16);
  return out;
}

function u32(hexLine: string): number {
  return new DataView(bytesOf(hexLine).buffer).getUint32(0, true);
}

function u64(hexLine: string): bigint {
  return new DataView(bytesOf(hexLine).buffer).getBigUint64(0, true);
}

/** Runs `module` and returns its stdout lines (the last, empty one dropped). */
async function lines(
  module: Uint8Array,
  io: { args?: readonly string[]; stdin?: Uint8Array } = {},
): Promise<string[]> {
  const r = await new WasmSandbox().runModule(module, io, LIMITS);
  assertEquals(r.signal, null, `the probe must exit normally; stderr: ${r.stderr}`);
  assertEquals(r.exitCode, 0);
  const out = r.stdout.split("\n");
  assertEquals(out.pop(), "");
  return out;
}

const ERRNO = { SUCCESS: "00", BADF: "08", INVAL: "1c", NOSYS: "34", SPIPE: "46" };

Deno.test("wasi: a module sees exactly the argv it was given", async () => {
  const argv = ["tool.wasm", "--flag", "héllo wörld", ""];
  const module = probe(`
    (call $say (call $args_sizes_get (i32.const 16) (i32.const 20)))
    (call $hex (i32.const 16) (i32.const 8))
    (call $say (call $args_get (i32.const 1024) (i32.const 4096)))
    (call $hex (i32.const 1024) (i32.mul (i32.load (i32.const 16)) (i32.const 4)))
    (drop (call $write (i32.const 1) (i32.const 4096) (i32.load (i32.const 20))))
    (call $hex (i32.const 0) (i32.const 0))`);
  const out = await lines(module, { args: argv });
  const joined = argv.map((a) => a + "\0").join("");
  const size = new TextEncoder().encode(joined).length;
  assertEquals(out[0], ERRNO.SUCCESS);
  assertEquals(u32(out[1].slice(0, 8)), argv.length, "argc");
  assertEquals(u32(out[1].slice(8)), size, "total size of the NUL-terminated strings");
  assertEquals(out[2], ERRNO.SUCCESS);
  // argv[i] points at the i-th string inside the buffer the module passed.
  const encoder = new TextEncoder();
  let at = 4096;
  argv.forEach((a, i) => {
    assertEquals(u32(out[3].slice(i * 8, i * 8 + 8)), at, `argv[${i}]`);
    at += encoder.encode(a + "\0").length;
  });
  assertEquals(out[4], joined);
});

Deno.test("wasi: the gateway's environment never reaches a module", async () => {
  Deno.env.set("WIRKEN_WASI_TEST_SECRET", "do-not-leak");
  try {
    const module = probe(`
      (call $say (call $environ_sizes_get (i32.const 16) (i32.const 20)))
      (call $hex (i32.const 16) (i32.const 8))
      (call $say (call $environ_get (i32.const 800) (i32.const 900)))
      (call $hex (i32.const 800) (i32.const 8))
      (call $hex (i32.const 900) (i32.const 8))`);
    const out = await lines(module);
    assertEquals(out[0], ERRNO.SUCCESS);
    assertEquals(out[1], "0000000000000000", "no variables, no bytes");
    assertEquals(out[2], ERRNO.SUCCESS);
    assertEquals(out[3], "ff".repeat(8), "environ_get wrote no pointers");
    assertEquals(out[4], "ff".repeat(8), "and no strings");
  } finally {
    Deno.env.delete("WIRKEN_WASI_TEST_SECRET");
  }
});

Deno.test("wasi: realtime and monotonic clocks", async () => {
  const module = probe(`
    (call $say (call $clock_time_get (i32.const 0) (i64.const 1000) (i32.const 32)))
    (call $hex (i32.const 32) (i32.const 8))
    (call $say (call $clock_time_get (i32.const 1) (i64.const 1000) (i32.const 40)))
    (call $say (call $clock_time_get (i32.const 1) (i64.const 1000) (i32.const 48)))
    (call $hex (i32.const 40) (i32.const 16))
    (call $say (call $clock_res_get (i32.const 0) (i32.const 56)))
    (call $hex (i32.const 56) (i32.const 8))`);
  const before = BigInt(Date.now()) * 1_000_000n;
  const out = await lines(module);
  const after = BigInt(Date.now()) * 1_000_000n;
  assertEquals(out[0], ERRNO.SUCCESS);
  const realtime = u64(out[1]);
  assert(realtime >= before && realtime <= after, `realtime ${realtime} is now, in nanoseconds`);
  assertEquals([out[2], out[3]], [ERRNO.SUCCESS, ERRNO.SUCCESS]);
  const first = u64(out[4].slice(0, 16));
  const second = u64(out[4].slice(16));
  assert(first > 0n && second >= first, "the monotonic clock never goes back");
  assertEquals(out[5], ERRNO.SUCCESS);
  assertEquals(u64(out[6]), 1000n, "resolution: one microsecond");
});

Deno.test("wasi: random_get fills small and large (> 64 KiB) buffers", async () => {
  const module = probe(`
    (call $say (call $random_get (i32.const 1024) (i32.const 32)))
    (call $say (call $random_get (i32.const 1056) (i32.const 32)))
    (call $hex (i32.const 1024) (i32.const 64))
    ;; 100000 bytes from 65536: more than one getRandomValues call may fill at once
    (call $say (call $random_get (i32.const 65536) (i32.const 100000)))
    (call $hex (i32.const 65536) (i32.const 64))
    (call $hex (i32.const 165472) (i32.const 64))`);
  const a = await lines(module);
  const b = await lines(module);
  const zeros = "00".repeat(32);
  assertEquals([a[0], a[1], a[3]], [ERRNO.SUCCESS, ERRNO.SUCCESS, ERRNO.SUCCESS]);
  assertNotEquals(a[2].slice(0, 64), a[2].slice(64), "two calls give different bytes");
  assertNotEquals(a[2].slice(0, 64), zeros);
  assertNotEquals(a[4], "00".repeat(64), "start of the large buffer is filled");
  assertNotEquals(a[5], "00".repeat(64), "end of the large buffer (past 64 KiB) is filled");
  assertNotEquals(a[2], b[2], "two runs give different bytes");
});

Deno.test("wasi: stdout and stderr are separate; no other descriptor can be written", async () => {
  const module = probe(
    `
    (call $say (call $write (i32.const 2) (i32.const 2000) (i32.const 7)))
    (call $say (call $write (i32.const 3) (i32.const 2000) (i32.const 7)))
    (call $say (call $write (i32.const 0) (i32.const 2000) (i32.const 7)))
    ;; an iovec reaching past the end of memory
    (call $say (call $write (i32.const 1) (i32.const 262000) (i32.const 1000)))`,
    `(data (i32.const 2000) "to-err\\n")`,
  );
  const r = await new WasmSandbox().runModule(module, {}, LIMITS);
  assertEquals(r.exitCode, 0);
  assertEquals(r.stderr, "to-err\n");
  assertEquals(r.stdout, `${ERRNO.SUCCESS}\n${ERRNO.BADF}\n${ERRNO.BADF}\n${ERRNO.INVAL}\n`);
});

Deno.test("wasi: stdin is readable to the end, other descriptors are not", async () => {
  const module = probe(`
    ;; two iovecs of 3 bytes each at 1024 and 1030; nread at 24
    (i32.store (i32.const 100) (i32.const 1024)) (i32.store (i32.const 104) (i32.const 3))
    (i32.store (i32.const 108) (i32.const 1030)) (i32.store (i32.const 112) (i32.const 3))
    (call $say (call $fd_read (i32.const 0) (i32.const 100) (i32.const 2) (i32.const 24)))
    (call $hex (i32.const 24) (i32.const 4))
    (drop (call $write (i32.const 1) (i32.const 1024) (i32.const 9)))
    (call $hex (i32.const 0) (i32.const 0))
    (call $say (call $fd_read (i32.const 0) (i32.const 100) (i32.const 2) (i32.const 24)))
    (call $hex (i32.const 24) (i32.const 4))
    (call $say (call $fd_read (i32.const 1) (i32.const 100) (i32.const 2) (i32.const 24)))
    (call $say (call $fd_read (i32.const 3) (i32.const 100) (i32.const 2) (i32.const 24)))`);
  const out = await lines(module, { stdin: new TextEncoder().encode("abcd") });
  assertEquals(out[0], ERRNO.SUCCESS);
  assertEquals(u32(out[1]), 4, "both iovecs filled as far as stdin goes");
  assertEquals(out[2].slice(0, 3), "abc");
  assertEquals(out[2].slice(6, 7), "d");
  assertEquals([out[3], u32(out[4])], [ERRNO.SUCCESS, 0], "then end of input");
  assertEquals([out[5], out[6]], [ERRNO.BADF, ERRNO.BADF]);
});

Deno.test("wasi: descriptors 0-2 are character devices with only read/write rights", async () => {
  const module = probe(`
    (call $say (call $fd_fdstat_get (i32.const 0) (i32.const 100)))
    (call $hex (i32.const 100) (i32.const 24))
    (call $say (call $fd_fdstat_get (i32.const 1) (i32.const 200)))
    (call $hex (i32.const 200) (i32.const 24))
    (call $say (call $fd_fdstat_get (i32.const 3) (i32.const 300)))
    (call $hex (i32.const 300) (i32.const 1))
    (call $say (call $fd_seek (i32.const 1) (i64.const 0) (i32.const 0) (i32.const 400)))
    (call $say (call $fd_seek (i32.const 7) (i64.const 0) (i32.const 0) (i32.const 400)))
    (call $say (call $fd_close (i32.const 1)))
    (call $say (call $fd_close (i32.const 3)))`);
  const out = await lines(module);
  const stat = (line: string) => {
    const v = new DataView(bytesOf(line).buffer);
    return {
      filetype: v.getUint8(0),
      flags: v.getUint16(2, true),
      base: v.getBigUint64(8, true),
      inheriting: v.getBigUint64(16, true),
    };
  };
  assertEquals(out[0], ERRNO.SUCCESS);
  // filetype 2 = character_device; right 1<<1 = fd_read, 1<<6 = fd_write; nothing inheritable.
  assertEquals(stat(out[1]), { filetype: 2, flags: 0, base: 2n, inheriting: 0n });
  assertEquals(out[2], ERRNO.SUCCESS);
  assertEquals(stat(out[3]), { filetype: 2, flags: 0, base: 64n, inheriting: 0n });
  assertEquals([out[4], out[5]], [ERRNO.BADF, "ff"], "descriptor 3 does not exist");
  assertEquals(out[6], ERRNO.SPIPE, "stdio cannot seek");
  assertEquals(out[7], ERRNO.BADF);
  assertEquals([out[8], out[9]], [ERRNO.SUCCESS, ERRNO.BADF]);
});

Deno.test("wasi: there are no preopened directories, so WASI libc sees no filesystem", async () => {
  const module = probe(`
    (call $say (call $fd_prestat_get (i32.const 3) (i32.const 100)))
    (call $hex (i32.const 100) (i32.const 8))
    (call $say (call $fd_prestat_dir_name (i32.const 3) (i32.const 200) (i32.const 64)))
    (call $hex (i32.const 200) (i32.const 4))`);
  const out = await lines(module);
  assertEquals(out, [ERRNO.BADF, "ff".repeat(8), ERRNO.BADF, "ff".repeat(4)]);
  // And what would use a directory cannot even be imported (see wasm_test.ts for the list).
  const opener = wat(`(module
    (import "${W}" "path_open" (func (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
    (memory (export "memory") 1) (func (export "_start")))`);
  const e = await assertRejects(
    () => new WasmSandbox().runModule(opener, {}, LIMITS),
    SandboxError,
  );
  assertStringIncludes(e.message, "path_open");
});

Deno.test("wasi: sleeping is not supported (ENOSYS); yielding is harmless", async () => {
  const module = probe(`
    (call $say (call $poll_oneoff (i32.const 100) (i32.const 200) (i32.const 1) (i32.const 300)))
    (call $say (call $sched_yield))`);
  assertEquals(await lines(module), [ERRNO.NOSYS, ERRNO.SUCCESS]);
});

Deno.test("wasi: proc_exit ends the module with its code; output before it is kept", async () => {
  const exits = (code: number) =>
    probe(
      `
      (drop (call $write (i32.const 1) (i32.const 2000) (i32.const 6)))
      (drop (call $write (i32.const 2) (i32.const 2000) (i32.const 6)))
      (call $proc_exit (i32.const ${code}))
      (drop (call $write (i32.const 1) (i32.const 2000) (i32.const 6)))`,
      `(data (i32.const 2000) "before")`,
    );
  const sb = new WasmSandbox();
  for (const code of [0, 1, 42, 255]) {
    const r = await sb.runModule(exits(code), {}, LIMITS);
    assertEquals(r.exitCode, code);
    assertEquals(r.signal, null);
    assertEquals(r.stdout, "before", "nothing after proc_exit runs");
    assertEquals(r.stderr, "before");
  }
  const returns = probe(``);
  assertEquals((await sb.runModule(returns, {}, LIMITS)).exitCode, 0, "returning from _start");
});

Deno.test("wasi: a trap ends the module as TRAP with its output so far and the reason", async () => {
  const module = probe(
    `
    (drop (call $write (i32.const 1) (i32.const 2000) (i32.const 4)))
    (drop (i32.div_u (i32.const 1) (i32.load (i32.const 3000))))`,
    `(data (i32.const 2000) "half")`,
  );
  const r = await new WasmSandbox().runModule(module, {}, LIMITS);
  assertEquals(r.signal, "TRAP");
  assertEquals(r.exitCode, null);
  assertEquals(r.stdout, "half");
  assertStringIncludes(r.stderr, "[wasm: trapped:");
  assertStringIncludes(r.stderr, "divide by zero");
  assertFalse(r.timedOut);
});

Deno.test("wasi: a module without exported memory traps on its first WASI call", async () => {
  const module = wat(`(module
    (import "${W}" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
    (memory 1)
    (func (export "_start")
      (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))`);
  const r = await new WasmSandbox().runModule(module, {}, LIMITS);
  assertEquals(r.signal, "TRAP");
  assertEquals(r.stdout, "");
  assertStringIncludes(r.stderr, "the module has no exported memory");
});

Deno.test("wasm: a module that is not a WASI command (no _start) is refused", async () => {
  const library = wat(`(module (memory (export "memory") 1) (func (export "main")))`);
  const e = await assertRejects(
    () => new WasmSandbox().runModule(library, {}, LIMITS),
    SandboxError,
  );
  assertStringIncludes(e.message, "exports no _start function");
});

Deno.test("wasm: aborting stops a looping module without waiting for fuel or the clock", async () => {
  const loop = wat(
    `(module (memory (export "memory") 1) (func (export "_start") (loop $l (br $l))))`,
  );
  const controller = new AbortController();
  const running = new WasmSandbox({ fuel: 10n ** 15n }).runModule(loop, {}, {
    ...LIMITS,
    timeoutMs: 600_000,
  }, controller.signal);
  setTimeout(() => controller.abort(), 200);
  const r = await running;
  assertEquals(r.signal, "TRAP");
  assertEquals(r.timedOut, false);
  assertStringIncludes(r.stderr, "abort");
});

/** Talks to the worker directly, as the parent does, but without the parent's checks. */
async function workerOutcome(job: WasmJob): Promise<WasmOutcome> {
  const worker = new Worker(new URL("../../src/sandbox/wasm/worker.ts", import.meta.url).href, {
    type: "module",
    deno: { permissions: "none" },
  } as WorkerOptions);
  try {
    return await new Promise<WasmOutcome>((resolve, reject) => {
      worker.onmessage = (event: MessageEvent<WasmOutcome>) => resolve(event.data);
      worker.onerror = (event) => {
        event.preventDefault();
        reject(new Error(event.message));
      };
      worker.postMessage(job);
    });
  } finally {
    worker.terminate();
  }
}

const JOB = { args: ["m.wasm"], stdin: new Uint8Array(), fuel: "1000000", maxOutputBytes: 1024 };

Deno.test("wasm worker: refuses forbidden imports itself, not only the parent", async () => {
  const opener = wat(`(module
    (import "${W}" "path_open" (func (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
    (memory (export "memory") 1) (func (export "_start")))`);
  const outcome = await workerOutcome({ ...JOB, wasm: opener });
  assertEquals(outcome.kind, "refused");
  assertEquals(outcome.exitCode, null);
  assertStringIncludes(outcome.message ?? "", `${W}.path_open`);
});

Deno.test("wasm worker: answers garbage bytes with a refusal instead of dying", async () => {
  const outcome = await workerOutcome({ ...JOB, wasm: new TextEncoder().encode("not wasm") });
  assertEquals(outcome.kind, "refused");
  assertEquals(outcome.stdout, "");
  assert((outcome.message ?? "").length > 0, "the reason is passed on");
});

Deno.test("wasm: run() refuses modules reached through `..`, symlinks or a look-alike folder", async () => {
  const base = await Deno.realPath(await Deno.makeTempDir({ prefix: "wirken-wasm-" }));
  try {
    const skills = join(base, "skills");
    const lookalike = join(base, "skills-evil");
    await Deno.mkdir(skills);
    await Deno.mkdir(lookalike);
    const hello = probe(
      `(drop (call $write (i32.const 1) (i32.const 2000) (i32.const 5)))`,
      `(data (i32.const 2000) "hello")`,
    );
    await Deno.writeFile(join(skills, "ok.wasm"), hello);
    await Deno.writeFile(join(base, "outside.wasm"), hello);
    await Deno.writeFile(join(lookalike, "evil.wasm"), hello);
    await Deno.writeFile(join(skills, "notwasm.txt"), hello);
    await Deno.symlink(join(base, "outside.wasm"), join(skills, "link.wasm"));
    await Deno.symlink(base, join(skills, "up"));
    const sb = new WasmSandbox({ moduleDirs: [skills] });
    assertEquals((await sb.run({ argv: [join(skills, "ok.wasm")] }, LIMITS)).stdout, "hello");
    for (
      const path of [
        join(base, "outside.wasm"),
        `${skills}/../outside.wasm`,
        join(skills, "link.wasm"),
        `${skills}/up/outside.wasm`,
        join(lookalike, "evil.wasm"),
        join(skills, "notwasm.txt"),
        join(skills, "missing.wasm"),
      ]
    ) {
      const e = await assertRejects(() => sb.run({ argv: [path] }, LIMITS), SandboxError);
      assertStringIncludes(e.message, "is not a Wasm module in an allowed folder", path);
    }
  } finally {
    await Deno.remove(base, { recursive: true });
  }
});
