/**
 * Tool loops are capped, end to end: a model that never stops calling tools (as a model
 * trapped by an injected page would) gets exactly `limits.toolRoundsPerTurn` rounds, the turn
 * ends with a notice instead of running forever, and the cap itself cannot be configured above
 * 20.
 */
import { join } from "node:path";
import { assert, assertEquals, assertStringIncludes } from "../assert.ts";
import { withE2e } from "./harness.ts";

Deno.test("e2e loops: a model that always calls a tool is stopped at the round cap", async () => {
  await withE2e({
    script: () => ({ calls: [{ name: "list_dir", args: { path: "." } }] }),
    config: { limits: { toolRoundsPerTurn: 3 } },
  }, async (e) => {
    await e.start();
    const chat = await e.webchat();
    const started = Date.now();
    const out = await e.turn(chat, "loop forever", () => "deny", 20_000);
    await chat.close();
    assert(Date.now() - started < 15_000);
    // 3 rounds with results, then the 4th answer's calls are dropped and the turn ends.
    assertEquals(e.model.requests.length, 4);
    assertEquals(out.events.filter((ev) => ev.type === "tool_call").length, 3);
    assert(out.events.some((ev) => ev.type === "notice"), JSON.stringify(out.events));
    const ran = e.auditEvents().filter((ev) =>
      ev.kind === "tool.requested" && ev.payload.tool === "list_dir"
    );
    assertEquals(ran.length, 3);
  });
});

Deno.test("e2e loops: a round cap above 20 is refused at start", async () => {
  await withE2e({ siem: false }, async (e) => {
    const path = join(e.data, "config.json");
    const config = JSON.parse(await Deno.readTextFile(path));
    await Deno.writeTextFile(
      path,
      JSON.stringify({ ...config, limits: { toolRoundsPerTurn: 500 } }),
    );
    const run = await e.cli(["run", "--port", "0"]);
    assert(run.code !== 0, "the gateway refused the config");
    assertStringIncludes(run.stdout + run.stderr, "toolRoundsPerTurn");
    // Put the valid config back, so the final audit verify runs against a loadable config.
    await Deno.writeTextFile(path, JSON.stringify(config));
  });
});

Deno.test("e2e loops: a model answering with 500 tool calls gets 16 run, the rest refused with the reason", async () => {
  await withE2e({
    script: (n) =>
      n === 0
        ? { calls: Array.from({ length: 500 }, () => ({ name: "list_dir", args: { path: "." } })) }
        : { text: "listed" },
  }, async (e) => {
    await e.start();
    const chat = await e.webchat();
    const out = await e.turn(chat, "list everything", () => "deny", 30_000);
    await chat.close();
    assertEquals(out.text, "listed");
    const events = e.auditEvents();
    assertEquals(events.filter((ev) => ev.kind === "tool.requested").length, 16);
    const limited = events.filter((ev) => ev.kind === "tool.limited");
    assertEquals(limited.map((ev) => ev.payload.refused), [484]);
    // The model got an answer for every call it made: 16 results and 484 refusals with reasons.
    const tools = (e.model.requests[1].messages as { role: string; content?: unknown }[])
      .filter((m) => m.role === "tool").map((m) => String(m.content));
    assertEquals(tools.length, 500);
    assertEquals(tools.filter((t) => t.includes("Not run: at most 16 tool calls")).length, 484);
  });
});
