/** `wirken channel config`: set, show, narrow, refuse an unknown agent, clear. */
import { assertEquals, assertStringIncludes } from "../assert.ts";
import { tempDataDir, wirken } from "../cli/helpers.ts";

Deno.test("wirken channel config sets, shows and clears one conversation's settings", async () => {
  const dataDir = await tempDataDir();
  await Deno.mkdir(dataDir, { recursive: true, mode: 0o700 });
  await Deno.writeTextFile(
    `${dataDir}/config.json`,
    JSON.stringify({ agents: [{ id: "default" }, { id: "family" }] }),
  );
  const run = (args: string[]) => wirken(["channel", "config", ...args], { dataDir });
  // Telegram group ids are negative: `--` ends the options so "-100123" is not one.
  const set = await run([
    "--agent",
    "family",
    "--tools",
    "get_weather, web_search",
    "--allow-from",
    "42",
    "--prompt",
    "Answer in German.",
    "--json",
    "telegram",
    "--",
    "-100123",
  ]);
  assertEquals(set.code, 0, set.stderr);
  assertEquals(JSON.parse(set.stdout).settings, {
    channel: "telegram",
    conversation: "-100123",
    agent: "family",
    systemPrompt: "Answer in German.",
    tools: ["get_weather", "web_search"],
    allowFrom: ["42"],
  });
  const config = JSON.parse(await Deno.readTextFile(`${dataDir}/config.json`));
  assertEquals(config.conversations.length, 1);
  const shown = await run(["telegram", "--", "-100123"]);
  assertStringIncludes(shown.stdout, "get_weather,web_search");
  const bad = await run(["--agent", "nobody", "telegram", "--", "-100123"]);
  assertEquals(bad.code, 2);
  assertStringIncludes(bad.stderr, 'There is no agent "nobody"');
  const cleared = await run(["--clear", "--json", "telegram", "--", "-100123"]);
  assertEquals(JSON.parse(cleared.stdout).settings, null);
  const after = JSON.parse(await Deno.readTextFile(`${dataDir}/config.json`));
  assertEquals(after.conversations, []);
});

Deno.test("wirken channel config --group-mode sets, shows, refuses a bad value and unsets", async () => {
  const dataDir = await tempDataDir();
  await Deno.mkdir(dataDir, { recursive: true, mode: 0o700 });
  await Deno.writeTextFile(`${dataDir}/config.json`, JSON.stringify({}));
  const run = (args: string[]) => wirken(["channel", "config", ...args], { dataDir });
  const set = await run(["--group-mode", "all", "--json", "discord", "123"]);
  assertEquals(set.code, 0, set.stderr);
  assertEquals(JSON.parse(set.stdout).settings, {
    channel: "discord",
    conversation: "123",
    groupMode: "all",
  });
  const shown = await run(["discord", "123"]);
  assertStringIncludes(shown.stdout, "group-mode");
  const bad = await run(["--group-mode", "everything", "discord", "123"]);
  assertEquals(bad.code, 2);
  assertStringIncludes(bad.stderr, '--group-mode is "mention" or "all"');
  const unset = await run(["--group-mode", "", "--json", "discord", "123"]);
  assertEquals(JSON.parse(unset.stdout).settings, { channel: "discord", conversation: "123" });
  const after = JSON.parse(await Deno.readTextFile(`${dataDir}/config.json`));
  assertEquals(after.conversations, []);
});
