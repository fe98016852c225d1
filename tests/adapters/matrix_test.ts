/**
 * The Matrix adapter (real matrix-js-sdk) against a fake homeserver: DMs, room mention rules,
 * threads and replies, edits, long messages, files in and out, approvals by reaction, invites
 * only from allowed users, encrypted rooms refused (and never written to), sync errors retried;
 * then end to end through the supervisor, router and a fake model.
 */
import { assert, assertEquals, assertStringIncludes } from "../assert.ts";
import { createMatrixDriver, E2EE_REFUSAL } from "../../adapters/matrix/main.ts";
import { fakeHomeserver } from "../fakes/matrix_homeserver.ts";
import { fakeChat } from "../fakes/openai_chat.ts";
import { startChannelGateway, startDriverFixture, waitConnected, waitFor } from "./helpers.ts";
import type { OutboundFields } from "../../src/ipc/codec.ts";

const BOT = "@wirken:fake.test";
const TOKEN = "syt_matrix_test_token";
const OWNER = "@ann:fake.test";
const CREDS = { "channel.matrix.access_token": TOKEN, "channel.matrix.user_id": BOT };
const DM = "!dm:fake.test";
const GROUP = "!group:fake.test";

async function startDriver() {
  const hs = fakeHomeserver({ userId: BOT, accessToken: TOKEN });
  hs.addRoom(DM, [OWNER]);
  hs.addRoom(GROUP, [OWNER, "@bob:fake.test", "@carl:fake.test"]);
  const t = await startDriverFixture({
    channel: "matrix",
    fake: hs,
    createDriver: () => createMatrixDriver({ homeserver: hs.url, allowedInviters: [OWNER] }),
    credentials: CREDS,
    ready: (driver) => driver.ready,
  });
  // Matrix tests name the room and text first; the rest of the message is optional.
  const out = (conversationId: string, text: string, extra: Partial<OutboundFields> = {}) =>
    t.out({ conversationId, text, ...extra });
  return { ...t, hs, out };
}

const text = (body: string, extra: Record<string, unknown> = {}) => ({
  type: "m.room.message",
  content: { msgtype: "m.text", body, ...extra },
});

Deno.test("matrix: DM round trip, reply relation, edit, long split", async () => {
  const t = await startDriver();
  try {
    const id = t.hs.push(DM, { sender: OWNER, ...text("hello bot") });
    await waitFor(() => t.rec.inbound.length === 1, 5000, "inbound");
    const m = t.rec.inbound[0];
    assertEquals([m.id, m.senderId, m.conversationId, m.text, m.isGroup], [
      id,
      OWNER,
      DM,
      "hello bot",
      false,
    ]);
    const r = await t.out(DM, "Hi **Ann** <script>", { replyToId: id });
    assert(r.ok, r.error);
    const sent = t.hs.sent[0];
    assertEquals(sent.type, "m.room.message");
    assertEquals(sent.content.body, "Hi **Ann** <script>");
    assertEquals(sent.content.formatted_body, "Hi <strong>Ann</strong> &lt;script&gt;");
    assertEquals(sent.content["m.relates_to"], { "m.in_reply_to": { event_id: id } });
    const e = await t.out(DM, "Hi Ann, edited", { editId: r.messageId });
    assert(e.ok, e.error);
    assertEquals(t.hs.sent[1].content["m.relates_to"], {
      rel_type: "m.replace",
      event_id: r.messageId,
    });
    assertEquals(
      (t.hs.sent[1].content["m.new_content"] as { body: string }).body,
      "Hi Ann, edited",
    );
    const long = "word ".repeat(8000); // 40 000 chars
    assert((await t.out(DM, long)).ok);
    assertEquals(t.hs.sent.length, 5, "split in three at 16 000");
  } finally {
    await t.close();
  }
});

Deno.test("matrix: rooms answer mentions and replies to the bot, in threads too", async () => {
  const t = await startDriver();
  try {
    t.hs.push(GROUP, { sender: OWNER, ...text("just chatting") });
    const asked = t.hs.push(GROUP, {
      sender: OWNER,
      ...text("wirken: what time is it?", { "m.mentions": { user_ids: [BOT] } }),
    });
    await waitFor(() => t.rec.inbound.length === 1);
    assertEquals(t.rec.inbound[0].text, "what time is it?");
    assertEquals(t.rec.inbound[0].isGroup, true);
    assertEquals(t.rec.inbound[0].metadata?.reason, "mention");
    // The bot answers in a thread under the question; a follow-up replying to the bot's
    // answer in that thread needs no mention.
    const r = await t.out(`${GROUP}/${asked}`, "noon", { replyToId: asked });
    assert(r.ok, r.error);
    assertEquals(t.hs.sent[0].content["m.relates_to"], {
      rel_type: "m.thread",
      event_id: asked,
      is_falling_back: false,
      "m.in_reply_to": { event_id: asked },
    });
    await waitFor(() => t.hs.sent.length === 1);
    await new Promise((res) => setTimeout(res, 200)); // the echo of our message arrives
    t.hs.push(GROUP, {
      sender: "@bob:fake.test",
      ...text("and tomorrow?", {
        "m.relates_to": {
          rel_type: "m.thread",
          event_id: asked,
          "m.in_reply_to": { event_id: r.messageId },
        },
      }),
    });
    await waitFor(() => t.rec.inbound.length === 2);
    const follow = t.rec.inbound[1];
    assertEquals(follow.conversationId, `${GROUP}/${asked}`);
    assertEquals(follow.metadata?.thread, asked);
    assertEquals(follow.replyToId, r.messageId);
  } finally {
    await t.close();
  }
});

Deno.test("matrix: invites are accepted only from allowed users; encrypted rooms never", async () => {
  const t = await startDriver();
  try {
    t.hs.invite("!stranger:fake.test", "@eve:fake.test");
    t.hs.invite("!secret:fake.test", OWNER, true);
    t.hs.invite("!ok:fake.test", OWNER);
    await waitFor(() => t.hs.joined.length === 1 && t.hs.left.length === 2, 5000, "invites");
    assertEquals(t.hs.joined, ["!ok:fake.test"]);
    assertEquals(t.hs.left.sort(), ["!secret:fake.test", "!stranger:fake.test"]);
    const log = t.rec.lines.join("");
    assertStringIncludes(log, "not on the allow-list");
    assertStringIncludes(log, "encrypted room");
  } finally {
    await t.close();
  }
});

Deno.test("matrix: an encrypted room gets no plain text, ever; encrypted events are ignored", async () => {
  const t = await startDriver();
  try {
    const ENC = "!enc:fake.test";
    t.hs.addRoom(ENC, [OWNER], [{
      type: "m.room.encryption",
      state_key: "",
      sender: OWNER,
      content: { algorithm: "m.megolm.v1.aes-sha2" },
      event_id: "$enc1",
      origin_server_ts: Date.now() - 60_000,
    }]);
    await new Promise((r) => setTimeout(r, 300));
    t.hs.push(ENC, {
      sender: OWNER,
      type: "m.room.encrypted",
      content: { algorithm: "m.megolm.v1.aes-sha2", ciphertext: "xyz" },
    });
    await new Promise((r) => setTimeout(r, 300));
    assertEquals(t.rec.inbound.length, 0);
    const r = await t.out(ENC, "secret answer");
    assert(!r.ok);
    assertEquals(r.error, E2EE_REFUSAL);
    const typing = t.hs.typing.length;
    await t.driver.onTyping!(ENC);
    assertEquals(t.hs.typing.length, typing);
    const approval = await t.driver.onApprovalRequest!({
      type: "approvalRequest",
      requestId: "q",
      conversationId: ENC,
      toolName: "exec",
      summary: "run?",
      tier: "2",
      expiresAtMs: Date.now() + 60_000,
    });
    assertEquals(approval.approved, false);
    assertEquals(t.hs.sent.filter((s) => s.roomId === ENC), [], "nothing was sent into it");
  } finally {
    await t.close();
  }
});

Deno.test("matrix: files in (authenticated media) and out (upload); approval by reaction", async () => {
  const t = await startDriver();
  try {
    const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 7, 7]);
    t.hs.media.set("mxc://fake.test/pic1", { type: "image/png", data: png });
    t.hs.push(DM, {
      sender: OWNER,
      type: "m.room.message",
      content: {
        msgtype: "m.image",
        body: "pic.png",
        url: "mxc://fake.test/pic1",
        info: { mimetype: "image/png", size: png.length },
      },
    });
    await waitFor(() => t.rec.inbound.length === 1);
    const m = t.rec.inbound[0];
    assertEquals(m.attachments?.map((a) => [a.name, a.mimeType, a.data]), [[
      "pic.png",
      "image/png",
      png,
    ]]);
    assertEquals(m.text, "");
    const r = await t.out(DM, "", {
      attachments: [{
        name: "r.txt",
        mimeType: "text/plain",
        url: "",
        data: png,
        size: png.length,
      }],
    });
    assert(r.ok, r.error);
    const file = t.hs.sent.at(-1)!.content as { msgtype: string; url: string };
    assertEquals(file.msgtype, "m.file");
    assertEquals(t.hs.media.get(file.url)?.data, png);

    const asked = t.driver.onApprovalRequest!({
      type: "approvalRequest",
      requestId: "q",
      conversationId: DM,
      toolName: "exec",
      summary: "Run `ls`?",
      tier: "2",
      expiresAtMs: Date.now() + 60_000,
    });
    await waitFor(() => t.hs.sent.filter((s) => s.type === "m.reaction").length === 2);
    const prompt = t.hs.sent.find((s) =>
      s.type === "m.room.message" && s.content.msgtype === "m.notice"
    )!;
    assertStringIncludes(String(prompt.content.body), "Run `ls`?");
    t.hs.push(DM, {
      sender: OWNER,
      type: "m.reaction",
      content: {
        "m.relates_to": { rel_type: "m.annotation", event_id: prompt.eventId, key: "✅" },
      },
    });
    assertEquals(await asked, { approved: true, decidedBy: OWNER });
    assertEquals(t.rec.inbound.length, 1, "the reaction is not a message");
  } finally {
    await t.close();
  }
});

Deno.test("matrix: sync errors are retried; messages after the outage still arrive", async () => {
  const t = await startDriver();
  try {
    t.hs.failSyncs(1);
    t.hs.push(DM, { sender: OWNER, ...text("after the outage") });
    await waitFor(() => t.rec.inbound.length === 1, 20_000, "the message after retries");
    assertEquals(t.rec.inbound[0].text, "after the outage");
  } finally {
    await t.close();
  }
});

Deno.test("matrix e2e: supervisor-run adapter -> router -> fake model -> homeserver; strangers refused", async () => {
  const hs = fakeHomeserver({ userId: BOT, accessToken: TOKEN });
  hs.addRoom(DM, [OWNER]);
  hs.addRoom("!eve:fake.test", ["@eve:fake.test"]);
  const model = fakeChat(() => ({ text: "Hello from the model." }));
  const gw = await startChannelGateway({
    channel: "matrix",
    credentials: CREDS,
    allowFrom: [OWNER],
    modelUrl: model.baseUrl,
    env: { MATRIX_HOMESERVER_URL: hs.url },
  });
  try {
    await waitConnected(gw.gateway, "matrix");
    // The adapter syncs once connected; wait for its first sync before talking.
    await waitFor(() => hs.syncs > 1, 20_000, "the adapter's sync loop").catch(async (e) => {
      throw new Error(`${e}\n${await Deno.readTextFile(`${gw.dataDir}/logs/wirken.log`)}`);
    });
    // The allow-list reaches the adapter from config: the owner's invite is joined, a
    // stranger's declined.
    hs.invite("!from-owner:fake.test", OWNER);
    hs.invite("!from-eve:fake.test", "@eve:fake.test");
    await waitFor(() => hs.joined.length === 1 && hs.left.length === 1, 10_000, "invites");
    assertEquals([hs.joined, hs.left], [["!from-owner:fake.test"], ["!from-eve:fake.test"]]);
    hs.push("!eve:fake.test", { sender: "@eve:fake.test", ...text("let me in") });
    const id = hs.push(DM, { sender: OWNER, ...text("hello") });
    await waitFor(() => hs.sent.length >= 1, 20_000, "a reply on Matrix").catch(async (e) => {
      throw new Error(`${e}\n${await Deno.readTextFile(`${gw.dataDir}/logs/wirken.log`)}`);
    });
    await new Promise((r) => setTimeout(r, 300));
    assertEquals(
      hs.sent.length,
      1,
      `the stranger got nothing: ${model.requests.length} ${await Deno.readTextFile(
        `${gw.dataDir}/logs/wirken.log`,
      )}`,
    );
    assertEquals(hs.sent[0].roomId, DM);
    assertEquals(hs.sent[0].content.body, "Hello from the model.");
    assertEquals(hs.sent[0].content["m.relates_to"], { "m.in_reply_to": { event_id: id } });
    assertEquals(model.requests.length, 1);
  } finally {
    await gw.close();
    await hs.close();
    await model.close();
  }
});

Deno.test("matrix e2e: a tool call waits for the owner's ✅ reaction, then runs", async () => {
  const hs = fakeHomeserver({ userId: BOT, accessToken: TOKEN });
  hs.addRoom(DM, [OWNER]);
  const model = fakeChat((n) =>
    n === 0
      ? { calls: [{ name: "write_file", args: { path: "note.txt", content: "hi" } }] }
      : { text: "Written." }
  );
  const gw = await startChannelGateway({
    channel: "matrix",
    credentials: CREDS,
    allowFrom: [OWNER],
    modelUrl: model.baseUrl,
    env: { MATRIX_HOMESERVER_URL: hs.url },
    config: { tools: { tiers: { write_file: 3 } } },
  });
  try {
    await waitConnected(gw.gateway, "matrix");
    await waitFor(() => hs.syncs > 1, 20_000, "the adapter's sync loop");
    hs.push(DM, { sender: OWNER, ...text("write the note") });
    const prompts = () =>
      hs.sent.filter((s) =>
        s.type === "m.room.message" && String(s.content.body).includes("React")
      );
    await waitFor(() => prompts().length === 1, 20_000, "the approval prompt");
    await waitFor(() => hs.sent.filter((s) => s.type === "m.reaction").length === 2, 5000);
    assertEquals(model.requests.length, 1, "the tool waits");
    // A stranger's reaction decides nothing (the gateway asks again); the owner's does.
    const react = (sender: string, eventId: string) =>
      hs.push(DM, {
        sender,
        type: "m.reaction",
        content: { "m.relates_to": { rel_type: "m.annotation", event_id: eventId, key: "✅" } },
      });
    react("@eve:fake.test", prompts()[0].eventId);
    await waitFor(() => prompts().length === 2, 20_000, "asked again after the stranger");
    assertEquals(model.requests.length, 1, "still waiting after the stranger's reaction");
    react(OWNER, prompts()[1].eventId);
    await waitFor(
      () => hs.sent.some((s) => s.content.body === "Written."),
      20_000,
      "the answer after the approval",
    );
    assertEquals(await Deno.readTextFile(`${gw.dataDir}/workspace/default/note.txt`), "hi");
  } finally {
    await gw.close();
    await hs.close();
    await model.close();
  }
});
