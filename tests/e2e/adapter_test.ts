/**
 * A compromised adapter process against the whole gateway. The test holds the real Ed25519
 * key of the Slack adapter (as malware inside that process would) and uses it to speak for
 * Telegram, replay a handshake, send garbage and forbidden frames, and flood; an honest
 * Telegram adapter (also played by the test) and a real supervised Discord adapter process must
 * not notice.
 */
import { assert, assertEquals, assertFalse } from "../assert.ts";
import type { Step } from "../fakes/openai_chat.ts";
import { lengthPrefixed } from "../../src/ipc/framing.ts";
import { canary, type E2e, type E2eOptions, procFile, waitUntil, withE2e } from "./harness.ts";
import { type FakeDiscord, fakeDiscord, message } from "../fakes/discord.ts";
import { connectPeer } from "./peer.ts";

/** The fake model answers "reply: <the user's last message>". */
function echo(_n: number, body: Record<string, unknown>): Step {
  const messages = (body.messages ?? []) as { role: string; content?: unknown }[];
  const last = [...messages].reverse().find((m) => m.role === "user");
  const content = typeof last?.content === "string" ? last.content : JSON.stringify(last?.content);
  return { text: `reply: ${content}` };
}

interface AdapterEntry {
  channel: string;
  pid: number | null;
  connected: boolean;
  restarts: number;
  state: string;
}

async function adapterStatus(e: E2e, channel: string): Promise<AdapterEntry | undefined> {
  try {
    const s = JSON.parse(await Deno.readTextFile(`${e.data}/sockets/status.json`));
    return (s.adapters as AdapterEntry[]).find((a) => a.channel === channel);
  } catch {
    return undefined;
  }
}

const socket = (e: E2e) => `${e.data}/sockets/gateway.sock`;

function userTexts(e: E2e): string {
  return JSON.stringify(e.model.requests.map((r) => r.messages));
}

/**
 * Telegram and Slack are played by the test (it holds their keys); Discord runs as the real
 * supervised adapter process (discord.js) against the fake Discord, with a canary bot token.
 */
function options(dc: FakeDiscord): E2eOptions {
  return {
    script: echo,
    channels: {
      telegram: { mode: "held", allowFrom: ["alice"] },
      slack: { mode: "held", allowFrom: ["bob"] },
      discord: { mode: "supervised", allowFrom: [DISCORD_OWNER] },
    },
    vaultValues: { "channel.discord.token": dc.token },
    env: { DISCORD_API_BASE: dc.apiBase },
  };
}

const DISCORD_OWNER = "222222222222222222";
const DISCORD_DM = "333333333333333333";

/** Sends a Discord message from the owner and waits for the reply posted on the fake. */
async function discordRoundTrip(dc: FakeDiscord, text: string): Promise<void> {
  const before = dc.posted().length;
  dc.dispatch(
    "MESSAGE_CREATE",
    message({ author: DISCORD_OWNER, channel: DISCORD_DM, content: text }),
  );
  await waitUntil(
    () => dc.posted().slice(before).some((c) => String(c.body.content).includes(`reply: ${text}`)),
    20_000,
    `the discord reply to "${text}"`,
  );
}

/** Waits until the Discord adapter is connected to the gateway and to the fake platform. */
async function discordUp(e: E2e, dc: FakeDiscord): Promise<AdapterEntry> {
  await waitUntil(async () => (await adapterStatus(e, "discord"))?.connected === true, 25_000);
  await waitUntil(() => dc.sessions() > 0, 20_000, "discord adapter on the fake platform");
  return (await adapterStatus(e, "discord"))!;
}

Deno.test("e2e compromised adapter: speaking for another channel, replay, garbage and forbidden frames are contained", async () => {
  const dc = fakeDiscord(canary("discord"));
  await withE2e(options(dc), async (e) => {
    await e.start();
    const { pid: discordPid, restarts: discordRestarts } = await discordUp(e, dc);
    await discordRoundTrip(dc, "discord one");

    const tg = await connectPeer(socket(e), "telegram", e.heldKeys.telegram!);
    assertEquals([tg.auth?.ok, tg.auth?.channel], [true, "telegram"]);
    await tg.inbound({ conversationId: "c-tg", senderId: "alice", text: "hello one" });
    await tg.waitOutbound((m) => m.text === "reply: hello one");

    // 1. The Slack key cannot authenticate as Telegram, and the failed attempt does not
    //    disturb the Telegram adapter's live connection.
    const claim = await connectPeer(socket(e), "slack", e.heldKeys.slack!, { claim: "telegram" });
    assertFalse(claim.auth?.ok ?? false, "a slack key claiming telegram is refused");
    assertFalse(tg.closed, "the real telegram connection survives the attempt");

    // 2. Authenticated as Slack, it stamps "telegram" into its frames and names a Telegram
    //    conversation and the Telegram owner: the gateway reads the channel from the
    //    connection, so this is a Slack message from a stranger, refused before the model.
    const sl = await connectPeer(socket(e), "slack", e.heldKeys.slack!);
    assertEquals([sl.auth?.ok, sl.auth?.channel], [true, "slack"]);
    await sl.inbound({
      channel: "telegram",
      conversationId: "c-tg",
      senderId: "alice",
      text: "forged as telegram",
    });
    await sl.inbound({
      channel: "telegram",
      conversationId: "c-sl",
      senderId: "bob",
      text: "bob here",
    });
    const bobReply = await sl.waitOutbound((m) => m.text === "reply: bob here");
    assertEquals(bobReply.conversationId, "c-sl");
    assertFalse(userTexts(e).includes("forged as telegram"), "the forged message reached no model");
    assertFalse(tg.outbound.some((m) => m.text.includes("bob here") || m.text.includes("forged")));
    assertFalse(sl.outbound.some((m) => m.text.includes("forged")));

    // 3. A recorded handshake replayed on a new connection is refused (the nonce is fresh).
    const replay = await connectPeer(socket(e), "slack", e.heldKeys.slack!, {
      replay: sl.response!,
    });
    assertFalse(replay.auth?.ok ?? false, "a replayed handshake is refused");

    // 4. Garbage, an oversized length prefix and a frame only the gateway may send: each one
    //    cuts that connection.
    const garbage = await connectPeer(socket(e), "slack", e.heldKeys.slack!);
    await garbage.raw(lengthPrefixed(crypto.getRandomValues(new Uint8Array(64))));
    assert(await garbage.waitClosed(), "garbage closes the connection");
    const huge = await connectPeer(socket(e), "slack", e.heldKeys.slack!);
    await huge.raw(new Uint8Array([0xff, 0xff, 0xff, 0xf0, 1, 2, 3, 4]));
    assert(await huge.waitClosed(), "an oversized frame length closes the connection");
    const forbidden = await connectPeer(socket(e), "slack", e.heldKeys.slack!);
    await forbidden.frame({
      type: "outbound",
      requestId: "r1",
      conversationId: "c-tg",
      text: "spoofed outbound",
      replyToId: "",
      attachments: [],
      editId: "",
    });
    assert(await forbidden.waitClosed(), "an adapter-sent outbound frame closes the connection");

    // 5. Nobody else noticed: Telegram still talks, Discord's process never restarted.
    assertFalse(tg.closed);
    await tg.inbound({ conversationId: "c-tg", senderId: "alice", text: "hello two" });
    await tg.waitOutbound((m) => m.text === "reply: hello two");
    assertFalse(tg.outbound.some((m) => m.text.includes("spoofed")));
    const discord = await adapterStatus(e, "discord");
    assertEquals([discord?.pid, discord?.connected, discord?.restarts], [
      discordPid,
      true,
      discordRestarts,
    ]);
    await discordRoundTrip(dc, "discord two");

    // 6. The audit log names the real channel of every message and records the refusals.
    const events = e.auditEvents();
    const inbound = events.filter((ev) => ev.kind === "message.in");
    assertEquals(
      inbound.map((ev) => [ev.channel, ev.actor]),
      [
        ["discord", DISCORD_OWNER],
        ["telegram", "alice"],
        ["slack", "bob"],
        ["telegram", "alice"],
        ["discord", DISCORD_OWNER],
      ],
    );
    const failures = events.filter((ev) => ev.kind === "auth.failure").map((ev) =>
      String(ev.payload.reason)
    );
    assert(failures.length >= 2, `claim and replay audited: ${failures}`);
    for (const p of [tg, claim, sl, replay, garbage, huge, forbidden]) p.close();
  }).finally(() => dc.close());
});

Deno.test("e2e compromised adapter: a 10,000-frame flood is throttled; other channels keep working", async () => {
  const dc = fakeDiscord(canary("discord"));
  await withE2e(options(dc), async (e) => {
    const gw = await e.start();
    const { pid: discordPid } = await discordUp(e, dc);
    const rss = async () =>
      Number(/VmRSS:\s+(\d+)/.exec(await procFile(`/proc/${gw.pid}/status`) ?? "")?.[1] ?? 0);
    const tg = await connectPeer(socket(e), "telegram", e.heldKeys.telegram!);
    await tg.inbound({ conversationId: "c-tg", senderId: "alice", text: "before" });
    await tg.waitOutbound((m) => m.text === "reply: before");
    const rssBefore = await rss();
    assert(rssBefore > 0, "the gateway's RSS is readable");

    const sl = await connectPeer(socket(e), "slack", e.heldKeys.slack!);
    const started = Date.now();
    const flood = (async () => {
      for (let i = 0; i < 10_000; i++) {
        // Invented sender ids, and every 100th the owner's id on its own channel (the most a
        // compromised adapter can claim). An adapter that floods only with the owner's id
        // stalls its own connection: the gateway stops reading at 64 messages in flight and
        // each waits for the adapter to acknowledge its (rate-limited) reply.
        const senderId = i % 100 === 0 ? "bob" : `stranger-${i}`;
        await sl.inbound({ conversationId: `c${i % 50}`, senderId, text: `flood ${i}` });
      }
    })().catch(() => {/* the gateway may cut us off: that is allowed */});
    // While the flood runs, the honest channel is answered promptly.
    await new Promise((r) => setTimeout(r, 300));
    const asked = Date.now();
    await tg.inbound({ conversationId: "c-tg", senderId: "alice", text: "during" });
    await tg.waitOutbound((m) => m.text === "reply: during", 10_000);
    const latency = Date.now() - asked;
    await flood;
    const floodMs = Date.now() - started;
    await new Promise((r) => setTimeout(r, 500));
    const rssAfter = await rss();

    // Throttled: the per-sender limit (20 a minute) lets only a handful reach the model.
    // (Each request repeats its conversation's history, so count the newest user message.)
    const flooded = e.model.requests.filter((r) => {
      const msgs = r.messages as { role: string; content?: unknown }[];
      return String([...msgs].reverse().find((m) => m.role === "user")?.content).startsWith(
        "flood ",
      );
    });
    // The limit is a rate (20 a minute, refilled continuously), so the bound grows with time.
    const allowed = 20 + Math.ceil((Date.now() - started) / 3000);
    assert(
      flooded.length <= allowed,
      `${flooded.length} flood messages reached the model (at most ${allowed})`,
    );
    assert(latency < 10_000, `telegram answered in ${latency} ms during the flood`);
    // Contained: memory does not grow with the flood (10,000 frames of ~100 bytes).
    assert(rssAfter - rssBefore < 150_000, `gateway RSS grew ${rssAfter - rssBefore} KiB`);
    const discord = await adapterStatus(e, "discord");
    assertEquals([discord?.pid, discord?.connected], [discordPid, true]);
    await discordRoundTrip(dc, "after the flood");
    assertFalse(tg.closed);
    await tg.inbound({ conversationId: "c-tg", senderId: "alice", text: "after" });
    await tg.waitOutbound((m) => m.text === "reply: after");
    // Only admitted messages are audited as message.in; the log must not grow by 10,000.
    const events = e.auditEvents();
    const inbound = events.filter((ev) => ev.kind === "message.in");
    assert(inbound.length <= 25 + allowed, `${inbound.length} message.in events`);
    // 9,900 invented stranger ids: refusals are audited per sender, but at most 30 a minute
    // per channel plus the crossing (src/gateway/inbox.ts), or the flood becomes 9,900
    // durable audit writes (this took 50 s and 200 MB before the cap).
    const strangers = events.filter((ev) =>
      ev.kind === "auth.failure" && ev.channel === "slack" && ev.payload.transport === "chat"
    );
    assert(strangers.length <= 31, `${strangers.length} stranger refusals audited`);
    assert(strangers.some((ev) => ev.payload.rateLimited === true), "the crossing is audited");
    Deno.stderr.writeSync(
      new TextEncoder().encode(
        `flood: 10000 frames in ${floodMs} ms, telegram latency ${latency} ms, ` +
          `RSS ${rssBefore} -> ${rssAfter} KiB, ${flooded.length} reached the model\n`,
      ),
    );
    // The owner's excess messages were answered with the polite limit notice.
    assert(sl.outbound.length >= 1, "the flooding owner was told about the limit");
    tg.close();
    sl.close();
  }).finally(() => dc.close());
});

Deno.test("e2e compromised adapter: a flooding adapter is throttled, then cut off, logged and audited; other channels keep working", async () => {
  const dc = fakeDiscord(canary("discord"));
  await withE2e(options(dc), async (e) => {
    const gw = await e.start();
    const { pid: discordPid, restarts: discordRestarts } = await discordUp(e, dc);
    const tg = await connectPeer(socket(e), "telegram", e.heldKeys.telegram!);
    await tg.inbound({ conversationId: "c-tg", senderId: "alice", text: "before" });
    await tg.waitOutbound((m) => m.text === "reply: before");

    // The Slack key's holder sends 10,000 frames as fast as the socket takes them, far past
    // the default per-connection rate (2,000 at once, 500 a second).
    const sl = await connectPeer(socket(e), "slack", e.heldKeys.slack!);
    let written = 0;
    const flood = (async () => {
      for (let i = 0; i < 10_000; i++) {
        await sl.inbound({
          conversationId: `c${i % 50}`,
          senderId: `stranger-${i}`,
          text: `f${i}`,
        });
        written++;
      }
    })().catch(() => {/* cut off: expected */});
    // While it floods, the honest Telegram peer and the real Discord adapter are answered.
    await new Promise((r) => setTimeout(r, 300));
    await tg.inbound({ conversationId: "c-tg", senderId: "alice", text: "during" });
    await tg.waitOutbound((m) => m.text === "reply: during", 20_000);
    await discordRoundTrip(dc, "during the flood");

    assert(await sl.waitClosed(60_000), "the gateway cut the flooding connection");
    await flood;
    assert(written < 10_000, `cut off before the end of the flood (${written} frames written)`);

    // Logged and audited with the reason, once.
    const cuts = e.auditEvents().filter((ev) => ev.kind === "adapter.crash" && ev.payload.cutOff);
    assertEquals(cuts.map((ev) => ev.channel), ["slack"]);
    assert(String(cuts[0].payload.reason).startsWith("frame rate over limit"));
    assert(
      gw.output().includes("frame rate over limit") ||
        (await Deno.readTextFile(`${e.data}/logs/wirken.log`).catch(() => "")).includes(
          "frame rate over limit",
        ),
      "the cut is in the gateway's log",
    );

    // Nobody else noticed: Telegram's connection is open and answered, Discord's process was
    // not restarted, and a fresh Slack connection (a restarted adapter) is served again.
    assertFalse(tg.closed);
    await tg.inbound({ conversationId: "c-tg", senderId: "alice", text: "after" });
    await tg.waitOutbound((m) => m.text === "reply: after");
    const discord = await adapterStatus(e, "discord");
    assertEquals([discord?.pid, discord?.connected, discord?.restarts], [
      discordPid,
      true,
      discordRestarts,
    ]);
    await discordRoundTrip(dc, "after the cut");
    const sl2 = await connectPeer(socket(e), "slack", e.heldKeys.slack!);
    await sl2.inbound({ conversationId: "c-sl", senderId: "bob", text: "bob again" });
    await sl2.waitOutbound((m) => m.text === "reply: bob again");
    for (const p of [tg, sl, sl2]) p.close();
  }).finally(() => dc.close());
});
