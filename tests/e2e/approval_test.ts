/**
 * Approvals in a group chat, through the real gateway: the agent asks the group before a tier-2
 * tool runs, and everybody who is not the owner of that conversation tries to answer: a
 * stranger in the group, the owner from another conversation, and a compromised adapter of
 * another channel naming the group's conversation. Only the owner, in the group, decides.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "../assert.ts";
import type { Step } from "../fakes/openai_chat.ts";
import { waitUntil, withE2e } from "./harness.ts";
import { connectPeer } from "./peer.ts";

const script = (n: number): Step =>
  n === 0
    ? { calls: [{ name: "web_fetch", args: { url: "https://example.com/report" } }] }
    : { text: "The fetch was not allowed, so I stopped." };

Deno.test("e2e approvals: a stranger in the group cannot approve the owner's pending request", async () => {
  await withE2e({
    script,
    channels: {
      telegram: { mode: "held", allowFrom: ["alice"] },
      slack: { mode: "held", allowFrom: ["alice"] },
    },
  }, async (e) => {
    await e.start();
    const socket = `${e.data}/sockets/gateway.sock`;
    const tg = await connectPeer(socket, "telegram", e.heldKeys.telegram!);
    const group = { conversationId: "group-1", isGroup: true };
    await tg.inbound({ ...group, senderId: "alice", text: "Fetch the report please." });
    const prompt = await tg.waitOutbound((m) => m.text.includes("Approval needed"));
    assertEquals(prompt.conversationId, "group-1", "the prompt goes to the asking conversation");
    assertStringIncludes(prompt.text, "Tier 2");
    const code = /approve ([a-z0-9]{6})/.exec(prompt.text)?.[1] ?? "";
    assertMatch(code, /^[a-z0-9]{6}$/);

    const answer = async (
      peer: typeof tg,
      conversationId: string,
      senderId: string,
      text: string,
    ) => {
      const from = peer.outbound.length;
      await peer.inbound({ conversationId, isGroup: true, senderId, text });
      return (await peer.waitOutbound((m) => m.conversationId === conversationId, 10_000, from))
        .text;
    };
    // A stranger in the same group, with and without "always".
    assertStringIncludes(
      await answer(tg, "group-1", "mallory", `approve ${code}`),
      "Only the owner",
    );
    assertStringIncludes(
      await answer(tg, "group-1", "mallory", `APPROVE ${code} always`),
      "Only the owner",
    );
    // The owner, but from another conversation.
    assertStringIncludes(
      await answer(tg, "dm-alice", "alice", `approve ${code}`),
      "another conversation",
    );
    // A compromised Slack adapter naming the Telegram group and the owner's id.
    const sl = await connectPeer(socket, "slack", e.heldKeys.slack!);
    await sl.inbound({ conversationId: "group-1", senderId: "alice", text: `approve ${code}` });
    const slReply = await sl.waitOutbound(() => true, 10_000);
    assertStringIncludes(slReply.text, "another conversation");

    // Still pending: the owner denies it in the group, and the turn ends without the fetch.
    assertStringIncludes(await answer(tg, "group-1", "alice", `deny ${code}`), "Denied");
    await tg.waitOutbound((m) => m.text.includes("not allowed, so I stopped"), 15_000);
    await waitUntil(() => e.model.requests.length === 2, 5000, "the second model request");
    assertStringIncludes(JSON.stringify(e.model.requests[1].messages), "did not allow");

    const events = e.auditEvents();
    const failures = events.filter((ev) => ev.kind === "auth.failure" && ev.payload.approval);
    assertEquals(failures.map((f) => [f.channel, f.actor, f.payload.reason]), [
      ["telegram", "mallory", "approval by a non-owner"],
      ["telegram", "mallory", "approval by a non-owner"],
      ["telegram", "alice", "approval from another conversation"],
      ["slack", "alice", "approval from another conversation"],
    ]);
    const decided = events.filter((ev) =>
      ev.payload.approval === code && ev.kind.startsWith("tool.") && ev.kind !== "tool.requested"
    );
    assertEquals(decided.map((ev) => [ev.kind, ev.actor, ev.payload.via]), [
      ["tool.denied", "alice", "telegram"],
    ]);
    assert(!events.some((ev) => ev.kind === "tool.approved"), "nothing was approved");
    tg.close();
    sl.close();
  });
});

Deno.test("e2e approvals: a stranger pressing the approval button is refused; the prompt is shown again", async () => {
  await withE2e({
    script,
    channels: { telegram: { mode: "held", allowFrom: ["alice"] } },
  }, async (e) => {
    await e.start();
    // A button-capable adapter: first mallory presses "approve", then the owner "deny".
    const presses = [
      { approved: true, decidedBy: "mallory" },
      { approved: false, decidedBy: "alice" },
    ];
    const tg = await connectPeer(
      `${e.data}/sockets/gateway.sock`,
      "telegram",
      e.heldKeys.telegram!,
      {
        press: (n) => presses[n] ?? { approved: false, decidedBy: "" },
      },
    );
    await tg.inbound({ conversationId: "group-2", isGroup: true, senderId: "alice", text: "go" });
    await tg.waitOutbound((m) => m.text.includes("not allowed, so I stopped"), 20_000);
    assertEquals(tg.approvalRequests.length, 2, "asked again after the stranger's press");
    assertEquals(tg.approvalRequests.map((r) => r.conversationId), ["group-2", "group-2"]);
    assertStringIncludes(tg.outbound.map((m) => m.text).join("\n"), "Only the owner");
    const events = e.auditEvents();
    assertEquals(
      events.filter((ev) => ev.kind === "auth.failure" && ev.payload.approval).map((ev) => [
        ev.actor,
        ev.payload.reason,
      ]),
      [["mallory", "approval by a non-owner"]],
    );
    assert(!events.some((ev) => ev.kind === "tool.approved"), "nothing was approved");
    assertEquals(
      events.filter((ev) => ev.kind === "tool.denied" && ev.payload.approval).map((ev) => ev.actor),
      ["alice"],
    );
    tg.close();
  });
});
