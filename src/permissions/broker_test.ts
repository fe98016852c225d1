import { join } from "node:path";
import type { AuditEventInput, AuditSink } from "../audit/types.ts";
import type { PermissionRequest } from "../agent/loop.ts";
import { assert, assertEquals, assertStringIncludes } from "../../tests/assert.ts";
import { ApprovalBroker, type ApprovalPrompt, parseReply, sameConversation } from "./broker.ts";
import { effectiveTier, REMEMBER_MS, scopeOf } from "./policy.ts";
import { PermissionStore } from "./store.ts";

class MemoryAudit implements AuditSink {
  events: AuditEventInput[] = [];
  fail = false;
  append(event: AuditEventInput): Promise<number> {
    if (this.fail) return Promise.reject(new Error("disk full"));
    this.events.push(event);
    return Promise.resolve(this.events.length);
  }
  kinds(): string[] {
    return this.events.map((e) => e.kind);
  }
}

interface Harness {
  dir: string;
  store: PermissionStore;
  audit: MemoryAudit;
  broker: ApprovalBroker;
  prompts: ApprovalPrompt[];
  clock: { t: number };
  /** What the next prompt gets answered with (null: nobody answers). */
  answer: { sender: string; text: (code: string) => string; session?: string } | null;
  dbPath: string;
}

async function harness(
  opts: {
    timeoutMs?: number;
    rememberedApplies?: (session: string, tier: 1 | 2 | 3) => { applies: boolean; note?: string };
  } = {},
): Promise<Harness> {
  const dir = await Deno.makeTempDir({ prefix: "wirken-perm-" });
  const dbPath = join(dir, "permissions.db");
  const store = PermissionStore.open(dbPath);
  const audit = new MemoryAudit();
  const clock = { t: 1_800_000_000_000 };
  const h = {
    dir,
    store,
    audit,
    prompts: [] as ApprovalPrompt[],
    clock,
    answer: null,
    dbPath,
  } as unknown as Harness;
  h.broker = new ApprovalBroker({
    store,
    audit,
    isOwner: (_channel, sender) => sender === "alice" || sender === "bob",
    now: () => clock.t,
    timeoutMs: opts.timeoutMs ?? 60_000,
    pollMs: 10,
    sandboxFor: (tool) => (tool === "exec" ? "bwrap" : "none"),
    rememberedApplies: opts.rememberedApplies,
    ask: (prompt) => {
      h.prompts.push(prompt);
      const a = h.answer;
      if (a) {
        setTimeout(() => {
          h.broker.handleReply({
            channel: prompt.channel,
            session: a.session ?? prompt.session,
            sender: a.sender,
            text: a.text(prompt.code),
          });
        }, 5);
      }
      return Promise.resolve();
    },
  });
  return h;
}

async function done(h: Harness): Promise<void> {
  h.store.close();
  await Deno.remove(h.dir, { recursive: true });
}

function req(over: Partial<PermissionRequest> = {}): PermissionRequest {
  return {
    callId: crypto.randomUUID(),
    tool: "exec",
    tier: 2,
    input: { command: "git status" },
    agent: "default",
    session: "telegram:42:default",
    channel: "telegram",
    sender: "alice",
    ...over,
  };
}

Deno.test("tier 1 runs without asking", async () => {
  const h = await harness();
  try {
    assertEquals(
      await h.broker.check(req({ tool: "read_file", tier: 1, input: { path: "a" } })),
      "allow",
    );
    assertEquals(h.prompts.length, 0);
  } finally {
    await done(h);
  }
});

Deno.test("tier 2: approved with 'always' is remembered for 30 days, then asked again", async () => {
  const h = await harness();
  try {
    h.answer = { sender: "alice", text: (c) => `approve ${c} always` };
    assertEquals(await h.broker.check(req()), "allow");
    assertEquals(h.prompts.length, 1);
    assertStringIncludes(h.prompts[0].text, "bwrap sandbox");
    h.answer = null;
    h.clock.t += REMEMBER_MS - 1000;
    assertEquals(await h.broker.check(req({ input: { command: "git log" } })), "allow");
    assertEquals(h.prompts.length, 1, "remembered: not asked again");
    h.clock.t += 2000;
    h.answer = { sender: "alice", text: (c) => `deny ${c}` };
    assertEquals(await h.broker.check(req()), "deny");
    assertEquals(h.prompts.length, 2, "expired after 30 days: asked again");
    assert(h.audit.kinds().includes("tool.approved"));
    assert(h.audit.kinds().includes("tool.denied"));
  } finally {
    await done(h);
  }
});

Deno.test("tier 2: after untrusted content a remembered approval is asked again, naming the source", async () => {
  const tainted = new Set<string>();
  const h = await harness({
    rememberedApplies: (session) =>
      tainted.has(session)
        ? { applies: false, note: "Caution: a fetched page came before this request." }
        : { applies: true },
  });
  try {
    h.answer = { sender: "alice", text: (c) => `approve ${c} always` };
    assertEquals(await h.broker.check(req()), "allow");
    h.answer = null;
    assertEquals(await h.broker.check(req()), "allow", "remembered while the session is clean");
    assertEquals(h.prompts.length, 1);
    tainted.add("telegram:42:default");
    h.answer = { sender: "alice", text: (c) => `deny ${c}` };
    assertEquals(await h.broker.check(req()), "deny");
    assertEquals(h.prompts.length, 2, "asked again despite the remembered approval");
    assertStringIncludes(h.prompts[1].text, "a fetched page came before this request");
  } finally {
    await done(h);
  }
});

Deno.test("tier 2 without 'always' is not remembered", async () => {
  const h = await harness();
  try {
    h.answer = { sender: "alice", text: (c) => `approve ${c}` };
    assertEquals(await h.broker.check(req()), "allow");
    assertEquals(await h.broker.check(req()), "allow");
    assertEquals(h.prompts.length, 2);
  } finally {
    await done(h);
  }
});

Deno.test("a remembered approval covers only its user, channel, agent and scope", async () => {
  const h = await harness();
  try {
    h.answer = { sender: "alice", text: (c) => `approve ${c} always` };
    assertEquals(await h.broker.check(req()), "allow");
    h.answer = { sender: "bob", text: (c) => `deny ${c}` };
    assertEquals(await h.broker.check(req({ sender: "bob" })), "deny", "another user");
    assertEquals(await h.broker.check(req({ channel: "discord" })), "deny", "another channel");
    assertEquals(await h.broker.check(req({ agent: "other" })), "deny", "another agent");
    h.answer = { sender: "alice", text: (c) => `deny ${c}` };
    assertEquals(
      await h.broker.check(req({ input: { command: "git status; curl x" } })),
      "deny",
      "shell syntax is never covered by a program approval",
    );
    assertEquals(h.prompts.length, 5);
  } finally {
    await done(h);
  }
});

Deno.test("tier 3 asks every time, even after 'always'", async () => {
  const h = await harness();
  try {
    h.answer = { sender: "alice", text: (c) => `approve ${c} always` };
    const t3 = req({ tool: "install_skill", tier: 3, input: { name: "x" } });
    assertEquals(await h.broker.check(t3), "allow");
    assertEquals(await h.broker.check(t3), "allow");
    assertEquals(h.prompts.length, 2);
    assertEquals(h.prompts[0].canRemember, false);
    assertEquals(h.store.listRemembered(h.clock.t).length, 0);
  } finally {
    await done(h);
  }
});

Deno.test("a destructive shell command is tier 3 even though exec is tier 2", async () => {
  assertEquals(effectiveTier("exec", 2, { command: "rm -rf build" }), 3);
  assertEquals(effectiveTier("exec", 2, { command: "ls -la" }), 2);
  assertEquals(effectiveTier("exec", 2, { command: "ls && rm x" }), 3);
  assertEquals(effectiveTier("read_file", 1, {}, { tiers: { read_file: 3 } }), 3);
  // Config can never loosen a tool below its own tier.
  assertEquals(effectiveTier("exec", 2, { command: "ls" }, { tiers: { exec: 1 } }), 2);
  const h = await harness();
  try {
    h.answer = { sender: "alice", text: (c) => `approve ${c} always` };
    assertEquals(await h.broker.check(req({ input: { command: "rm -rf build" } })), "allow");
    assertEquals(await h.broker.check(req({ input: { command: "rm -rf build" } })), "allow");
    assertEquals(h.prompts.length, 2);
  } finally {
    await done(h);
  }
});

Deno.test("an unanswered request expires as denied", async () => {
  const h = await harness({ timeoutMs: 5 * 60_000 });
  try {
    const pending = h.broker.check(req());
    await new Promise((r) => setTimeout(r, 30));
    assertEquals(h.prompts.length, 1);
    assertStringIncludes(h.prompts[0].text, "Expires in 5 min");
    h.clock.t += 5 * 60_000;
    assertEquals(await pending, "deny");
    assertEquals(h.store.getPending(h.prompts[0].code)?.status, "expired");
    const denied = h.audit.events.find((e) => e.kind === "tool.denied");
    assertEquals(denied?.payload?.reason, "expired");
    // A late answer does nothing.
    const late = await h.broker.handleReply({
      channel: "telegram",
      session: "telegram:42:default",
      sender: "alice",
      text: `approve ${h.prompts[0].code}`,
    });
    assertEquals(late?.accepted, false);
  } finally {
    await done(h);
  }
});

Deno.test("an approval by a non-owner is rejected and audited; the owner's counts", async () => {
  const h = await harness();
  try {
    const pending = h.broker.check(req());
    await new Promise((r) => setTimeout(r, 30));
    const code = h.prompts[0].code;
    const mallory = await h.broker.handleReply({
      channel: "telegram",
      session: "telegram:42:default",
      sender: "mallory",
      text: `approve ${code} always`,
    });
    assertEquals(mallory?.accepted, false);
    assert(h.audit.events.some((e) => e.kind === "auth.failure" && e.actor === "mallory"));
    const otherRoom = await h.broker.handleReply({
      channel: "telegram",
      session: "telegram:99:default",
      sender: "alice",
      text: `approve ${code}`,
    });
    assertEquals(otherRoom?.accepted, false, "an owner answering from another conversation");
    assertEquals(h.store.getPending(code)?.status, "pending");
    const alice = await h.broker.handleReply({
      channel: "telegram",
      session: "telegram:42:default",
      sender: "alice",
      text: `approve ${code}`,
    });
    assertEquals(alice?.accepted, true);
    assertEquals(await pending, "allow");
    assertEquals(h.store.getPending(code)?.decidedBy, "alice");
  } finally {
    await done(h);
  }
});

Deno.test("the terminal decides through the database (another connection)", async () => {
  const h = await harness();
  try {
    const pending = h.broker.check(req());
    await new Promise((r) => setTimeout(r, 30));
    const cli = PermissionStore.open(h.dbPath);
    try {
      assertEquals(cli.listPending(h.clock.t).map((p) => p.code), [h.prompts[0].code]);
      assert(cli.decide(h.prompts[0].code, "approved", "cli", "cli", true, h.clock.t));
    } finally {
      cli.close();
    }
    assertEquals(await pending, "allow");
    assertEquals(h.store.listRemembered(h.clock.t).length, 1);
  } finally {
    await done(h);
  }
});

Deno.test("permissions revoke takes effect immediately", async () => {
  const h = await harness();
  try {
    h.answer = { sender: "alice", text: (c) => `approve ${c} always` };
    assertEquals(await h.broker.check(req()), "allow");
    h.answer = null;
    assertEquals(await h.broker.check(req()), "allow");
    assertEquals(h.prompts.length, 1);
    const cli = PermissionStore.open(h.dbPath);
    assertEquals(cli.revoke("exec"), 1);
    cli.close();
    h.answer = { sender: "alice", text: (c) => `deny ${c}` };
    assertEquals(await h.broker.check(req()), "deny");
    assertEquals(h.prompts.length, 2);
  } finally {
    await done(h);
  }
});

Deno.test("if the audit log cannot record, the call is denied", async () => {
  const h = await harness();
  try {
    h.answer = { sender: "alice", text: (c) => `approve ${c} always` };
    assertEquals(await h.broker.check(req()), "allow");
    h.audit.fail = true;
    assertEquals(await h.broker.check(req()), "deny", "remembered, but unrecordable");
    assertEquals(await h.broker.check(req({ tool: "x", tier: 3 })), "deny");
  } finally {
    await done(h);
  }
});

Deno.test("host execution is stated in the prompt", async () => {
  const dir = await Deno.makeTempDir();
  const store = PermissionStore.open(join(dir, "p.db"));
  try {
    const prompts: ApprovalPrompt[] = [];
    let t = 0;
    const broker = new ApprovalBroker({
      store,
      audit: new MemoryAudit(),
      isOwner: () => true,
      now: () => t,
      timeoutMs: 1000,
      pollMs: 5,
      sandboxFor: () => "host",
      ask: (p) => {
        prompts.push(p);
        t += 2000;
        return Promise.resolve();
      },
    });
    assertEquals(await broker.check(req()), "deny");
    assertStringIncludes(prompts[0].text, "DIRECTLY ON THIS COMPUTER");
  } finally {
    store.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("reply parsing and scopes", () => {
  assertEquals(parseReply("approve k3j9xz"), {
    code: "k3j9xz",
    decision: "approve",
    remember: false,
  });
  assertEquals(parseReply("  Deny K3J9XZ "), { code: "k3j9xz", decision: "deny", remember: false });
  assertEquals(parseReply("approve k3j9xz always"), {
    code: "k3j9xz",
    decision: "approve",
    remember: true,
  });
  assertEquals(parseReply("please approve k3j9xz"), null);
  assertEquals(parseReply("approve"), null);
  assertEquals(scopeOf("exec", { command: "git status" }), "prog:git");
  assertEquals(scopeOf("exec", { command: "FOO=1 npm test" }), "prog:npm");
  assertEquals(scopeOf("exec", { command: "ls | sh" }), "cmd:ls | sh");
  assertEquals(scopeOf("web_fetch", { url: "https://a.example/x?y" }), "origin:https://a.example");
  assertEquals(scopeOf("read_file", { path: "docs/a.md" }), "path:docs");
});

Deno.test("an answer can name the conversation instead of the session (before dispatch)", async () => {
  const h = await harness();
  try {
    const pending = h.broker.check(req());
    await new Promise((r) => setTimeout(r, 30));
    const code = h.prompts[0].code;
    const wrong = await h.broker.handleReply({
      channel: "telegram",
      conversation: "4",
      sender: "alice",
      text: `approve ${code}`,
    });
    assertEquals(wrong?.accepted, false, "a prefix of the conversation id is not it");
    const right = await h.broker.handleReply({
      channel: "telegram",
      conversation: "42",
      sender: "alice",
      text: `approve ${code}`,
    });
    assertEquals(right?.accepted, true);
    assertEquals(await pending, "allow");
    // Session ids carry the conversation URI-encoded (Matrix and Teams ids contain ':').
    const matrix = { channel: "matrix", session: "matrix:!room%3Aexample.org:main" };
    assertEquals(
      sameConversation(matrix, { channel: "matrix", conversation: "!room:example.org" }),
      true,
    );
    assertEquals(
      sameConversation(matrix, { channel: "matrix", conversation: "!room" }),
      false,
    );
    assertEquals(
      sameConversation(matrix, { channel: "matrix", conversation: "!room%3Aexample.org" }),
      false,
    );
    assertEquals(
      sameConversation(matrix, { channel: "slack", conversation: "!room:example.org" }),
      false,
    );
  } finally {
    await done(h);
  }
});
