import { assert, assertEquals } from "../../tests/assert.ts";
import { fakeChatService } from "../../tests/webchat/fake_service.ts";
import type { ServerMessage } from "./protocol.ts";
import { openSocketSession } from "./socket.ts";

function connect() {
  const service = fakeChatService({ wordDelayMs: 1 });
  const sent: ServerMessage[] = [];
  const conn = openSocketSession(service, (m) => sent.push(m));
  const send = (m: unknown) => conn.receive(JSON.stringify(m));
  const waitFor = async (pred: (m: ServerMessage) => boolean) => {
    for (let i = 0; i < 400; i++) {
      const found = sent.find(pred);
      if (found) return found;
      await new Promise((r) => setTimeout(r, 5));
    }
    throw new Error(`timed out; got ${JSON.stringify(sent)}`);
  };
  return { service, sent, conn, send, waitFor };
}

Deno.test("socket: a turn streams events then ends; approvals snapshot first", async () => {
  const { sent, send, conn, waitFor } = connect();
  assertEquals(sent[0], { type: "approvals", pending: [] });
  send({ type: "send", turn: "t1", agent: "default", text: "hi there" });
  await waitFor((m) => m.type === "turn_end");
  const text = sent.flatMap((m) =>
    m.type === "event" && m.event.type === "text" ? [m.event.text] : []
  ).join("");
  assert(text.includes("You said: *hi there*"), text);
  assertEquals(sent.at(-1), { type: "turn_end", turn: "t1", stopped: false });
  conn.close();
});

Deno.test("socket: stop aborts the service's signal", async () => {
  const { service, sent, send, conn, waitFor } = connect();
  send({ type: "send", turn: "t1", agent: "default", text: "slow please" });
  while (service.words < 2) await new Promise((r) => setTimeout(r, 10));
  send({ type: "stop", turn: "t1" });
  await waitFor((m) => m.type === "turn_end");
  assertEquals(service.record.aborted, ["slow please"]);
  assertEquals(sent.at(-1), { type: "turn_end", turn: "t1", stopped: true });
  conn.close();
});

Deno.test("socket: closing the connection aborts running turns", async () => {
  const { service, send, conn } = connect();
  send({ type: "send", turn: "t1", agent: "default", text: "slow" });
  while (service.words < 1) await new Promise((r) => setTimeout(r, 10));
  conn.close();
  await conn.idle();
  assertEquals(service.record.aborted, ["slow"]);
});

Deno.test("socket: approvals: remember only for tier 2; decisions reach the service", async () => {
  const { service, send, conn, waitFor } = connect();
  send({ type: "send", turn: "t1", agent: "default", text: "danger" });
  const ap = await waitFor((m) => m.type === "approvals" && m.pending.length === 1);
  const id = ap.type === "approvals" ? ap.pending[0].id : "";
  send({ type: "decide", approvalId: id, decision: "remember" });
  await waitFor((m) => m.type === "error" && m.message.includes("tier 2"));
  assertEquals(service.record.decisions, []);
  send({ type: "decide", approvalId: id, decision: "deny" });
  await waitFor((m) => m.type === "turn_end");
  assertEquals(service.record.decisions, [{ id, decision: "deny" }]);
  send({ type: "decide", approvalId: id, decision: "once" });
  await waitFor((m) => m.type === "error" && m.message.includes("no longer pending"));
  conn.close();
});

Deno.test("socket: malformed frames are answered with an error, never crash", async () => {
  const { sent, conn } = connect();
  const bad: unknown[] = [
    "not json",
    JSON.stringify({ type: "send" }),
    JSON.stringify({ type: "send", turn: "t", agent: "BAD AGENT", text: "x" }),
    JSON.stringify({ type: "send", turn: "../t", agent: "default", text: "x" }),
    JSON.stringify({ type: "send", turn: "t", agent: "default", text: "" }),
    JSON.stringify({ type: "send", turn: "t", agent: "default", text: "x", extra: 1 }),
    JSON.stringify({ type: "decide", approvalId: "a", decision: "forever" }),
    JSON.stringify({ type: "nope" }),
    JSON.stringify([1, 2]),
    "x".repeat(300_000),
    new Uint8Array([1, 2, 3]),
  ];
  for (const b of bad) conn.receive(b);
  await new Promise((r) => setTimeout(r, 20));
  assertEquals(sent.filter((m) => m.type === "error").length, bad.length);
  assertEquals(sent.filter((m) => m.type === "event").length, 0);
  conn.close();
});

Deno.test("socket: a throwing service ends the turn with an error event", async () => {
  const { sent, send, conn, waitFor } = connect();
  send({ type: "send", turn: "t1", agent: "default", text: "fail" });
  await waitFor((m) => m.type === "turn_end");
  assert(sent.some((m) => m.type === "event" && m.event.type === "error"));
  conn.close();
});

Deno.test("socket: at most 4 turns at once, and a running turn id cannot be reused", async () => {
  const { sent, send, conn } = connect();
  for (let i = 0; i < 5; i++) send({ type: "send", turn: `t${i}`, agent: "default", text: "slow" });
  send({ type: "send", turn: "t0", agent: "default", text: "slow" });
  const errors = sent.filter((m) => m.type === "error").map((m) => m.type === "error" && m.message);
  assertEquals(errors, ["Too many turns running at once.", "That turn id is already running."]);
  conn.close();
  await conn.idle();
});
