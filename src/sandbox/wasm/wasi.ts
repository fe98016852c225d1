/**
 * A WASI preview 1 shim with no filesystem and no sockets: arguments, an empty environment,
 * stdin from a buffer, stdout/stderr into capped buffers, clocks, randomness and exit.
 *
 * A module importing anything else (`path_open`, `fd_readdir`, `sock_*`, ...) is refused
 * before it runs (see {@linkcode checkImports}); there is no stub that could be misused.
 * `fd_prestat_get` answers "no such descriptor", which is how WASI libc learns that there
 * are no preopened directories.
 *
 * @module
 */
import { FUEL_IMPORT } from "./fuel.ts";

/** The WASI module name. */
export const WASI_MODULE = "wasi_snapshot_preview1";

const ERRNO_SUCCESS = 0;
const ERRNO_BADF = 8;
const ERRNO_INVAL = 28;
const ERRNO_NOSYS = 52;
const ERRNO_SPIPE = 70;

/** The only WASI functions a module may import. */
export const ALLOWED_WASI = new Set([
  "args_get",
  "args_sizes_get",
  "environ_get",
  "environ_sizes_get",
  "clock_res_get",
  "clock_time_get",
  "fd_close",
  "fd_fdstat_get",
  "fd_prestat_get",
  "fd_prestat_dir_name",
  "fd_read",
  "fd_seek",
  "fd_write",
  "poll_oneoff",
  "proc_exit",
  "random_get",
  "sched_yield",
]);

/**
 * Refuses imports outside the shim; returns null when all are fine, else the first offender
 * as `module.name` (for the error message).
 */
export function checkImports(module: WebAssembly.Module): string | null {
  for (const imp of WebAssembly.Module.imports(module)) {
    if (imp.module === FUEL_IMPORT.module && imp.name === FUEL_IMPORT.name) continue;
    if (imp.module === WASI_MODULE && imp.kind === "function" && ALLOWED_WASI.has(imp.name)) {
      continue;
    }
    return `${imp.module}.${imp.name}`;
  }
  return null;
}

/** Thrown by `proc_exit` to unwind the module. */
export class WasiExit {
  /** The exit code. */
  constructor(readonly code: number) {}
}

/** A capped output buffer. */
export class CappedOutput {
  readonly #chunks: Uint8Array[] = [];
  #kept = 0;
  /** Some bytes were dropped. */
  truncated = false;

  /** Keeps at most `cap` bytes. */
  constructor(readonly cap: number) {}

  /** Appends, dropping what exceeds the cap. */
  push(bytes: Uint8Array): void {
    const room = this.cap - this.#kept;
    if (bytes.length > room) this.truncated = true;
    if (room <= 0) return;
    const take = bytes.subarray(0, Math.min(room, bytes.length));
    this.#chunks.push(take.slice());
    this.#kept += take.length;
  }

  /** The kept bytes as text. */
  text(): string {
    const all = new Uint8Array(this.#kept);
    let at = 0;
    for (const c of this.#chunks) {
      all.set(c, at);
      at += c.length;
    }
    return new TextDecoder().decode(all);
  }
}

/** The state a shim instance works on. */
export interface WasiState {
  args: readonly string[];
  stdin: Uint8Array;
  stdout: CappedOutput;
  stderr: CappedOutput;
}

/** Builds the `wasi_snapshot_preview1` import object bound to `getMemory`. */
export function wasiImports(
  state: WasiState,
  getMemory: () => WebAssembly.Memory,
): Record<string, (...args: never[]) => number | void> {
  const encoder = new TextEncoder();
  const args = state.args.map((a) => encoder.encode(a + "\0"));
  let stdinPos = 0;
  const view = () => new DataView(getMemory().buffer);
  const bytes = () => new Uint8Array(getMemory().buffer);

  const iovecs = (ptr: number, len: number): Array<[number, number]> => {
    const v = view();
    const out: Array<[number, number]> = [];
    for (let i = 0; i < len; i++) {
      out.push([v.getUint32(ptr + i * 8, true), v.getUint32(ptr + i * 8 + 4, true)]);
    }
    return out;
  };

  return {
    args_sizes_get(argcPtr: number, sizePtr: number): number {
      const v = view();
      v.setUint32(argcPtr, args.length, true);
      v.setUint32(sizePtr, args.reduce((n, a) => n + a.length, 0), true);
      return ERRNO_SUCCESS;
    },
    args_get(argvPtr: number, bufPtr: number): number {
      const v = view();
      const m = bytes();
      let at = bufPtr;
      args.forEach((a, i) => {
        v.setUint32(argvPtr + i * 4, at, true);
        m.set(a, at);
        at += a.length;
      });
      return ERRNO_SUCCESS;
    },
    environ_sizes_get(countPtr: number, sizePtr: number): number {
      const v = view();
      v.setUint32(countPtr, 0, true);
      v.setUint32(sizePtr, 0, true);
      return ERRNO_SUCCESS;
    },
    environ_get(): number {
      return ERRNO_SUCCESS;
    },
    clock_res_get(_id: number, resPtr: number): number {
      view().setBigUint64(resPtr, 1000n, true);
      return ERRNO_SUCCESS;
    },
    clock_time_get(id: number, _precision: bigint, timePtr: number): number {
      const ns = id === 0
        ? BigInt(Date.now()) * 1_000_000n
        : BigInt(Math.round(performance.now() * 1_000_000));
      view().setBigUint64(timePtr, ns, true);
      return ERRNO_SUCCESS;
    },
    fd_close(fd: number): number {
      return fd <= 2 ? ERRNO_SUCCESS : ERRNO_BADF;
    },
    fd_fdstat_get(fd: number, ptr: number): number {
      if (fd > 2) return ERRNO_BADF;
      const v = view();
      v.setUint8(ptr, 2); // character device
      v.setUint16(ptr + 2, 0, true);
      v.setBigUint64(ptr + 8, fd === 0 ? 2n : 64n, true); // fd_read / fd_write rights
      v.setBigUint64(ptr + 16, 0n, true);
      return ERRNO_SUCCESS;
    },
    fd_prestat_get(): number {
      return ERRNO_BADF; // no preopened directories: there is no filesystem
    },
    fd_prestat_dir_name(): number {
      return ERRNO_BADF;
    },
    fd_seek(fd: number): number {
      return fd <= 2 ? ERRNO_SPIPE : ERRNO_BADF;
    },
    fd_read(fd: number, iovsPtr: number, iovsLen: number, nreadPtr: number): number {
      if (fd !== 0) return ERRNO_BADF;
      let total = 0;
      const m = bytes();
      for (const [buf, len] of iovecs(iovsPtr, iovsLen)) {
        const take = Math.min(len, state.stdin.length - stdinPos);
        if (take <= 0) break;
        m.set(state.stdin.subarray(stdinPos, stdinPos + take), buf);
        stdinPos += take;
        total += take;
      }
      view().setUint32(nreadPtr, total, true);
      return ERRNO_SUCCESS;
    },
    fd_write(fd: number, iovsPtr: number, iovsLen: number, nwrittenPtr: number): number {
      const target = fd === 1 ? state.stdout : fd === 2 ? state.stderr : null;
      if (!target) return ERRNO_BADF;
      let total = 0;
      const m = bytes();
      for (const [buf, len] of iovecs(iovsPtr, iovsLen)) {
        if (buf + len > m.length) return ERRNO_INVAL;
        target.push(m.subarray(buf, buf + len));
        total += len;
      }
      view().setUint32(nwrittenPtr, total, true);
      return ERRNO_SUCCESS;
    },
    poll_oneoff(): number {
      return ERRNO_NOSYS; // no sleeping: it would only burn wall time
    },
    proc_exit(code: number): void {
      throw new WasiExit(code);
    },
    random_get(ptr: number, len: number): number {
      const m = bytes();
      for (let at = 0; at < len; at += 65536) {
        crypto.getRandomValues(m.subarray(ptr + at, ptr + Math.min(len, at + 65536)));
      }
      return ERRNO_SUCCESS;
    },
    sched_yield(): number {
      return ERRNO_SUCCESS;
    },
  };
}
