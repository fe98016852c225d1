import { assert } from "../../tests/assert.ts";
import { encodeBundle } from "../../src/ipc/bundle.ts";
import { IpcError } from "../../src/ipc/errors.ts";
import { createLogger } from "../../src/log/logger.ts";
import { Secret } from "../../src/secret.ts";
import { adapterMain } from "./main.ts";

Deno.test("an adapter started for one channel refuses another channel's bundle", async () => {
  const bytes = encodeBundle({
    version: 1,
    channel: "slack",
    socketPath: "/nonexistent/gateway.sock",
    gatewayKey: "A".repeat(43) + "=",
    adapterKey: new Secret("a2V5"),
    credentials: new Map(),
    isolation: "process",
    grants: { net: [], read: [], write: [], env: [] },
    driver: "test",
  });
  let pos = 0;
  const stdin = {
    read(p: Uint8Array): Promise<number | null> {
      if (pos >= bytes.length) return Promise.resolve(null);
      const n = Math.min(p.length, bytes.length - pos);
      p.set(bytes.subarray(pos, pos + n));
      pos += n;
      return Promise.resolve(n);
    },
  };
  let error: unknown = null;
  try {
    await adapterMain("telegram", { log: createLogger({ terminal: null }), stdin });
  } catch (e) {
    error = e;
  }
  assert(
    error instanceof IpcError && error.message.includes("handed slack's bundle"),
    String(error),
  );
});
