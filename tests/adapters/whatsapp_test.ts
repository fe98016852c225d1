/**
 * The WhatsApp adapter against a fake Graph API: the driver in-process for the webhook's
 * security rules (signature, replay, size, verification handshake) and the outbound rules
 * (24-hour window, splitting, buttons, media, retry); then the real gateway, supervisor and
 * adapter process end to end with a scripted fake model.
 */
import { assert, assertEquals, assertStringIncludes } from "../assert.ts";
import { createWhatsAppDriver } from "../../adapters/whatsapp/main.ts";
import { deliver, fakeGraph, notification, textMessage } from "../fakes/whatsapp_graph.ts";
import { fakeChat } from "../fakes/openai_chat.ts";
import {
  freePort,
  recordingContext,
  startChannelGateway,
  waitConnected,
  waitFor,
} from "./helpers.ts";

const PN = "PN100";
const SECRET = "wa-app-secret-for-tests";
const CREDS = {
  "channel.whatsapp.access_token": "wa-access-token-for-tests",
  "channel.whatsapp.app_secret": SECRET,
  "channel.whatsapp.verify_token": "wa-verify-token",
  "channel.whatsapp.phone_number_id": PN,
};

async function startDriver() {
  const graph = fakeGraph();
  const driver = createWhatsAppDriver({ port: 0, graphUrl: graph.url, hostname: "127.0.0.1" });
  const rec = recordingContext("whatsapp", CREDS);
  const running = driver.start(rec.ctx);
  const port = await driver.port;
  const url = `http://127.0.0.1:${port}/webhook`;
  return {
    graph,
    driver,
    rec,
    url,
    async close() {
      rec.stop();
      await running;
      await graph.close();
    },
  };
}

Deno.test("whatsapp: GET verification answers the challenge only with the verify token", async () => {
  const t = await startDriver();
  try {
    const ok = await fetch(
      `${t.url}?hub.mode=subscribe&hub.verify_token=wa-verify-token&hub.challenge=987654`,
    );
    assertEquals([ok.status, await ok.text()], [200, "987654"]);
    const bad = await fetch(`${t.url}?hub.mode=subscribe&hub.verify_token=nope&hub.challenge=1`);
    assertEquals(bad.status, 403);
    await bad.body?.cancel();
  } finally {
    await t.close();
  }
});

Deno.test("whatsapp: signed text reaches the gateway once; forged, unsigned and replayed do not", async () => {
  const t = await startDriver();
  try {
    const n = notification(PN, [textMessage("111", "wamid.A", "hello")], [
      { wa_id: "111", name: "Ann" },
    ]);
    assertEquals(await deliver(t.url, n, "wrong-secret"), 401, "signed with another secret");
    assertEquals(await deliver(t.url, n, SECRET, null), 401, "no signature header");
    assertEquals(await deliver(t.url, n, SECRET, "sha256=" + "0".repeat(64)), 401, "forged");
    assertEquals(await deliver(t.url, n, SECRET), 200);
    assertEquals(await deliver(t.url, n, SECRET), 200, "a replay is acknowledged...");
    await waitFor(() => t.rec.inbound.length >= 1);
    await new Promise((r) => setTimeout(r, 100));
    assertEquals(t.rec.inbound.length, 1, "...but processed once");
    const m = t.rec.inbound[0];
    assertEquals([m.id, m.senderId, m.conversationId, m.text, m.senderName], [
      "wamid.A",
      "111",
      "111",
      "hello",
      "Ann",
    ]);
    // Bad signatures were logged without the body.
    const log = t.rec.lines.join("");
    assertStringIncludes(log, "X-Hub-Signature-256");
    assert(!log.includes("hello"), "the unauthenticated body is never logged");
  } finally {
    await t.close();
  }
});

Deno.test("whatsapp: a 10 MB body is refused before its signature is even computed", async () => {
  const t = await startDriver();
  try {
    const big = new Uint8Array(10 * 1024 * 1024).fill(0x20);
    assertEquals(await deliver(t.url, big, SECRET), 413);
    // Without content-length (chunked), the cap holds while streaming.
    const stream = new ReadableStream<Uint8Array>({
      start(c) {
        for (let i = 0; i < 40; i++) c.enqueue(new Uint8Array(256 * 1024));
        c.close();
      },
    });
    const res = await fetch(t.url, { method: "POST", body: stream });
    assertEquals(res.status, 413);
    await res.body?.cancel();
    assertEquals(t.rec.inbound.length, 0);
  } finally {
    await t.close();
  }
});

Deno.test("whatsapp: an old delivery (older than 24 h) does not start a turn", async () => {
  const t = await startDriver();
  try {
    const old = Date.now() - 25 * 3600_000;
    assertEquals(
      await deliver(t.url, notification(PN, [textMessage("111", "w.old", "x", old)]), SECRET),
      200,
    );
    await new Promise((r) => setTimeout(r, 100));
    assertEquals(t.rec.inbound.length, 0);
  } finally {
    await t.close();
  }
});

Deno.test("whatsapp: image in is downloaded via the media endpoint", async () => {
  const t = await startDriver();
  try {
    const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 1, 2, 3]);
    t.graph.addMedia("MEDIA1", png, "image/png");
    const msg = {
      from: "111",
      id: "wamid.IMG",
      timestamp: String(Math.floor(Date.now() / 1000)),
      type: "image",
      image: { id: "MEDIA1", mime_type: "image/png", caption: "look" },
    };
    assertEquals(await deliver(t.url, notification(PN, [msg]), SECRET), 200);
    await waitFor(() => t.rec.inbound.length === 1);
    const m = t.rec.inbound[0];
    assertEquals(m.text, "look");
    assertEquals(m.attachments?.[0].mimeType, "image/png");
    assertEquals(m.attachments?.[0].data, png);
  } finally {
    await t.close();
  }
});

Deno.test("whatsapp: outbound honours the 24-hour window, splits, shows approval buttons, retries", async () => {
  const t = await startDriver();
  const out = (text: string, extra: Record<string, unknown> = {}) =>
    t.driver.onOutbound({
      requestId: "r",
      conversationId: "111",
      text,
      replyToId: "",
      attachments: [],
      editId: "",
      ...extra,
    });
  try {
    const refused = await out("hi");
    assert(!refused.ok);
    assertStringIncludes(refused.error, "24-hour window");
    assertEquals(t.graph.sent.length, 0);

    await deliver(t.url, notification(PN, [textMessage("111", "wamid.W", "hey")]), SECRET);
    await waitFor(() => t.rec.inbound.length === 1);

    await t.driver.onTyping!("111");
    assertEquals(t.graph.sent.pop()!.body, {
      messaging_product: "whatsapp",
      status: "read",
      message_id: "wamid.W",
      typing_indicator: { type: "text" },
    });
    const long = ("lorem ipsum ".repeat(500)).trim(); // 5999 chars > 4096
    const r = await out(long, { replyToId: "wamid.W" });
    assert(r.ok, r.error);
    assertEquals(t.graph.sent.length, 2);
    const bodies = t.graph.sent.map((s) => (s.body.text as { body: string }).body);
    assert(bodies.every((b) => b.length <= 4096));
    assertEquals(t.graph.sent[0].body.context, { message_id: "wamid.W" });
    assertEquals(t.graph.sent[0].authorization, "Bearer wa-access-token-for-tests");
    assertEquals(t.graph.sent[0].phoneNumberId, PN);

    // An approval request shows two reply buttons (the send is retried after a 503); the
    // press resolves it with the presser's id and is not forwarded as a message.
    t.graph.failNext(1, 503);
    const asked = t.driver.onApprovalRequest!({
      type: "approvalRequest",
      requestId: "q1",
      conversationId: "111",
      toolName: "exec",
      summary: "Run `ls` in the sandbox?",
      tier: "2",
      expiresAtMs: Date.now() + 60_000,
    });
    await waitFor(() => t.graph.sent.at(-1)?.body.type === "interactive");
    const last = t.graph.sent.at(-1)!.body as {
      interactive: { body: { text: string }; action: { buttons: { reply: { id: string } }[] } };
    };
    assertEquals(last.interactive.body.text, "Run `ls` in the sandbox?");
    const [approveId, denyId] = last.interactive.action.buttons.map((b) => b.reply.id);
    assert(/^wk1:a:/.test(approveId) && /^wk1:d:/.test(denyId));
    const press = (from: string, id: string, wamid: string) => ({
      from,
      id: wamid,
      timestamp: String(Math.floor(Date.now() / 1000)),
      type: "interactive",
      interactive: { type: "button_reply", button_reply: { id, title: "Approve" } },
    });
    // A press from another conversation does not decide it.
    await deliver(t.url, notification(PN, [press("222", approveId, "wamid.P0")]), SECRET);
    await deliver(t.url, notification(PN, [press("111", approveId, "wamid.P1")]), SECRET);
    assertEquals(await asked, { approved: true, decidedBy: "111" });
    await waitFor(() => t.rec.inbound.length === 2);
    assertEquals(t.rec.inbound.length, 2, "the stray press is forwarded as text; ours is not");
    assertEquals(t.rec.inbound[1].senderId, "222");

    const file = await out("", {
      attachments: [{
        name: "a.pdf",
        mimeType: "application/pdf",
        url: "",
        data: new Uint8Array(10),
        size: 10,
      }],
    });
    assert(file.ok, file.error);
    assertEquals([...t.graph.uploads.values()], [{ type: "application/pdf", size: 10 }]);
    assertEquals(t.graph.sent.at(-1)!.body.type, "document");

    const edit = await out("x", { editId: "wamid.out1" });
    assert(!edit.ok);
  } finally {
    await t.close();
  }
});

Deno.test("whatsapp e2e: supervisor-run adapter -> router -> fake model -> Graph API; strangers refused", async () => {
  const graph = fakeGraph();
  const model = fakeChat(() => ({ text: "Hi from the model." }));
  const port = freePort();
  const gw = await startChannelGateway({
    channel: "whatsapp",
    credentials: CREDS,
    allowFrom: ["111"],
    modelUrl: model.baseUrl,
    env: { WHATSAPP_GRAPH_URL: graph.url, WHATSAPP_LISTEN_PORT: String(port) },
  });
  try {
    await waitConnected(gw.gateway, "whatsapp");
    const url = `http://127.0.0.1:${port}/webhook`;
    // The adapter listens once it is connected; the first deliveries may find no socket yet.
    let status = 0;
    for (let i = 0; i < 100 && status !== 200; i++) {
      status = await deliver(
        url,
        notification(PN, [textMessage("999", `wamid.S${i}`, "let me in")]),
        SECRET,
      ).catch(() => 0);
      if (status !== 200) await new Promise((r) => setTimeout(r, 100));
    }
    assertEquals(status, 200);
    assertEquals(
      await deliver(url, notification(PN, [textMessage("111", "wamid.E1", "hello")]), SECRET),
      200,
    );
    // Typing indicators (read receipts) may go out while the model works; messages count.
    const messages = () => graph.sent.filter((s) => s.body.status === undefined);
    await waitFor(() => messages().length >= 1, 20_000, "a reply on WhatsApp");
    await new Promise((r) => setTimeout(r, 300));
    assertEquals(messages().length, 1, "the stranger got nothing");
    assert(
      graph.sent.every((s) => s.body.to === "111" || s.body.message_id === "wamid.E1"),
      "not even a typing indicator for the stranger",
    );
    const sent = messages()[0].body as { to: string; text: { body: string }; context?: unknown };
    assertEquals(sent.to, "111");
    assertEquals(sent.text.body, "Hi from the model.");
    assertEquals(sent.context, { message_id: "wamid.E1" });
    assertEquals(model.requests.length, 1, "only the allowed sender reached the model");
    assertStringIncludes(JSON.stringify(model.requests[0]), "hello");
  } finally {
    await gw.close();
    await graph.close();
    await model.close();
  }
});

Deno.test("whatsapp e2e: a tool call waits for the owner's Approve button, then runs", async () => {
  const graph = fakeGraph();
  const model = fakeChat((n) =>
    n === 0
      ? { calls: [{ name: "write_file", args: { path: "note.txt", content: "hi" } }] }
      : { text: "Written." }
  );
  const port = freePort();
  const gw = await startChannelGateway({
    channel: "whatsapp",
    credentials: CREDS,
    allowFrom: ["111"],
    modelUrl: model.baseUrl,
    env: { WHATSAPP_GRAPH_URL: graph.url, WHATSAPP_LISTEN_PORT: String(port) },
    config: { tools: { tiers: { write_file: 3 } } },
  });
  try {
    await waitConnected(gw.gateway, "whatsapp");
    const url = `http://127.0.0.1:${port}/webhook`;
    let status = 0;
    for (let i = 0; i < 100 && status !== 200; i++) {
      status = await deliver(
        url,
        notification(PN, [textMessage("111", "wamid.T", "write it")]),
        SECRET,
      )
        .catch(() => 0);
      if (status !== 200) await new Promise((r) => setTimeout(r, 100));
    }
    assertEquals(status, 200);
    const buttons = () => graph.sent.filter((s) => s.body.type === "interactive");
    await waitFor(() => buttons().length === 1, 20_000, "the approval buttons");
    const b = buttons()[0].body as {
      interactive: { action: { buttons: { reply: { id: string; title: string } }[] } };
    };
    const approve = b.interactive.action.buttons.find((x) => x.reply.title === "Approve")!.reply.id;
    assertEquals(model.requests.length, 1, "the tool waits");
    await deliver(
      url,
      notification(PN, [{
        from: "111",
        id: "wamid.PRESS",
        timestamp: String(Math.floor(Date.now() / 1000)),
        type: "interactive",
        interactive: { type: "button_reply", button_reply: { id: approve, title: "Approve" } },
      }]),
      SECRET,
    );
    await waitFor(
      () =>
        graph.sent.some((s) => (s.body.text as { body?: string } | undefined)?.body === "Written."),
      20_000,
      "the answer after the approval",
    );
    assertEquals(await Deno.readTextFile(`${gw.dataDir}/workspace/default/note.txt`), "hi");
  } finally {
    await gw.close();
    await graph.close();
    await model.close();
  }
});
