/**
 * The adapter runtime in-process: it reconnects with backoff when the gateway goes away and
 * comes back, queues inbound messages meanwhile, and stops on a `shutdown` frame.
 */
import { assertEquals } from "../assert.ts";
import {
  type ChannelDriver,
  type DriverContext,
  runAdapter,
} from "../../adapters/shared/runtime.ts";
import type { AdapterBundle } from "../../src/ipc/bundle.ts";
import { ephemeralSigner, toBase64 } from "../../src/ipc/keys.ts";
import { startIpcServer } from "../../src/ipc/server.ts";
import { captureLogger, startTestGateway, waitFor } from "./helpers.ts";

Deno.test("runtime: reconnects after a gateway restart, delivers queued inbound, stops on shutdown", async () => {
  // The same gateway identity across the restart (a real restart also restarts the adapters).
  const gatewaySigner = await ephemeralSigner();
  const gw = await startTestGateway(["telegram"], { gatewaySigner });
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
    channel: "telegram",
    socketPath: gw.socketPath,
    gatewayKey: toBase64(gw.server.gatewayPublicKey),
    adapterKey: gw.ids.telegram.seed,
    credentials: new Map(),
    isolation: "process",
    grants: { net: [], read: [], write: [], env: [] },
    driver: "test",
  };
  const running = runAdapter({ bundle, driver, log, backoffMs: 20, maxBackoffMs: 100 });
  await waitFor(() => gw.server.connected("telegram"), 5000, "first connection");
  // The gateway goes away; a message arrives meanwhile; a new gateway comes up.
  await gw.server.close();
  await ctx!.sendInbound({ id: "q1", senderId: "u", conversationId: "c", text: "queued" });
  const inbound: string[] = [];
  const second = await startIpcServer({
    socketPath: gw.socketPath,
    config: {
      channels: {
        telegram: { enabled: true, publicKey: gw.ids.telegram.publicKeyBase64, allowFrom: [] },
      },
    },
    audit: gw.audit,
    log,
    gatewaySigner,
    onInbound: (e) => {
      inbound.push(e.message.text);
    },
  });
  try {
    await waitFor(() => second.connected("telegram"), 5000, "reconnected");
    await waitFor(() => inbound.length === 1, 5000, "queued message delivered");
    assertEquals(inbound, ["queued"]);
    await second.shutdownAdapter("telegram", "test over");
    assertEquals(await running, 0);
  } finally {
    await second.close();
    await gw.close();
  }
});
