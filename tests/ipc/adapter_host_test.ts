/**
 * The gateway's adapter host end to end: an adapter's inbound message reaches `dispatch` with
 * the authenticated channel and a matching SessionHandle, and the answer goes back on it.
 */
import { assert, assertEquals } from "../assert.ts";
import { dataPaths } from "../../src/config/paths.ts";
import { ConfigSchema } from "../../src/config/schema.ts";
import { startAdapterHost } from "../../src/gateway/adapters.ts";
import { connectGateway } from "../../src/ipc/client.ts";
import { captureLogger, identity, MemoryAudit, MemoryCredentials, waitFor } from "./helpers.ts";

Deno.test("adapter host: inbound -> dispatch -> reply on the same handle", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.mkdir(`${dir}/sockets`, { mode: 0o700 });
  const tg = await identity("telegram");
  const config = ConfigSchema.parse({
    channels: { telegram: { publicKey: tg.publicKeyBase64, allowFrom: ["u1"] } },
  });
  const { log } = captureLogger();
  const seen: string[] = [];
  const host = await startAdapterHost({
    config,
    paths: dataPaths(dir),
    credentials: new MemoryCredentials(),
    audit: new MemoryAudit(),
    log,
    supervise: false,
    dispatch(message, handle) {
      seen.push(`${message.channel}|${handle.key}|${message.sender}`);
      if (message.sender !== "u1") return Promise.resolve({ status: "refused" });
      return Promise.resolve({ status: "answered", text: `you said ${message.text}` });
    },
  });
  const sent: string[] = [];
  const client = await connectGateway(
    {
      socketPath: host.socketPath,
      channel: "telegram",
      signer: tg.signer,
      gatewayPublicKey: host.server.gatewayPublicKey,
      log,
    },
    {
      onOutbound(m) {
        sent.push(`${m.conversationId}|${m.replyToId}|${m.text}`);
        return Promise.resolve({ ok: true, messageId: "x", error: "" });
      },
    },
  );
  try {
    await client.sendInbound({ id: "m1", senderId: "stranger", conversationId: "c1", text: "hi" });
    await client.sendInbound({ id: "m2", senderId: "u1", conversationId: "c1", text: "hello" });
    await waitFor(() => sent.length === 1, 5000, "a reply");
    assertEquals(sent, ["c1|m2|you said hello"]);
    assertEquals(seen, ["telegram|telegram:c1|stranger", "telegram|telegram:c1|u1"]);
    assert(host.server.connected("telegram"));
  } finally {
    client.close();
    await host.close();
    await Deno.remove(dir, { recursive: true });
  }
});
