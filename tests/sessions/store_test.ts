import { join } from "node:path";
import { assert, assertEquals, assertNotEquals } from "../assert.ts";
import { openSessionStore, SESSION_MIGRATIONS } from "../../src/sessions/store.ts";
import { isSource, openSession } from "../../src/ipc/session.ts";
import { openDatabase } from "../../src/store/sqlite.ts";
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
      import { openSession } from ${
      JSON.stringify(new URL("../../src/ipc/session.ts", import.meta.url).href)
    };
      const s = openSessionStore(${JSON.stringify(path)});
      const info = s.getOrCreate(openSession("telegram", "42"), "default");
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
      const info = store.getOrCreate(openSession("telegram", "42"), "default");
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
    const t = store.getOrCreate(openSession("telegram", "42"), "default");
    const d = store.getOrCreate(openSession("discord", "42"), "default");
    const other = store.getOrCreate(openSession("telegram", "42"), "research");
    assertNotEquals(t.id, d.id);
    assertNotEquals(t.id, other.id);
    store.append(t.id, { role: "user", content: "from telegram" });
    store.append(d.id, { role: "user", content: "from discord" });
    assertEquals(store.history(t.id), [{ role: "user", content: "from telegram" }]);
    assertEquals(store.history(d.id), [{ role: "user", content: "from discord" }]);
    assertEquals(store.history(other.id), []);
    // Same triple, same session.
    assertEquals(
      store.getOrCreate(openSession("telegram", "42"), "default").id,
      t.id,
    );
    // A conversation id containing ':' cannot collide with another triple.
    const tricky = store.getOrCreate(openSession("telegram", "4:2"), "default");
    assertEquals(store.history(tricky.id), []);
    assertEquals(tricky.id, "telegram:4%3A2:default");
    assertEquals(tricky.conversation, "4:2");
    // Nor pose as another agent's session: `42:default` as a conversation is not `42` + agent.
    const posing = store.getOrCreate(openSession("telegram", "42:default"), "x");
    assertNotEquals(posing.id, t.id);
    assertEquals(store.history(posing.id), []);
  } finally {
    store.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("sessions: list, limit, clear", async () => {
  const dir = await Deno.makeTempDir();
  const store = openSessionStore(join(dir, "s.db"));
  try {
    const a = store.getOrCreate(openSession("webchat", "x"), "a");
    const b = store.getOrCreate(openSession("webchat", "x"), "b");
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

Deno.test("sessions: a store written with raw conversation ids still opens; its history is found by handle", async () => {
  const dir = await Deno.makeTempDir();
  const path = join(dir, "sessions.db");
  try {
    // What the store wrote before ids came from the handle's key: `channel:conversation:agent`
    // with the conversation id as it was (Matrix and Teams ids contain ':').
    const old = openDatabase(path, { migrations: SESSION_MIGRATIONS });
    const legacy = [
      ["matrix:!room:example.org:default", "default", "matrix", "!room:example.org"],
      ["teams:19:abc@thread.skype:ops", "ops", "teams", "19:abc@thread.skype"],
      ["telegram:42:default", "default", "telegram", "42"],
      ["irc:#chan:default", "default", "irc", "#chan"],
    ];
    for (const [id, agent, channel, conversation] of legacy) {
      old.prepare(
        `INSERT INTO sessions (id, agent, channel, conversation, created_at, updated_at)
         VALUES (?, ?, ?, ?, '2025-01-01T00:00:00.000Z', '2025-01-02T00:00:00.000Z')`,
      ).run(id, agent, channel, conversation);
      for (const content of [`${channel} one`, `${channel} two`]) {
        old.prepare(
          `INSERT INTO messages (session_id, role, content, created_at)
           VALUES (?, 'user', ?, '2025-01-01T00:00:00.000Z')`,
        ).run(id, content);
      }
    }
    old.close();

    for (let open = 0; open < 2; open++) {
      // Twice: the re-keying happens once and a second open changes nothing.
      const store = openSessionStore(path);
      try {
        const matrix = store.getOrCreate(openSession("matrix", "!room:example.org"), "default");
        assertEquals(matrix.id, "matrix:!room%3Aexample.org:default");
        assertEquals(matrix.conversation, "!room:example.org");
        assertEquals(
          matrix.createdAt,
          "2025-01-01T00:00:00.000Z",
          "the same session, not a new one",
        );
        assertEquals(store.history(matrix.id), [
          { role: "user", content: "matrix one" },
          { role: "user", content: "matrix two" },
        ]);
        const teams = store.getOrCreate(openSession("teams", "19:abc@thread.skype"), "ops");
        assertEquals(teams.id, "teams:19%3Aabc%40thread.skype:ops");
        assertEquals(teams.messageCount, 2);
        // Ids that need no encoding were already right.
        const tg = store.getOrCreate(openSession("telegram", "42"), "default");
        assertEquals([tg.id, tg.messageCount], ["telegram:42:default", 2]);
        // Nothing lost, nothing doubled; a row of an unknown channel is left as it was.
        assertEquals(store.list().map((s) => s.id).sort(), [
          "irc:#chan:default",
          "matrix:!room%3Aexample.org:default",
          "teams:19%3Aabc%40thread.skype:ops",
          "telegram:42:default",
        ]);
        assertEquals(store.get("irc:#chan:default")?.messageCount, 2);
        assertEquals(store.get("matrix:!room:example.org:default"), undefined);
        // The old ids stay known (the audit log still names them), once each.
        assertEquals(store.formerIds("matrix:!room%3Aexample.org:default"), [
          "matrix:!room:example.org:default",
        ]);
        assertEquals(store.formerIds("teams:19%3Aabc%40thread.skype:ops"), [
          "teams:19:abc@thread.skype:ops",
        ]);
        assertEquals(store.formerIds("telegram:42:default"), []);
      } finally {
        store.close();
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("sessions: only a minted handle opens a session; agent ids with ':' are refused", async () => {
  const dir = await Deno.makeTempDir();
  const store = openSessionStore(join(dir, "s.db"));
  try {
    let threw = "";
    try {
      store.getOrCreate(openSession("telegram", "42"), "a:b");
    } catch (e) {
      threw = (e as Error).message;
    }
    assert(threw.includes("without ':'"), threw);
    // A channel name cast from the outside (a database row, a file) makes no handle.
    assert(!isSource("irc"));
    let bad = "";
    try {
      openSession("irc" as "telegram", "x");
    } catch (e) {
      bad = (e as Error).message;
    }
    assertEquals(bad, "no channel irc");
  } finally {
    store.close();
    await Deno.remove(dir, { recursive: true });
  }
});
