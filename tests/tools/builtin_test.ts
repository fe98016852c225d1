/**
 * The built-in tools end to end: file tools on a real workspace, schema refusals through the
 * real agent loop (the model is told why, nothing runs), exec in a real bubblewrap sandbox with
 * the approval broker in front, and the full safety order (audit before run).
 */
import { join } from "node:path";
import { runTurn } from "../../src/agent/loop.ts";
import { ConfigSchema } from "../../src/config/schema.ts";
import { ApprovalBroker } from "../../src/permissions/broker.ts";
import { PermissionStore } from "../../src/permissions/store.ts";
import { BwrapSandbox } from "../../src/sandbox/bwrap.ts";
import { sandboxProvider } from "../../src/sandbox/select.ts";
import { BUILTIN_TOOL_NAMES, builtinToolsFromConfig } from "../../src/tools/builtin.ts";
import { formatExecResult } from "../../src/tools/exec.ts";
import { type ToolContext, toolJsonSchema } from "../../src/tools/types.ts";
import { DEFAULT_LIMITS } from "../../src/sandbox/types.ts";
import { answer, call, ScriptedProvider } from "../agent/fakes.ts";
import type { AuditEventInput, AuditSink } from "../../src/audit/types.ts";
import { assert, assertEquals, assertFalse, assertStringIncludes } from "../assert.ts";
import { announceSkip } from "../sandbox/helpers.ts";

const bwrapOk = await BwrapSandbox.available();
if (!bwrapOk) announceSkip("exec tool tests", "bwrap is missing or cannot create namespaces");

class Audit implements AuditSink {
  events: AuditEventInput[] = [];
  fail = false;
  append(e: AuditEventInput): Promise<number> {
    if (this.fail) return Promise.reject(new Error("disk full"));
    this.events.push(e);
    return Promise.resolve(this.events.length);
  }
}

async function setup() {
  const base = await Deno.realPath(
    await Deno.makeTempDir({ prefix: "wirken-tools-", dir: "/var/tmp" }),
  );
  const workspace = join(base, "ws");
  await Deno.mkdir(workspace);
  const config = ConfigSchema.parse({ limits: { execTimeoutSeconds: 10 } });
  const tools = builtinToolsFromConfig(config, { sandboxFor: sandboxProvider(config.tools) });
  const byName = new Map(tools.map((t) => [t.name, t]));
  const ctx: ToolContext = {
    agentId: "default",
    sessionId: "webchat:c1:default",
    channel: "webchat",
    sender: "owner",
    workspace,
    signal: new AbortController().signal,
  };
  const run = (name: string, input: unknown) => {
    const tool = byName.get(name)!;
    return tool.run(tool.inputSchema.parse(input), ctx);
  };
  return { base, workspace, tools, byName, ctx, run, config };
}

Deno.test("tools: every built-in tool has a strict object schema for the model", async () => {
  const s = await setup();
  try {
    assertEquals(s.tools.map((t) => t.name), [...BUILTIN_TOOL_NAMES]);
    for (const tool of s.tools) {
      const schema = toolJsonSchema(tool);
      assertEquals(schema.type, "object", tool.name);
      assertEquals(schema.additionalProperties, false, `${tool.name} must refuse extra arguments`);
    }
    const tiers = Object.fromEntries(s.tools.map((t) => [t.name, t.tier]));
    assertEquals(tiers, {
      read_file: 1,
      write_file: 1,
      edit_file: 1,
      list_dir: 1,
      search_files: 1,
      exec: 2,
      web_search: 1,
      web_fetch: 2,
    });
  } finally {
    await Deno.remove(s.base, { recursive: true });
  }
});

Deno.test("tools: write, read, edit, list and search in the workspace", async () => {
  const s = await setup();
  try {
    assertStringIncludes(
      (await s.run("write_file", { path: "notes/a.txt", content: "alpha\nbeta\n" })).content,
      "Created",
    );
    assertEquals((await s.run("read_file", { path: "notes/a.txt" })).content, "alpha\nbeta\n");
    const edit = await s.run("edit_file", {
      path: "notes/a.txt",
      old_text: "beta",
      new_text: "gamma",
    });
    assertStringIncludes(edit.content, "1 replacement");
    assertEquals(await Deno.readTextFile(join(s.workspace, "notes/a.txt")), "alpha\ngamma\n");
    await s.run("write_file", { path: "notes/b.txt", content: "x x x" });
    const ambiguous = await s.run("edit_file", {
      path: "notes/b.txt",
      old_text: "x",
      new_text: "y",
    });
    assertEquals(ambiguous.isError, true);
    assertStringIncludes(ambiguous.content, "3 times");
    const all = await s.run("edit_file", {
      path: "notes/b.txt",
      old_text: "x",
      new_text: "y",
      replace_all: true,
    });
    assertStringIncludes(all.content, "3 replacements");
    assertEquals((await s.run("list_dir", { path: "notes" })).content, "a.txt  12\nb.txt  5");
    assertEquals((await s.run("list_dir", {})).content, "notes/");
    const found = await s.run("search_files", { query: "GAMMA" });
    assertEquals(found.content, "notes/a.txt:2: gamma");
    const byName = await s.run("search_files", { query: "b.t", in: "name" });
    assertEquals(byName.content, "notes/b.txt (name)");
    const escape = await s.run("read_file", { path: "../../etc/passwd" });
    assertEquals(escape.isError, true);
    assertStringIncludes(escape.content, "Refused");
  } finally {
    await Deno.remove(s.base, { recursive: true });
  }
});

Deno.test("tools: search never follows links out of the workspace", async () => {
  const s = await setup();
  try {
    await Deno.mkdir(join(s.base, "outside"));
    await Deno.writeTextFile(join(s.base, "outside", "secret.txt"), "needle outside");
    await Deno.symlink(join(s.base, "outside"), join(s.workspace, "out"));
    await Deno.writeTextFile(join(s.workspace, "in.txt"), "needle inside");
    const r = await s.run("search_files", { query: "needle" });
    assertEquals(r.content, "in.txt:1: needle inside");
  } finally {
    await Deno.remove(s.base, { recursive: true });
  }
});

Deno.test("schema: extra, missing or wrongly typed arguments are refused before running, and the model is told why", async () => {
  const s = await setup();
  try {
    const audit = new Audit();
    const bad = [
      call("c1", "write_file", { path: "x.txt", content: "hi", mode: "0777" }),
      call("c2", "write_file", { path: "y.txt" }),
      call("c3", "write_file", { path: 42, content: "hi" }),
      call("c4", "exec", { command: ["rm", "-rf", "/"] }),
      call("c5", "read_file", "{not json"),
    ];
    const provider = new ScriptedProvider([answer("", ...bad), answer("done")]);
    const result = await runTurn({
      provider,
      agent: { id: "default", model: "fake", workspace: s.workspace },
      tools: s.tools,
      history: [],
      message: "go",
      audit,
      permit: () => Promise.resolve("allow"),
      session: { id: "webchat:c1:default", channel: "webchat", sender: "owner" },
    });
    assertEquals(result.text, "done");
    const toolMessage = result.messages.find((m) => m.role === "tool");
    assert(toolMessage && toolMessage.role === "tool");
    for (const r of toolMessage.results) {
      assertEquals(r.isError, true, r.content);
      assert(/schema|JSON/.test(r.content), r.content);
    }
    assertStringIncludes(toolMessage.results[0].content, "mode");
    assertStringIncludes(toolMessage.results[1].content, "content");
    // Nothing ran and nothing was even requested.
    assertEquals(audit.events.filter((e) => e.kind === "tool.requested").length, 0);
    assertEquals([...Deno.readDirSync(s.workspace)].length, 0);
  } finally {
    await Deno.remove(s.base, { recursive: true });
  }
});

Deno.test({
  name: "exec: runs sandboxed behind the approval broker; audited before it runs",
  ignore: !bwrapOk,
  fn: async () => {
    const s = await setup();
    const store = PermissionStore.open(join(s.base, "permissions.db"));
    try {
      const audit = new Audit();
      const broker = new ApprovalBroker({
        store,
        audit,
        isOwner: (_c, sender) => sender === "owner",
        sandboxFor: () => "bwrap",
        pollMs: 5,
        ask: (p) => {
          setTimeout(
            () =>
              broker.handleReply({
                channel: p.channel,
                session: p.session,
                sender: "owner",
                text: `approve ${p.code}`,
              }),
            5,
          );
          return Promise.resolve();
        },
      });
      const provider = new ScriptedProvider([
        answer(
          "",
          call("c1", "exec", { command: "echo sandboxed > proof.txt; cat proof.txt; exit 4" }),
        ),
        answer("ok"),
      ]);
      const result = await runTurn({
        provider,
        agent: { id: "default", model: "fake", workspace: s.workspace },
        tools: s.tools,
        history: [],
        message: "go",
        audit,
        permit: broker.check,
        session: { id: "webchat:c1:default", channel: "webchat", sender: "owner" },
      });
      assertEquals(result.text, "ok");
      const tool = result.messages.find((m) => m.role === "tool");
      assert(tool && tool.role === "tool");
      assertStringIncludes(tool.results[0].content, "exit code 4 (bwrap sandbox");
      assertStringIncludes(tool.results[0].content, "sandboxed");
      assertEquals(await Deno.readTextFile(join(s.workspace, "proof.txt")), "sandboxed\n");
      const kinds = audit.events.map((e) => e.kind);
      assert(kinds.indexOf("tool.requested") < kinds.indexOf("tool.approved"), kinds.join());
      assert(kinds.indexOf("tool.approved") < kinds.lastIndexOf("tool.error"), kinds.join());
    } finally {
      store.close();
      await Deno.remove(s.base, { recursive: true });
    }
  },
});

Deno.test({
  name: "exec: an unrecordable request does not run",
  ignore: !bwrapOk,
  fn: async () => {
    const s = await setup();
    try {
      const audit = new Audit();
      audit.fail = true;
      const provider = new ScriptedProvider([
        answer("", call("c1", "exec", { command: "touch ran.txt" })),
        answer("ok"),
      ]);
      await runTurn({
        provider,
        agent: { id: "default", model: "fake", workspace: s.workspace },
        tools: s.tools,
        history: [],
        message: "go",
        audit,
        permit: () => Promise.resolve("allow"),
        session: { id: "s", channel: "webchat", sender: "owner" },
      });
      assertEquals(
        [...Deno.readDirSync(s.workspace)].length,
        0,
        "the command ran without an audit record",
      );
    } finally {
      await Deno.remove(s.base, { recursive: true });
    }
  },
});

Deno.test({
  name: "exec: time limit, output cap, cwd confinement",
  ignore: !bwrapOk,
  fn: async () => {
    const s = await setup();
    try {
      const slow = await s.run("exec", { command: "sleep 1000", timeout_seconds: 1 });
      assertEquals(slow.isError, true);
      assertStringIncludes(slow.content, "killed after 1 s (time limit)");
      const flood = await s.run("exec", { command: "head -c 100000 /dev/zero | tr '\\0' y" });
      assertStringIncludes(flood.content, "[output truncated to 32768 bytes per stream]");
      const out = await s.run("exec", { command: "pwd", cwd: "../" });
      assertEquals(out.isError, true);
      assertStringIncludes(out.content, "Refused");
      await Deno.mkdir(join(s.workspace, "sub"));
      const sub = await s.run("exec", { command: "pwd", cwd: "sub" });
      assertStringIncludes(sub.content, join(s.workspace, "sub"));
      assertFalse(
        (await s.byName.get("exec")!.inputSchema.safeParseAsync({
          command: "x",
          timeout_seconds: 11,
        })).success,
      );
    } finally {
      await Deno.remove(s.base, { recursive: true });
    }
  },
});

Deno.test("exec: host runs are labelled as such in the result", () => {
  const text = formatExecResult({
    exitCode: 0,
    signal: null,
    stdout: "hi\n",
    stderr: "",
    truncated: false,
    timedOut: false,
    durationMs: 3,
    sandbox: "host",
  }, DEFAULT_LIMITS);
  assertStringIncludes(text, "on the host, unsandboxed");
});
