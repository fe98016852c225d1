/**
 * The Teams adapter against a fake Bot Framework: JWT forgeries refused (expired, wrong
 * audience, wrong issuer, unknown key, `alg: none`, no token, serviceUrl mismatch or off the
 * allow-list), mention rules, connector replies with a client-credentials token, edits, split,
 * approval cards, images in; then end to end through the supervisor, router and a fake model.
 */
import { assert, assertEquals, assertStringIncludes } from "../assert.ts";
import { createTeamsDriver } from "../../adapters/teams/main.ts";
import {
  fakeBotFramework,
  messageActivity,
  postActivity,
  rsaKeyPair,
  signJwt,
} from "../fakes/botframework.ts";
import { fakeChat } from "../fakes/openai_chat.ts";
import {
  freePort,
  recordingContext,
  startChannelGateway,
  waitConnected,
  waitFor,
} from "./helpers.ts";

const APP_ID = "11111111-2222-3333-4444-555555555555";
const APP_PASSWORD = "teams-app-password-for-tests";
const CREDS = {
  "channel.teams.app_id": APP_ID,
  "channel.teams.app_password": APP_PASSWORD,
};

async function startDriver() {
  const bf = await fakeBotFramework({ appId: APP_ID, appPassword: APP_PASSWORD });
  const driver = createTeamsDriver({
    port: 0,
    hostname: "127.0.0.1",
    openIdUrl: bf.openIdUrl,
    tokenUrl: bf.authUrl,
    serviceHosts: ["smba.trafficmanager.net:443", new URL(bf.url).host],
  });
  const rec = recordingContext("teams", CREDS);
  const running = driver.start(rec.ctx);
  const endpoint = `http://127.0.0.1:${await driver.port}/api/messages`;
  return {
    bf,
    driver,
    rec,
    endpoint,
    /** Posts `activity` with a valid token. */
    async post(activity: Record<string, unknown>) {
      return await postActivity(endpoint, activity, await bf.sign(bf.claims(APP_ID)));
    },
    async close() {
      rec.stop();
      await running;
      await bf.close();
    },
  };
}

Deno.test("teams: forged, expired and misaddressed tokens are refused; nothing reaches the agent", async () => {
  const t = await startDriver();
  try {
    const act = messageActivity(t.bf.url, { id: "f1", from: "aad-user", text: "hi" });
    const c = (o: Record<string, unknown> = {}) => t.bf.claims(APP_ID, o);
    const other = await rsaKeyPair();
    const cases: [string, string | null][] = [
      ["no token", null],
      ["expired", await t.bf.sign(c({ exp: Math.floor(Date.now() / 1000) - 3600 }))],
      ["not yet valid", await t.bf.sign(c({ nbf: Math.floor(Date.now() / 1000) + 3600 }))],
      ["wrong audience", await t.bf.sign(c({ aud: "another-app" }))],
      ["wrong issuer", await t.bf.sign(c({ iss: "https://sts.windows.net/evil/" }))],
      ["unknown key, known kid", await signJwt(c(), other.privateKey, "test-key-1")],
      ["unknown kid", await signJwt(c(), other.privateKey, "attacker-key")],
      ["alg none", await signJwt(c(), other.privateKey, "test-key-1", "none")],
      ["serviceurl claim mismatch", await t.bf.sign(c({ serviceurl: "https://evil.example" }))],
      ["garbage", "not.a.jwt"],
    ];
    for (const [name, token] of cases) {
      assertEquals(await postActivity(t.endpoint, act, token), 401, name);
    }
    // A valid token with an activity of a channel the key is not endorsed for.
    const webchat = { ...act, channelId: "webchat" };
    assertEquals(await postActivity(t.endpoint, webchat, await t.bf.sign(c())), 401, "endorsement");
    // A correctly signed token whose activity names a serviceUrl off the allow-list: our
    // token would be sent there, so it is refused too.
    const evil = "https://evil.example";
    const offList = messageActivity(evil, { id: "f2", from: "aad-user", text: "hi" });
    const tok = await t.bf.sign(t.bf.claims(APP_ID, { serviceurl: evil }));
    assertEquals(await postActivity(t.endpoint, offList, tok), 403);
    // Oversized bodies are refused before any token work.
    assertEquals(
      await postActivity(t.endpoint, new Uint8Array(10 * 1024 * 1024), await t.bf.sign(c())),
      413,
    );
    await new Promise((r) => setTimeout(r, 100));
    assertEquals(t.rec.inbound.length, 0);
    const log = t.rec.lines.join("");
    assertStringIncludes(log, "wrong audience");
    assert(!log.includes("eyJ"), "no token in the log");
  } finally {
    await t.close();
  }
});

Deno.test("teams: DM round trip via the connector; edits, split, typing; duplicates once", async () => {
  const t = await startDriver();
  try {
    const act = messageActivity(t.bf.url, { id: "m1", from: "aad-ann", text: "hello bot" });
    assertEquals(await t.post(act), 202);
    assertEquals(await t.post(act), 202, "redelivery acknowledged");
    await waitFor(() => t.rec.inbound.length === 1);
    await new Promise((r) => setTimeout(r, 100));
    assertEquals(t.rec.inbound.length, 1, "but handled once");
    const m = t.rec.inbound[0];
    assertEquals([m.senderId, m.conversationId, m.text, m.isGroup], [
      "aad-ann",
      "a:conv-aad-ann",
      "hello bot",
      false,
    ]);
    const out = (text: string, extra: Record<string, unknown> = {}) =>
      t.driver.onOutbound({
        requestId: "r",
        conversationId: m.conversationId,
        text,
        replyToId: "",
        attachments: [],
        editId: "",
        ...extra,
      });
    const r = await out("Hi **Ann**", { replyToId: "m1" });
    assert(r.ok, r.error);
    assertEquals(t.bf.calls[0].body, {
      type: "message",
      text: "Hi **Ann**",
      textFormat: "markdown",
      replyToId: "m1",
    });
    assertEquals(t.bf.calls[0].authorization, "Bearer bf-token-1");
    assertEquals(t.bf.tokenRequests[0].scope, "https://api.botframework.com/.default");
    const e = await out("Hi Ann, edited", { editId: r.messageId });
    assert(e.ok, e.error);
    assertEquals([t.bf.calls[1].method, t.bf.calls[1].activityId], ["PUT", r.messageId]);
    const long = "word ".repeat(7000); // 35 000 chars > 28 000
    assert((await out(long)).ok);
    assertEquals(t.bf.calls.length, 4);
    await t.driver.onTyping!(m.conversationId);
    assertEquals(t.bf.calls.at(-1)!.body, { type: "typing" });
    assertEquals(t.bf.tokenRequests.length, 1, "the token is cached");
    // A 502 is retried; a 401 drops the cached token and fetches a new one.
    t.bf.failNext(1, 502);
    assert((await out("after a 502")).ok);
    t.bf.failNext(1, 401);
    assert((await out("after a 401")).ok);
    assertEquals(t.bf.calls.slice(-2).map((c) => c.body.text), ["after a 502", "after a 401"]);
    assertEquals(t.bf.tokenRequests.length, 2, "a fresh token after the 401");
    assert(
      t.bf.calls.at(-1)!.authorization !== t.bf.calls[0].authorization,
      "the new token is used",
    );
  } finally {
    await t.close();
  }
});

Deno.test("teams: group chats answer mentions only; the mention is stripped", async () => {
  const t = await startDriver();
  try {
    const conv = "19:group@thread.v2";
    await t.post(messageActivity(t.bf.url, {
      id: "g1",
      from: "aad-ann",
      text: "chatting",
      conversation: conv,
      type: "groupChat",
    }));
    await t.post(messageActivity(t.bf.url, {
      id: "g2",
      from: "aad-ann",
      text: "what time is it?",
      conversation: conv,
      type: "groupChat",
      mentionBot: true,
    }));
    await waitFor(() => t.rec.inbound.length === 1);
    await new Promise((r) => setTimeout(r, 100));
    assertEquals(t.rec.inbound.map((m) => [m.id, m.text, m.isGroup]), [
      ["g2", "what time is it?", true],
    ]);
  } finally {
    await t.close();
  }
});

Deno.test("teams: approval card buttons answer with the clicker; images come in inline", async () => {
  const t = await startDriver();
  try {
    const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 9, 9]);
    t.bf.addFile("pic.png", png, "image/png");
    await t.post(messageActivity(t.bf.url, {
      id: "i1",
      from: "aad-ann",
      text: "see",
      attachments: [
        { contentType: "image/png", contentUrl: `${t.bf.url}/files/pic.png`, name: "pic.png" },
        { contentType: "image/png", contentUrl: "https://elsewhere.example/x.png", name: "x.png" },
      ],
    }));
    await waitFor(() => t.rec.inbound.length === 1);
    const m = t.rec.inbound[0];
    assertEquals(m.attachments?.map((a) => [a.name, a.data]), [["pic.png", png]]);
    assertStringIncludes(m.metadata?.attachmentsSkipped ?? "", "x.png");

    const asked = t.driver.onApprovalRequest!({
      type: "approvalRequest",
      requestId: "q",
      conversationId: m.conversationId,
      toolName: "exec",
      summary: "Run `ls`?",
      tier: "2",
      expiresAtMs: Date.now() + 60_000,
    });
    await waitFor(() => t.bf.calls.length === 1);
    const card = (t.bf.calls[0].body.attachments as {
      contentType: string;
      content: { actions: { title: string; data: { wirken: string } }[] };
    }[])[0];
    assertEquals(card.contentType, "application/vnd.microsoft.card.adaptive");
    const deny = card.content.actions.find((a) => a.title === "Deny")!.data;
    await t.post(
      messageActivity(t.bf.url, {
        id: "c1",
        from: "aad-bob",
        text: "",
        value: deny,
        conversation: m.conversationId,
      }),
    );
    assertEquals(await asked, { approved: false, decidedBy: "aad-bob" });
    await new Promise((r) => setTimeout(r, 50));
    assertEquals(t.rec.inbound.length, 1, "the click is not a message to the agent");
  } finally {
    await t.close();
  }
});

Deno.test("teams e2e: supervisor-run adapter -> router -> fake model -> connector; strangers refused", async () => {
  const bf = await fakeBotFramework({ appId: APP_ID, appPassword: APP_PASSWORD });
  const model = fakeChat(() => ({ text: "Hello from the model." }));
  const port = freePort();
  const gw = await startChannelGateway({
    channel: "teams",
    credentials: CREDS,
    allowFrom: ["aad-ann"],
    modelUrl: model.baseUrl,
    env: {
      TEAMS_SERVICE_URL: bf.url,
      TEAMS_OPENID_URL: bf.openIdUrl,
      TEAMS_AUTH_URL: bf.authUrl,
      TEAMS_LISTEN_PORT: String(port),
    },
  });
  try {
    await waitConnected(gw.gateway, "teams");
    const endpoint = `http://127.0.0.1:${port}/api/messages`;
    let status = 0;
    for (let i = 0; i < 100 && status !== 202; i++) {
      const stranger = messageActivity(bf.url, { id: `s${i}`, from: "aad-eve", text: "let me in" });
      status = await postActivity(endpoint, stranger, await bf.sign(bf.claims(APP_ID)))
        .catch(() => 0);
      if (status !== 202) await new Promise((r) => setTimeout(r, 100));
    }
    assertEquals(
      status,
      202,
      await Deno.readTextFile(`${gw.dataDir}/logs/wirken.log`).catch(() => ""),
    );
    const act = messageActivity(bf.url, { id: "e1", from: "aad-ann", text: "hello" });
    assertEquals(await postActivity(endpoint, act, await bf.sign(bf.claims(APP_ID))), 202);
    // Typing indicators may go out while the model works; the messages are what count.
    const messages = () => bf.calls.filter((c) => c.body.type === "message");
    await waitFor(() => messages().length >= 1, 20_000, "a reply on Teams");
    await new Promise((r) => setTimeout(r, 300));
    assertEquals(messages().length, 1, "the stranger got nothing");
    assert(bf.calls.every((c) => c.conversationId === "a:conv-aad-ann"), "not even typing");
    assertEquals(messages()[0].body.text, "Hello from the model.");
    assertEquals(messages()[0].body.replyToId, "e1");
    assertEquals(model.requests.length, 1);
  } finally {
    await gw.close();
    await bf.close();
    await model.close();
  }
});

Deno.test("teams e2e: a tool call waits for the owner's Approve card button, then runs", async () => {
  const bf = await fakeBotFramework({ appId: APP_ID, appPassword: APP_PASSWORD });
  const model = fakeChat((n) =>
    n === 0
      ? { calls: [{ name: "write_file", args: { path: "note.txt", content: "hi" } }] }
      : { text: "Written." }
  );
  const port = freePort();
  const gw = await startChannelGateway({
    channel: "teams",
    credentials: CREDS,
    allowFrom: ["aad-ann"],
    modelUrl: model.baseUrl,
    env: {
      TEAMS_SERVICE_URL: bf.url,
      TEAMS_OPENID_URL: bf.openIdUrl,
      TEAMS_AUTH_URL: bf.authUrl,
      TEAMS_LISTEN_PORT: String(port),
    },
    config: { tools: { tiers: { write_file: 3 } } },
  });
  try {
    await waitConnected(gw.gateway, "teams");
    const endpoint = `http://127.0.0.1:${port}/api/messages`;
    const post = async (a: Record<string, unknown>) =>
      await postActivity(endpoint, a, await bf.sign(bf.claims(APP_ID))).catch(() => 0);
    let status = 0;
    for (let i = 0; i < 100 && status !== 202; i++) {
      status = await post(messageActivity(bf.url, { id: "w1", from: "aad-ann", text: "write" }));
      if (status !== 202) await new Promise((r) => setTimeout(r, 100));
    }
    assertEquals(status, 202);
    type Card = { content: { actions: { title: string; data: { wirken: string } }[] } };
    const cards = () => bf.calls.filter((c) => Array.isArray(c.body.attachments));
    await waitFor(() => cards().length === 1, 20_000, "the approval card");
    const approve = (cards()[0].body.attachments as Card[])[0].content.actions
      .find((a) => a.title === "Approve")!.data;
    assertEquals(model.requests.length, 1, "the tool waits");
    await post(
      messageActivity(bf.url, { id: "click1", from: "aad-ann", text: "", value: approve }),
    );
    await waitFor(
      () => bf.calls.some((c) => c.body.text === "Written."),
      20_000,
      "the answer after the approval",
    );
    assertEquals(await Deno.readTextFile(`${gw.dataDir}/workspace/default/note.txt`), "hi");
  } finally {
    await gw.close();
    await bf.close();
    await model.close();
  }
});
