/**
 * Regression: messages handed to the adapter runtime at the same moment reach the gateway once
 * each (two concurrent queue flushes used to send the head of the queue twice, which the
 * Matrix end-to-end test showed as two agent turns for one message).
 */
import { assertEquals } from "../assert.ts";
import {
  type ChannelDriver,
  type DriverContext,
  runAdapter,
} from "../../adapters/shared/runtime.ts";
import type { AdapterBundle } from "../../src/ipc/bundle.ts";
import { toBase64 } from "../../src/ipc/keys.ts";
import { captureLogger, startTestGateway, waitFor } from "../ipc/helpers.ts";

Deno.test("runtime: a burst of inbound messages is delivered once each, in order", async () => {
  const gw = await startTestGateway(["matrix"]);
  const { log } = captureLogger();
  let ctx: DriverContext | null = null;
  const driver: ChannelDriver = {
    start(c) {
      ctx = c;
      return new Promise((r) => c.signal.addEventListener("abort", () => r()));
    },
    onOutbound: () => Promise.resolve({ ok: true, messageId: "m", error: "" }),
  };
  const bundle: AdapterBundle = {
    version: 1,
    channel: "matrix",
    socketPath: gw.socketPath,
    gatewayKey: toBase64(gw.server.gatewayPublicKey),
    adapterKey: gw.ids.matrix.seed,
    credentials: new Map(),
    isolation: "process",
    grants: { net: [], read: [], write: [], env: [] },
    driver: "test",
  };
  const stop = new AbortController();
  const running = runAdapter({ bundle, driver, log, signal: stop.signal });
  try {
    await waitFor(() => ctx !== null && gw.server.connected("matrix"), 5000, "connection");
    const ids = Array.from({ length: 20 }, (_, i) => `m${i}`);
    await Promise.all(
      ids.map((id) => ctx!.sendInbound({ id, senderId: "u", conversationId: "c", text: id })),
    );
    await gw.waitInbound(20);
    await new Promise((r) => setTimeout(r, 100));
    assertEquals(gw.inbound.map((e) => e.message.id), ids);
  } finally {
    stop.abort();
    await running;
    await gw.close();
  }
});
