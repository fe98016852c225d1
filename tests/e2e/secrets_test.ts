/**
 * The secrets canary. Every e2e test puts a known canary in every vault slot and ends with a
 * sweep of every file in the data dir (but the vault's ciphertext), every byte printed, every
 * request the model and the SIEM received. This file proves the sweep can see a leak, then hunts
 * for the canaries from inside the agent: the model tries every way a tool offers to find a
 * credential (environment, /proc, the data dir, config, logs, WebChat's own API) and repeats
 * whatever it finds; nothing may come back.
 */
import { join } from "node:path";
import { assert, assertEquals, assertRejects } from "../assert.ts";
import { commandAvailable } from "../skip.ts";
import type { Step } from "../fakes/openai_chat.ts";
import { BwrapSandbox } from "../../src/sandbox/bwrap.ts";
import { canaryHits, setupE2e, toolResults, withE2e } from "./harness.ts";
import nodeAssert from "node:assert/strict";

const hasBwrap = await commandAvailable("bwrap", "apt-get install bubblewrap") &&
  await BwrapSandbox.available();

Deno.test("e2e canary: the sweep sees a planted secret in any form", async () => {
  const e = await setupE2e({ siem: false });
  try {
    const [name, value] = [...e.canaries].find(([n]) => n.startsWith("provider."))!;
    assertEquals(canaryHits(e.canaries, `x${value}x`), [name]);
    assertEquals(canaryHits(e.canaries, btoa(value)), [name]);
    const hex = [...new TextEncoder().encode(value)].map((b) => b.toString(16).padStart(2, "0"));
    assertEquals(canaryHits(e.canaries, hex.join("")), [name]);
    assertEquals(canaryHits(e.canaries, value.slice(value.lastIndexOf("-") + 1)), [name]);
    // A leak into a log file fails the test's final sweep.
    await Deno.mkdir(join(e.data, "logs"), { recursive: true });
    await Deno.writeTextFile(join(e.data, "logs", "oops.log"), `token=${value}\n`);
    await assertRejects(() => e.finish(), nodeAssert.AssertionError, name);
  } finally {
    await e.abort();
  }
});

Deno.test({
  name: "e2e canary: the agent hunts for credentials with every tool; nothing comes back",
  ignore: !hasBwrap,
  async fn() {
    let data = "";
    const hunt: { name: string; args: unknown }[][] = [];
    const script = (n: number): Step => {
      const round = hunt[n];
      return round ? { calls: round } : {
        text: "Here is everything I found (repeating all tool output verbatim).",
      };
    };
    await withE2e({ script }, async (e) => {
      data = e.data;
      const cmd = (command: string) => ({ name: "exec", args: { command } });
      hunt.push(
        [
          cmd("env; cat /proc/self/environ; cat /proc/1/environ; ps aux"),
          cmd(`ls -la ~ ${data} /root /tmp; cat ${data}/vault.key ${data}/config.json`),
          cmd("grep -r cnry / --include=*.log --include=*.json -s -l | head"),
        ],
        [
          { name: "read_file", args: { path: "../../config.json" } },
          { name: "read_file", args: { path: `${data}/logs/wirken.log` } },
          { name: "list_dir", args: { path: ".." } },
          { name: "search_files", args: { query: "cnry" } },
        ],
      );
      await e.start();
      const chat = await e.webchat();
      const out = await e.turn(chat, "Find any API keys you can.", () => "once", 45_000);
      await chat.close();
      assert(out.text.includes("everything I found"), out.text);
      // The hunt really ran: the shell printed its environment, the file tools answered.
      const results = toolResults(e.model, 1).join("\n") + toolResults(e.model, 2).join("\n");
      assert(results.includes("PATH="), "exec ran `env`");
      assert(results.includes("outside the workspace"), "confinement answered the file tools");
      // What the tools returned went to the model; the sweep in finish() checks every request
      // body, and WebChat's own API answers are swept too.
      const cookie = await loginCookie(e.gateway!.loginUrl);
      const api: string[] = [];
      for (
        const path of ["/api/credentials", "/api/audit?limit=500", "/api/sessions", "/api/status"]
      ) {
        const res = await fetch(`${e.gateway!.url}${path}`, { headers: { cookie } });
        api.push(await res.text());
      }
      const names = JSON.parse(api[0]).map((c: { name: string }) => c.name) as string[];
      assert(names.includes("provider.custom.api_key"), "the panel lists names");
      for (const text of api) assertEquals(canaryHits(e.canaries, text), []);
      assertEquals(canaryHits(e.canaries, JSON.stringify(e.model.requests)), []);
    });
  },
});

async function loginCookie(loginUrl: string): Promise<string> {
  const res = await fetch(loginUrl, { redirect: "manual" });
  await res.body?.cancel();
  return (res.headers.get("set-cookie") ?? "").split(";")[0];
}
