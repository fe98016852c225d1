/**
 * A test-only WASI preview 1 stub (stdin/stdout only, no fuel) used to check what the bundled
 * calculator computes. Production runs go through the Wasm sandbox (`WasmSkillRunner`).
 *
 * @module
 */

/** Runs `_start` of `bytes` with `stdin`; returns what it wrote to stdout. */
export async function runWasiStub(bytes: Uint8Array<ArrayBuffer>, stdin: string): Promise<string> {
  const input = new TextEncoder().encode(stdin);
  let inPos = 0;
  let out = "";
  const mem: { memory?: WebAssembly.Memory } = {};
  const view = () => new DataView(mem.memory!.buffer);
  const iovs = (ptr: number, n: number) =>
    Array.from({ length: n }, (_, i) => ({
      base: view().getUint32(ptr + i * 8, true),
      len: view().getUint32(ptr + i * 8 + 4, true),
    }));
  const imports = {
    wasi_snapshot_preview1: {
      fd_read: (fd: number, iov: number, n: number, nread: number) => {
        if (fd !== 0) return 8;
        let total = 0;
        for (const v of iovs(iov, n)) {
          const chunk = input.subarray(inPos, inPos + v.len);
          new Uint8Array(mem.memory!.buffer, v.base, chunk.length).set(chunk);
          inPos += chunk.length;
          total += chunk.length;
        }
        view().setUint32(nread, total, true);
        return 0;
      },
      fd_write: (fd: number, iov: number, n: number, nwritten: number) => {
        let total = 0;
        for (const v of iovs(iov, n)) {
          const text = new TextDecoder().decode(new Uint8Array(mem.memory!.buffer, v.base, v.len));
          if (fd === 1) out += text;
          total += v.len;
        }
        view().setUint32(nwritten, total, true);
        return 0;
      },
    },
  };
  const instance = await WebAssembly.instantiate(await WebAssembly.compile(bytes), imports);
  mem.memory = instance.exports.memory as WebAssembly.Memory;
  (instance.exports._start as () => void)();
  return out;
}
