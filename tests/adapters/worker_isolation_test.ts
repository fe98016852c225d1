/**
 * The part-2 adapters run the same inside the compiled-binary confinement (a Worker holding
 * only the manifest's grants, in a broad-permission process): the WhatsApp webhook listens and
 * verifies, the Teams endpoint fetches its keys and verifies, the Matrix client syncs, each
 * reaching the gateway. `deno compile` cannot run here, so the Worker path is forced from
 * source, as the supervisor does for compiled binaries.
 */
import { assertEquals } from "../assert.ts";
import type { Channel } from "../../src/config/schema.ts";
import { Supervisor } from "../../src/gateway/supervisor.ts";
import { Secret } from "../../src/secret.ts";
import { credentialNames } from "../../src/vault/types.ts";
import { captureLogger, MemoryCredentials, startTestGateway, waitFor } from "../ipc/helpers.ts";
import { deliver, fakeGraph, notification, textMessage } from "../fakes/whatsapp_graph.ts";
import { fakeBotFramework, messageActivity, postActivity } from "../fakes/botframework.ts";
import { fakeHomeserver } from "../fakes/matrix_homeserver.ts";
import { freePort } from "./helpers.ts";

async function rig(channel: Channel, creds: Record<string, string>, env: Record<string, string>) {
  const gw = await startTestGateway([channel]);
  const store = new MemoryCredentials();
  store.set(credentialNames.adapterKey(channel), gw.ids[channel].seed);
  for (const [k, v] of Object.entries(creds)) store.set(k, new Secret(v));
  const { log } = captureLogger();
  const sup = new Supervisor({
    channels: [channel],
    socketPath: gw.socketPath,
    gatewayPublicKey: gw.server.gatewayPublicKey,
    credentials: store,
    audit: gw.audit,
    log,
    liveness: gw.server,
    env: { PATH: Deno.env.get("PATH") ?? "", HOME: Deno.env.get("HOME") ?? "/tmp", ...env },
    isolation: "worker",
    backoff: { baseMs: 50, maxMs: 400 },
  });
  await sup.start();
  return {
    gw,
    async stop() {
      await sup.stop();
      await gw.close();
    },
  };
}

Deno.test("worker isolation: WhatsApp webhook verifies and reaches the gateway", async () => {
  const graph = fakeGraph();
  const port = freePort();
  const r = await rig("whatsapp", {
    "channel.whatsapp.access_token": "t",
    "channel.whatsapp.app_secret": "app-secret",
    "channel.whatsapp.verify_token": "v",
    "channel.whatsapp.phone_number_id": "PN",
  }, { WHATSAPP_GRAPH_URL: graph.url, WHATSAPP_LISTEN_PORT: String(port) });
  try {
    const url = `http://127.0.0.1:${port}/webhook`;
    let status = 0;
    for (let i = 0; i < 150 && status !== 200; i++) {
      status = await deliver(
        url,
        notification("PN", [textMessage("1", `w${i}`, "hi")]),
        "app-secret",
      )
        .catch(() => 0);
      if (status !== 200) await new Promise((res) => setTimeout(res, 100));
    }
    assertEquals(status, 200);
    assertEquals(await deliver(url, notification("PN", [textMessage("1", "x", "hi")]), "bad"), 401);
    await r.gw.waitInbound(1, 10_000);
    assertEquals(r.gw.inbound[0].message.text, "hi");
  } finally {
    await r.stop();
    await graph.close();
  }
});

Deno.test("worker isolation: Teams verifies a signed activity and reaches the gateway", async () => {
  const bf = await fakeBotFramework({ appId: "app", appPassword: "pw" });
  const port = freePort();
  const r = await rig("teams", {
    "channel.teams.app_id": "app",
    "channel.teams.app_password": "pw",
  }, {
    TEAMS_SERVICE_URL: bf.url,
    TEAMS_OPENID_URL: bf.openIdUrl,
    TEAMS_AUTH_URL: bf.authUrl,
    TEAMS_LISTEN_PORT: String(port),
  });
  try {
    const endpoint = `http://127.0.0.1:${port}/api/messages`;
    let status = 0;
    for (let i = 0; i < 150 && status !== 202; i++) {
      const act = messageActivity(bf.url, { id: `a${i}`, from: "ann", text: "hello" });
      status = await postActivity(endpoint, act, await bf.sign(bf.claims("app"))).catch(() => 0);
      if (status !== 202) await new Promise((res) => setTimeout(res, 100));
    }
    assertEquals(status, 202);
    await r.gw.waitInbound(1, 10_000);
    assertEquals(r.gw.inbound[0].message.senderId, "ann");
  } finally {
    await r.stop();
    await bf.close();
  }
});

Deno.test("worker isolation: Matrix syncs through matrix-js-sdk and reaches the gateway", async () => {
  const hs = fakeHomeserver({ userId: "@bot:fake.test", accessToken: "tok" });
  hs.addRoom("!dm:fake.test", ["@ann:fake.test"]);
  const r = await rig("matrix", {
    "channel.matrix.access_token": "tok",
    "channel.matrix.user_id": "@bot:fake.test",
  }, { MATRIX_HOMESERVER_URL: hs.url });
  try {
    await waitFor(() => hs.syncs > 1, 20_000, "the adapter's sync loop");
    hs.push("!dm:fake.test", {
      sender: "@ann:fake.test",
      type: "m.room.message",
      content: { msgtype: "m.text", body: "hello" },
    });
    await r.gw.waitInbound(1, 10_000);
    assertEquals(r.gw.inbound[0].message.text, "hello");
  } finally {
    await r.stop();
    await hs.close();
  }
});
