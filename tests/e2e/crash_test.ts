/**
 * Crash safety of the whole gateway: `kill -9` during a running tool call, an adapter killed
 * mid-message, and `wirken credentials rekey` killed at several moments. After each, the
 * gateway starts again, the audit chain verifies (every test ends with `wirken audit verify`
 * and the canary sweep), no credential is lost, nothing runs twice, and a tool call the crash cut
 * off is recorded as interrupted (audit and session history) at the next start.
 */
import { join } from "node:path";
import { assert, assertEquals, assertStringIncludes } from "../assert.ts";
import { commandAvailable } from "../skip.ts";
import type { Step } from "../fakes/openai_chat.ts";
import { BwrapSandbox } from "../../src/sandbox/bwrap.ts";
import { openVault } from "../../src/vault/open.ts";
import { testVaultOptions } from "../vault/helpers.ts";
import { fakeDiscord, message } from "../fakes/discord.ts";
import { alive, canary, type E2e, pidsWith, ROOT, waitUntil, withE2e } from "./harness.ts";
import { RUN_FLAGS } from "../cli/helpers.ts";

const hasBwrap = await commandAvailable("bwrap", "apt-get install bubblewrap") &&
  await BwrapSandbox.available();
const hasPgrep = await commandAvailable("pgrep", "apt-get install procps", ["-V"]);

/** The exec call the model makes: a visible side effect, then a long, unique sleep. */
function slowCommand(tag: string): string {
  return `echo started >> side.txt; sleep 37.${tag}; echo finished >> side.txt`;
}

Deno.test({
  name:
    "e2e crash: kill -9 during a tool call; restart verifies, nothing runs twice, the session continues",
  ignore: !hasBwrap || !hasPgrep,
  async fn() {
    const tag = String(Math.floor(Math.random() * 1e6));
    const script = (_n: number, body: Record<string, unknown>): Step => {
      const msgs = body.messages as { role: string; content?: unknown }[];
      const last = [...msgs].reverse().find((m) => m.role === "user");
      if (String(last?.content).startsWith("run it")) {
        const answered = msgs.at(-1)?.role === "tool";
        return answered
          ? { text: "finished" }
          : { calls: [{ name: "exec", args: { command: slowCommand(tag) } }] };
      }
      return { text: `still here: ${String(last?.content)}` };
    };
    await withE2e({ script }, async (e: E2e) => {
      const gw = await e.start();
      const chat = await e.webchat();
      const turn = "t-crash";
      chat.send({ type: "send", turn, agent: "default", text: "run it" });
      const session = await chat.waitFor((f) => f.event?.type === "session");
      const sessionId = String(session.event?.sessionId);
      const ap = await chat.waitFor((f) => f.type === "approvals" && (f.pending?.length ?? 0) > 0);
      chat.send({ type: "decide", approvalId: ap.pending![0].id, decision: "once" });
      const side = join(e.workspace, "side.txt");
      await waitUntil(
        async () => (await Deno.readTextFile(side).catch(() => "")).includes("started"),
        15_000,
        "the tool call to start",
      );
      const sleepers = await pidsWith(`sleep 37.${tag}`);
      assert(sleepers.length > 0, "the sandboxed command is running");

      // The crash.
      await gw.stop("SIGKILL");
      e.gateway = null;
      await chat.close().catch(() => {});
      // The sandboxed command dies with its gateway (bwrap --die-with-parent): no orphan
      // finishes the side effect later.
      await waitUntil(async () => (await pidsWith(`sleep 37.${tag}`)).length === 0, 10_000);

      await e.start();
      const chat2 = await e.webchat();
      // The audit chain verifies after the crash (and again at the end, with `wirken audit
      // verify`): the interrupted call's request and approval are there, its result is not.
      const events = e.auditEvents();
      const call = events.find((ev) => ev.kind === "tool.requested" && ev.payload.tool === "exec");
      assert(call, "the interrupted call's request is in the audit log");
      const kinds = events.filter((ev) => ev.payload.callId === call.payload.callId).map((ev) =>
        ev.kind
      );
      assertEquals(kinds.filter((k) => k === "tool.result" || k === "tool.error"), []);
      assert(kinds.includes("tool.approved"));

      // The same conversation goes on after the restart, and the call was not run again.
      const next = await e.turn(chat2, "are you there?", () => "deny", 20_000, sessionId);
      const errors = next.events.filter((ev) => ev.type === "error");
      assertEquals(errors, [], "the session continues after a crash mid-tool-call");
      assertEquals(next.text, "still here: are you there?");
      await new Promise((r) => setTimeout(r, 1000));
      assertEquals(await Deno.readTextFile(side), "started\n", "the command ran exactly once");
      await chat2.close();
    });
  },
});

Deno.test({
  name:
    "e2e crash: a tool call cut by kill -9 is recorded as interrupted after restart, and the model is told",
  ignore: !hasBwrap || !hasPgrep,
  async fn() {
    const tag = String(Math.floor(Math.random() * 1e6));
    const script = (_n: number, body: Record<string, unknown>): Step => {
      const msgs = body.messages as { role: string; content?: unknown }[];
      const last = [...msgs].reverse().find((m) => m.role === "user");
      if (String(last?.content) === "run it" && msgs.at(-1)?.role === "user") {
        return { calls: [{ name: "exec", args: { command: slowCommand(tag) } }] };
      }
      return { text: `noted: ${String(last?.content)}` };
    };
    await withE2e({ script }, async (e: E2e) => {
      const gw = await e.start();
      const chat = await e.webchat();
      chat.send({ type: "send", turn: "t-cut", agent: "default", text: "run it" });
      const session = await chat.waitFor((f) => f.event?.type === "session");
      const sessionId = String(session.event?.sessionId);
      const ap = await chat.waitFor((f) => f.type === "approvals" && (f.pending?.length ?? 0) > 0);
      chat.send({ type: "decide", approvalId: ap.pending![0].id, decision: "once" });
      const side = join(e.workspace, "side.txt");
      await waitUntil(
        async () => (await Deno.readTextFile(side).catch(() => "")).includes("started"),
        15_000,
        "the tool call to start",
      );
      await gw.stop("SIGKILL");
      e.gateway = null;
      await chat.close().catch(() => {});
      const before = e.auditEvents();
      const call = before.find((ev) => ev.kind === "tool.requested" && ev.payload.tool === "exec");
      assert(call, "the call's request is in the audit log");
      const callId = String(call.payload.callId);
      assertEquals(before.filter((ev) => ev.kind === "tool.interrupted"), []);

      await e.start();
      // Recorded at start, before any message: the call is interrupted, it had started and was
      // approved, and its session is named.
      const cut = e.auditEvents().filter((ev) => ev.kind === "tool.interrupted");
      assertEquals(cut.length, 1);
      assertEquals(cut[0].payload, { tool: "exec", callId, started: true, approved: true });
      assertEquals(cut[0].session, sessionId);
      // The model sees it in the history of the same conversation: its call, then the
      // interrupted result, then the new message.
      const chat2 = await e.webchat();
      const next = await e.turn(chat2, "what happened?", () => "deny", 20_000, sessionId);
      assertEquals(next.text, "noted: what happened?");
      const msgs = e.model.requests.at(-1)!.messages as {
        role: string;
        content?: unknown;
        tool_call_id?: string;
      }[];
      const result = msgs.find((m) => m.role === "tool");
      assert(result, JSON.stringify(msgs));
      assertStringIncludes(String(result.content), "exec was interrupted");
      assertEquals(msgs.at(-1)?.content, "what happened?");
      await chat2.close();
      // A second restart records nothing more.
      await e.gateway!.stop();
      e.gateway = null;
      await e.start();
      assertEquals(e.auditEvents().filter((ev) => ev.kind === "tool.interrupted").length, 1);
    });
  },
});

Deno.test("e2e crash: a chat message whose tool call kill -9 cut off is reported failed in its conversation after restart", async () => {
  const dc = fakeDiscord(canary("discord"));
  const owner = "222222222222222222";
  const dm = "333333333333333333";
  // A search backend that takes the request and never answers: the call is in flight for as
  // long as the test needs (web_search is tier 1, so no approval stands in the way).
  let searches = 0;
  const held: (() => void)[] = [];
  const hang = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () => {
    searches++;
    return new Promise<Response>((r) => held.push(() => r(Response.json({ results: [] }))));
  });
  try {
    await withE2e({
      script: (_n, body) => {
        const msgs = body.messages as { role: string; content?: unknown }[];
        const last = String([...msgs].reverse().find((m) => m.role === "user")?.content);
        return last === "search the news" && msgs.at(-1)?.role === "user"
          ? { calls: [{ name: "web_search", args: { query: "news" } }] }
          : { text: `reply: ${last}` };
      },
      channels: { discord: { mode: "supervised", allowFrom: [owner] } },
      vaultValues: { "channel.discord.token": dc.token },
      env: { DISCORD_API_BASE: dc.apiBase },
      config: {
        tools: {
          webSearch: { kind: "searxng", url: `http://127.0.0.1:${hang.addr.port}` },
          webTimeoutSeconds: 120,
        },
      },
    }, async (e) => {
      const gw = await e.start();
      await waitUntil(() => dc.sessions() > 0, 25_000, "the Discord adapter connected");
      dc.dispatch(
        "MESSAGE_CREATE",
        message({ author: owner, channel: dm, content: "search the news" }),
      );
      await waitUntil(() => searches > 0, 15_000, "the search call in flight");
      await gw.stop("SIGKILL");
      e.gateway = null;
      const before = dc.posted().length;
      const identified = dc.identifies();

      await e.start();
      await waitUntil(
        () =>
          dc.posted().slice(before).some((c) => String(c.body.content).includes("I was stopped")),
        30_000,
        "the restart notice in the conversation",
      );
      const notice = dc.posted().slice(before).find((c) =>
        String(c.body.content).includes("I was stopped")
      )!;
      assertStringIncludes(notice.path, dm);
      // (Discord markdown escapes the underscore of web_search.)
      assertStringIncludes(String(notice.body.content), "search did not complete");
      const cut = e.auditEvents().filter((ev) => ev.kind === "tool.interrupted");
      assertEquals(cut.map((ev) => [ev.channel, ev.payload.tool]), [["discord", "web_search"]]);
      // The conversation goes on: the next message is answered, and the model saw the notice.
      // (Sent once the restarted adapter has its own platform session.)
      await waitUntil(() => dc.identifies() > identified, 25_000, "the adapter's new session");
      await new Promise((r) => setTimeout(r, 500));
      dc.dispatch("MESSAGE_CREATE", message({ author: owner, channel: dm, content: "again" }));
      await waitUntil(
        () => dc.posted().some((c) => String(c.body.content).includes("reply: again")),
        20_000,
        "the answer after the restart",
      );
      const seen = JSON.stringify(e.model.requests.at(-1));
      assertStringIncludes(seen, "I was stopped");
      assertEquals(searches, 1, "the search was not retried");
    });
  } finally {
    for (const release of held) release();
    await hang.shutdown().catch(() => {});
    await dc.close();
  }
});

Deno.test("e2e crash: a chat message kill -9 cut off during the model call is reported once after restart, a finished one never", async () => {
  const dc = fakeDiscord(canary("discord"));
  const owner = "222222222222222222";
  const dm = "333333333333333333";
  const notice = "I was stopped";
  try {
    await withE2e({
      script: (_n, body) => {
        const msgs = body.messages as { role: string; content?: unknown }[];
        const last = String([...msgs].reverse().find((m) => m.role === "user")?.content);
        // "hang" is answered so slowly that the gateway is killed long before (each streamed
        // piece waits 5 s); once the client is gone the fake stops at its next piece.
        return last === "hang" && msgs.at(-1)?.role === "user"
          ? { text: "too late", delayMs: 5_000 }
          : { text: `reply: ${last}` };
      },
      channels: { discord: { mode: "supervised", allowFrom: [owner] } },
      vaultValues: { "channel.discord.token": dc.token },
      env: { DISCORD_API_BASE: dc.apiBase },
    }, async (e) => {
      const gw = await e.start();
      await waitUntil(() => dc.sessions() > 0, 25_000, "the Discord adapter connected");
      // A turn that finishes normally first: it must never be reported.
      dc.dispatch("MESSAGE_CREATE", message({ author: owner, channel: dm, content: "hello" }));
      await waitUntil(
        () => dc.posted().some((c) => String(c.body.content).includes("reply: hello")),
        20_000,
        "the normal answer",
      );
      const asked = e.model.requests.length;
      dc.dispatch("MESSAGE_CREATE", message({ author: owner, channel: dm, content: "hang" }));
      await waitUntil(() => e.model.requests.length > asked, 15_000, "the model call in flight");
      await gw.stop("SIGKILL");
      e.gateway = null;
      const before = dc.posted().length;
      const requests = e.model.requests.length;

      await e.start();
      await waitUntil(
        () => dc.posted().slice(before).some((c) => String(c.body.content).includes(notice)),
        30_000,
        "the restart notice in the conversation",
      );
      const sent = dc.posted().slice(before).filter((c) => String(c.body.content).includes(notice));
      assertEquals(sent.length, 1, "the notice is sent once");
      assertStringIncludes(sent[0].path, dm);
      // Audited as the reply the message got, by the gateway; no tool call was involved.
      const out = e.auditEvents().filter((ev) => ev.kind === "message.out");
      const interrupted = out.filter((ev) => ev.payload.interrupted === true);
      assertEquals(interrupted.map((ev) => [ev.channel, ev.actor]), [["discord", "gateway"]]);
      assertEquals(e.auditEvents().filter((ev) => ev.kind === "tool.interrupted"), []);
      // The model was not asked again.
      assertEquals(e.model.requests.length, requests);

      // A second restart reports nothing more.
      await e.gateway!.stop();
      e.gateway = null;
      const before2 = dc.posted().length;
      const identified = dc.identifies();
      await e.start();
      await waitUntil(() => dc.identifies() > identified, 25_000, "the adapter's new session");
      // Time for a notice to arrive if one were sent (the first one came once the adapter was up).
      await new Promise((r) => setTimeout(r, 2_000));
      assertEquals(
        dc.posted().slice(before2).filter((c) => String(c.body.content).includes(notice)),
        [],
      );
      assertEquals(
        e.auditEvents().filter((ev) => ev.kind === "message.out" && ev.payload.interrupted)
          .length,
        1,
      );
      assertEquals(e.model.requests.length, requests);
    });
  } finally {
    await dc.close();
  }
});

Deno.test("e2e crash: kill -9 of an adapter mid-message: restarted, the gateway and others unaffected", async () => {
  const dc = fakeDiscord(canary("discord"));
  const owner = "222222222222222222";
  const dm = "333333333333333333";
  try {
    await withE2e({
      script: (_n, body) => {
        const msgs = body.messages as { role: string; content?: unknown }[];
        const last = String([...msgs].reverse().find((m) => m.role === "user")?.content);
        // The first answer is slow, so the adapter dies while the turn is running.
        return { text: `reply: ${last}`, delayMs: last === "slow one" ? 400 : 0 };
      },
      channels: { discord: { mode: "supervised", allowFrom: [owner] } },
      vaultValues: { "channel.discord.token": dc.token },
      env: { DISCORD_API_BASE: dc.apiBase },
    }, async (e) => {
      const gw = await e.start();
      const status = async () => {
        const s = JSON.parse(
          await Deno.readTextFile(`${e.data}/sockets/status.json`).catch(() => '{"adapters":[]}'),
        );
        return s.adapters[0] as { pid: number | null; connected: boolean; restarts: number };
      };
      await waitUntil(async () => (await status())?.connected === true, 25_000);
      await waitUntil(() => dc.sessions() > 0, 20_000);
      const first = (await status()).pid!;
      const restarts = (await status()).restarts;
      dc.dispatch("MESSAGE_CREATE", message({ author: owner, channel: dm, content: "slow one" }));
      await waitUntil(() => e.model.requests.length === 1, 10_000, "the turn to start");
      Deno.kill(first, "SIGKILL");
      await waitUntil(
        async () => {
          const s = await status();
          return s.pid !== null && s.pid !== first && s.connected;
        },
        25_000,
        "the adapter restarted",
      );
      assertEquals((await status()).restarts, restarts + 1);
      await waitUntil(() => dc.sessions() > 0, 20_000);
      // The reply to the message in flight is either delivered after the restart or reported
      // as failed in the gateway's log; never silently lost.
      await new Promise((r) => setTimeout(r, 1500));
      const delivered = dc.posted().some((c) => String(c.body.content).includes("slow one"));
      const log = await Deno.readTextFile(`${e.data}/logs/wirken.log`);
      assert(
        delivered || log.includes("could not deliver a reply"),
        "the interrupted reply is delivered or reported",
      );
      Deno.stderr.writeSync(
        new TextEncoder().encode(
          `adapter killed mid-message: reply ${
            delivered ? "delivered after restart" : "reported failed"
          }\n`,
        ),
      );
      // The gateway never noticed beyond that: a new message is answered.
      dc.dispatch("MESSAGE_CREATE", message({ author: owner, channel: dm, content: "again" }));
      await waitUntil(
        () => dc.posted().some((c) => String(c.body.content).includes("reply: again")),
        20_000,
        "the reply after the restart",
      );
      const crash = e.auditEvents().filter((ev) => ev.kind === "adapter.crash");
      assertEquals(crash.map((ev) => ev.channel), ["discord"]);
      assert(await alive(gw.pid));
      // kill -9 of the gateway leaves no adapter behind (it sees its stdin close and exits).
      const adapterPid = (await status()).pid!;
      await gw.stop("SIGKILL");
      e.gateway = null;
      await waitUntil(async () => !(await alive(adapterPid)), 10_000, "the orphaned adapter exits");
      await e.start();
      await waitUntil(async () => (await status())?.connected === true, 25_000);
    });
  } finally {
    await dc.close();
  }
});

Deno.test("e2e crash: kill -9 of `wirken credentials rekey` at any moment loses no credential", async () => {
  await withE2e({ siem: false }, async (e) => {
    const keyFile = join(e.data, "vault.key");
    const outcomes: string[] = [];
    // A whole rekey takes ~0.3 s here, and the window in which it is really mid-way is a few
    // tens of ms: sweep in 10 ms steps until it finishes three times in a row.
    let finishedInARow = 0;
    for (let delayMs = 100; finishedInARow < 3 && delayMs < 1500; delayMs += 10) {
      const keyBefore = await Deno.readTextFile(keyFile);
      const proc = new Deno.Command(Deno.execPath(), {
        args: ["run", ...RUN_FLAGS, `${ROOT}main.ts`, "credentials", "rekey"],
        clearEnv: true,
        env: e.env,
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      await new Promise((r) => setTimeout(r, delayMs));
      try {
        proc.kill("SIGKILL");
      } catch { /* it finished first */ }
      const status = await proc.output();
      const next = await Deno.stat(`${keyFile}.next`).then(() => true, () => false);
      const changed = (await Deno.readTextFile(keyFile)) !== keyBefore;
      outcomes.push(
        status.code === 0
          ? "finished"
          : next || changed
          ? "killed mid-rekey"
          : "killed before the rekey began",
      );
      finishedInARow = status.code === 0 ? finishedInARow + 1 : 0;
      // Every value is intact and readable with the same passphrase.
      const vault = await openVault(testVaultOptions(e.data, e.passphrase));
      try {
        for (const [name, value] of e.canaries) {
          if (name.startsWith("env:")) continue;
          assertEquals(vault.get(name)?.reveal(), value, `${name} after a kill at ${delayMs} ms`);
        }
      } finally {
        vault.close();
      }
    }
    Deno.stderr.writeSync(new TextEncoder().encode(`rekey kills: ${outcomes.join(", ")}\n`));
    const verify = await e.cli(["credentials", "verify"]);
    assertEquals(verify.code, 0, verify.stdout + verify.stderr);
    // And the gateway starts on the rekeyed vault and uses its provider key.
    await e.start();
    const chat = await e.webchat();
    const out = await e.turn(chat, "hello");
    assertStringIncludes(out.text, "ok");
    await chat.close();
  });
});
