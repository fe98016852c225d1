/**
 * Anything allowed to connect to the gateway socket may also unlink it (Deno ties both to write
 * access on the path) and listen in its place. These tests play that squatter: adapters must
 * refuse to talk to it, the gateway must take its path back, and the supervisor must not give
 * up on an adapter because the squatter claimed its key was wrong.
 */
import { assert, assertEquals, assertStringIncludes } from "../assert.ts";
import { connectGateway } from "../../src/ipc/client.ts";
import { HandshakeError } from "../../src/ipc/errors.ts";
import { ephemeralSigner } from "../../src/ipc/keys.ts";
import { openSession } from "../../src/ipc/session.ts";
import { startIpcServer } from "../../src/ipc/server.ts";
import { captureLogger, MemoryAudit, startTestGateway, waitFor } from "./helpers.ts";

Deno.test("an adapter refuses a socket that cannot sign as its gateway, and sends it nothing", async () => {
  const gw = await startTestGateway(["telegram"]);
  const { log } = captureLogger();
  // The squatter knows the public adapter keys (they are public) but not the gateway's key.
  const squatterPath = `${gw.dir}/sockets/squatter.sock`;
  const heard: string[] = [];
  const squatter = await startIpcServer({
    socketPath: squatterPath,
    config: {
      channels: {
        telegram: { enabled: true, publicKey: gw.ids.telegram.publicKeyBase64, allowFrom: [] },
      },
    },
    audit: new MemoryAudit(),
    log,
    gatewaySigner: await ephemeralSigner(),
    onInbound: (e) => {
      heard.push(e.message.text);
    },
  });
  try {
    let refused = "";
    try {
      await connectGateway({
        socketPath: squatterPath,
        channel: "telegram",
        signer: gw.ids.telegram.signer,
        gatewayPublicKey: gw.server.gatewayPublicKey,
        log,
      }, { onOutbound: () => Promise.resolve({ ok: true, messageId: "", error: "" }) });
    } catch (e) {
      assert(e instanceof HandshakeError);
      refused = e.reason;
    }
    assertStringIncludes(refused, "did not prove to be this adapter's gateway");
    assertEquals(heard, []);
  } finally {
    await squatter.close();
    await gw.close();
  }
});

Deno.test("the gateway takes its socket path back from a squatter", async () => {
  const gw = await startTestGateway(["telegram"], { socketCheckMs: 50 });
  try {
    await Deno.remove(gw.socketPath);
    const squat = Deno.listen({ transport: "unix", path: gw.socketPath });
    // The inode number alone may be reused; the audit event says the gateway noticed.
    await waitFor(
      () => gw.audit.events.some((e) => e.payload?.reason === "gateway socket removed or replaced"),
      3000,
      "the gateway to notice the squatter",
    );
    await waitFor(
      () => {
        try {
          return (Deno.lstatSync(gw.socketPath).mode! & 0o777) === 0o600;
        } catch {
          return false;
        }
      },
      3000,
      "the socket taken back",
    );
    assert(
      gw.audit.events.some((e) => e.payload?.reason === "gateway socket removed or replaced"),
    );
    const { log } = captureLogger();
    const client = await connectGateway({
      socketPath: gw.socketPath,
      channel: "telegram",
      signer: gw.ids.telegram.signer,
      gatewayPublicKey: gw.server.gatewayPublicKey,
      log,
    }, { onOutbound: () => Promise.resolve({ ok: true, messageId: "back", error: "" }) });
    const r = await gw.server.send(openSession("telegram", "c"), { text: "hi" });
    assertEquals(r.messageId, "back");
    assertEquals((await Deno.stat(gw.socketPath)).mode! & 0o777, 0o600);
    client.close();
    squat.close();
  } finally {
    await gw.close();
  }
});
