import { join } from "node:path";
import { assert, assertEquals, assertNotEquals } from "../assert.ts";
import { openSessionStore } from "../../src/sessions/store.ts";
import type { ChatMessage } from "../../src/providers/types.ts";

const turn: ChatMessage[] = [
  { role: "user", content: "Wetter? 🌦" },
  {
    role: "assistant",
    content: "Ich schaue.",
    toolCalls: [
      { id: "a", name: "get_weather", arguments: '{"city":"Paris"}' },
      { id: "b", name: "get_time", arguments: '{"tz":"CET"}', signature: "sig" },
    ],
  },
  {
    role: "tool",
    results: [
      { callId: "a", name: "get_weather", content: "18" },
      { callId: "b", name: "get_time", content: "nope", isError: true },
    ],
  },
  { role: "assistant", content: "18 Grad." },
];

Deno.test("sessions: messages, tool calls and results survive a restart (another process)", async () => {
  const dir = await Deno.makeTempDir();
  const path = join(dir, "sessions.db");
  try {
    // A separate process writes, as a gateway would, and exits.
    const script = `
      import { openSessionStore } from ${
      JSON.stringify(new URL("../../src/sessions/store.ts", import.meta.url).href)
    };
      const s = openSessionStore(${JSON.stringify(path)});
      const info = s.getOrCreate({ agent: "default", channel: "telegram", conversation: "42" });
      for (const m of ${JSON.stringify(turn)}) s.append(info.id, m);
      s.close();
    `;
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["eval", "--no-check", script],
      cwd: new URL("../..", import.meta.url).pathname,
      stderr: "piped",
    }).output();
    assert(out.success, new TextDecoder().decode(out.stderr));
    const store = openSessionStore(path);
    try {
      const info = store.getOrCreate({ agent: "default", channel: "telegram", conversation: "42" });
      assertEquals(info.id, "telegram:42:default");
      assertEquals(info.messageCount, 4);
      assertEquals(store.history(info.id), turn);
      assertEquals((await Deno.stat(path)).mode! & 0o777, 0o600);
    } finally {
      store.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("sessions: two channels with the same conversation id never share a session", async () => {
  const dir = await Deno.makeTempDir();
  const store = openSessionStore(join(dir, "s.db"));
  try {
    const t = store.getOrCreate({ agent: "default", channel: "telegram", conversation: "42" });
    const d = store.getOrCreate({ agent: "default", channel: "discord", conversation: "42" });
    const other = store.getOrCreate({ agent: "research", channel: "telegram", conversation: "42" });
    assertNotEquals(t.id, d.id);
    assertNotEquals(t.id, other.id);
    store.append(t.id, { role: "user", content: "from telegram" });
    store.append(d.id, { role: "user", content: "from discord" });
    assertEquals(store.history(t.id), [{ role: "user", content: "from telegram" }]);
    assertEquals(store.history(d.id), [{ role: "user", content: "from discord" }]);
    assertEquals(store.history(other.id), []);
    // Same triple, same session.
    assertEquals(
      store.getOrCreate({ agent: "default", channel: "telegram", conversation: "42" }).id,
      t.id,
    );
    // A conversation id containing ':' cannot collide with another triple.
    const tricky = store.getOrCreate({
      agent: "default",
      channel: "telegram",
      conversation: "4:2",
    });
    assertEquals(store.history(tricky.id), []);
  } finally {
    store.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("sessions: list, limit, clear", async () => {
  const dir = await Deno.makeTempDir();
  const store = openSessionStore(join(dir, "s.db"));
  try {
    const a = store.getOrCreate({ agent: "a", channel: "webchat", conversation: "x" });
    const b = store.getOrCreate({ agent: "b", channel: "webchat", conversation: "x" });
    for (let i = 0; i < 10; i++) store.append(a.id, { role: "user", content: `m${i}` });
    assertEquals(store.history(a.id, 3).map((m) => m.role === "user" && m.content), [
      "m7",
      "m8",
      "m9",
    ]);
    assertEquals(store.list({ agent: "b" }).map((s) => s.id), [b.id]);
    assertEquals(store.list().length, 2);
    assert(store.clear(a.id));
    assertEquals(store.get(a.id), undefined);
    assertEquals(store.clear(a.id), false);
    let threw = false;
    try {
      store.append(a.id, { role: "user", content: "x" });
    } catch {
      threw = true;
    }
    assert(threw, "appending to a cleared session fails");
  } finally {
    store.close();
    await Deno.remove(dir, { recursive: true });
  }
});
