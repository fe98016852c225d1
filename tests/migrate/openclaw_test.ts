/**
 * `wirken migrate openclaw` against a fixture OpenClaw home (tests/fixtures/openclaw/home) plus
 * hostile entries added at run time (symlinks out, a huge file): the real CLI in a child process.
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { assert, assertEquals, assertFalse, assertStringIncludes } from "../assert.ts";
import { tempDataDir, wirken } from "../cli/helpers.ts";
import { parse } from "../../src/cli/parse.ts";
import { rootCommand } from "../../src/cli/tree.ts";
import { insideRoot } from "../../src/migrate/paths.ts";
import { AUDIT_READ } from "../skills/audit_read.ts";
import { type MigrationPlan, planOpenClawMigration } from "../../src/migrate/openclaw.ts";

const FIXTURE = fileURLToPath(new URL("../fixtures/openclaw/", import.meta.url));

/** Every fake credential in the fixture contains this; none may ever reach wirken. */
const CANARY = "CANARY-";

/** A private copy of the fixture with the hostile entries git cannot hold portably. */
async function hostileHome(): Promise<string> {
  const base = await Deno.makeTempDir({ prefix: "wirken-openclaw-" });
  await copyTree(FIXTURE, base);
  const home = join(base, "home");
  // A skill folder that is a symlink to a folder outside the OpenClaw home.
  await Deno.symlink("../../outside-skills/evil", join(home, "skills", "linked"));
  // A skill with a symlink inside, pointing at a file outside.
  await Deno.mkdir(join(home, "skills", "leaky"));
  await Deno.writeTextFile(
    join(home, "skills", "leaky", "SKILL.md"),
    "---\nname: leaky\ndescription: Carries a link to /etc/passwd.\n---\nRead passwd.\n",
  );
  await Deno.symlink("/etc/passwd", join(home, "skills", "leaky", "passwd"));
  // A skill with a file past the 20 MiB limit (sparse, so the test stays fast).
  await Deno.mkdir(join(home, "skills", "huge"));
  await Deno.writeTextFile(
    join(home, "skills", "huge", "SKILL.md"),
    "---\nname: huge\ndescription: Brings a very large file.\n---\nBig.\n",
  );
  const big = await Deno.open(join(home, "skills", "huge", "big.bin"), {
    write: true,
    create: true,
  });
  await big.truncate(21 * 1024 * 1024);
  big.close();
  return home;
}

async function copyTree(from: string, to: string): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  for await (const e of Deno.readDir(from)) {
    if (e.isDirectory) await copyTree(join(from, e.name), join(to, e.name));
    else if (e.isFile) await Deno.copyFile(join(from, e.name), join(to, e.name));
  }
}

/** Every file under `dir` (throws on a symlink: wirken's data dir must hold none). */
async function allFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    const p = join(dir, e.name);
    assertFalse(e.isSymlink, `symlink in the data dir: ${p}`);
    if (e.isDirectory) out.push(...await allFiles(p));
    else out.push(p);
  }
  return out;
}

async function exists(path: string): Promise<boolean> {
  return await Deno.lstat(path).then(() => true, () => false);
}

Deno.test("migrate openclaw: dry run prints the plan and writes nothing", async () => {
  const home = await hostileHome();
  const dataDir = await tempDataDir();
  const run = await wirken(["migrate", "openclaw", "--from", home, "--dry-run"], { dataDir });
  assertEquals(run.code, 0, run.stderr);
  assertStringIncludes(run.stdout, "dry run: nothing is written");
  assertStringIncludes(run.stdout, "provider: anthropic (claude-sonnet-4-5)");
  assertStringIncludes(run.stdout, "wirken channel add telegram");
  assertFalse(await exists(dataDir), "a dry run must not even create the data dir");
  assertFalse(run.stdout.includes(CANARY) || run.stderr.includes(CANARY));
});

Deno.test("migrate openclaw: imports skills, agents, channels and routes; never a credential; second run does nothing", async () => {
  const home = await hostileHome();
  const dataDir = await tempDataDir();
  const first = await wirken(["migrate", "openclaw", "--from", home, "--json"], { dataDir });
  assertEquals(first.code, 0, first.stderr);
  const plan = JSON.parse(first.stdout) as MigrationPlan & {
    result: { copiedSkills: string[]; configSaved: boolean };
  };
  assertEquals(plan.configFile, "openclaw.json");
  assertFalse(plan.nothingToDo);

  // Skills: valid ones copied (eligible or not, with why); hostile or broken ones refused.
  const byName = new Map(plan.skills.map((s) => [s.name, s]));
  assertEquals(plan.result.copiedSkills.sort(), ["gh-review", "needs-bin", "signed-fake"]);
  assertEquals(byName.get("gh-review")?.eligible, true);
  assertEquals(byName.get("needs-bin")?.eligible, false);
  assertEquals(byName.get("needs-bin")?.missing, ["missing binary: wirken-test-no-such-binary"]);
  const refused = (name: string, why: string) => {
    const s = plan.skills.find((x) => x.name === name || x.source.endsWith(`/${name}`));
    assertEquals(s?.action, "refused", `${name} must be refused`);
    assertStringIncludes(s?.reason ?? "", why);
  };
  refused("linked", "symbolic link");
  refused("leaky", "may not contain symlinks");
  refused("huge", "too large");
  refused("broken", "front matter is not closed");
  refused("badname", "name: must be lowercase");
  refused("weather", "bundles a signed skill");
  for (const name of ["gh-review", "needs-bin", "signed-fake"]) {
    assert(await exists(join(dataDir, "skills", name, "SKILL.md")), name);
  }
  assert(await exists(join(dataDir, "skills", "gh-review", "scripts", "run.sh")));
  for (const name of ["linked", "leaky", "huge", "broken", "badname", "evil", "weather"]) {
    assertFalse(await exists(join(dataDir, "skills", name)), `${name} must not be copied`);
  }
  // Audited like an install, before the write: every copied skill, unsigned, and the config.
  const events = await AUDIT_READ(dataDir);
  const installs = events.filter((e) => e.kind === "skill.install");
  assertEquals(installs.map((e) => e.payload.name).sort(), [
    "gh-review",
    "needs-bin",
    "signed-fake",
  ]);
  assert(installs.every((e) => e.payload.unsigned === true));
  assert(events.some((e) => e.kind === "config.change" && e.payload.change === "migrate openclaw"));
  // Never marked signed: the signature file a skill brought is not copied.
  assertFalse(await exists(join(dataDir, "skills", "signed-fake", ".wirken-signature.json")));

  // Config: provider, agents with their SOUL.md, channels and allow-lists, routes.
  const config = JSON.parse(await Deno.readTextFile(join(dataDir, "config.json")));
  assertEquals(config.provider, { kind: "anthropic", model: "claude-sonnet-4-5" });
  const agents = new Map(
    (config.agents as { id: string }[]).map((a) => [a.id, a as Record<string, unknown>]),
  );
  assertEquals(agents.get("default")?.name, "Clawd");
  assertStringIncludes(String(agents.get("default")?.systemPrompt), "You are Clawd");
  assertEquals(agents.get("work")?.provider, { kind: "openai", model: "gpt-4o" });
  assertStringIncludes(String(agents.get("work")?.systemPrompt), "You are the work agent");
  assertFalse(agents.has("Evil Agent!"));
  assertEquals(config.channels.telegram, { enabled: true, allowFrom: ["123456789"] });
  assertEquals(config.channels.discord.allowFrom, ["111222333444555666"]);
  assertEquals(config.channels.slack.allowFrom, ["U0123ABC"]);
  assertEquals(config.channels.whatsapp.allowFrom, ["15555550123"]);
  assertFalse("signal" in config.channels);
  assertEquals(config.routes, [
    { channel: "slack", agent: "work" },
    { channel: "telegram", conversation: "-1001234567890", agent: "work" },
  ]);
  const mode = (await Deno.stat(join(dataDir, "config.json"))).mode;
  if (mode !== null) assertEquals(mode & 0o777, 0o600);

  // Unknown or unmappable entries are listed with a reason, never dropped silently.
  const skipped = plan.skipped.map((s) => s.what);
  for (
    const what of [
      "gateway",
      "cron",
      "channels.signal",
      "agent Evil Agent!",
      "agent escape workspace",
      "skills.load.extraDirs[0]",
      "skills.load.extraDirs[1]",
      'channels.telegram allowFrom "*"',
      "bindings[2] (whatsapp -> main)",
      "bindings[3] (discord -> ghost)",
      "bindings[5]",
    ]
  ) assert(skipped.includes(what), `not listed as skipped: ${what}`);

  // Credentials: each one found gets the command that re-enters it, and every command parses.
  const commands = plan.credentials.flatMap((c) => (c.command ? [c.command] : []));
  for (
    const c of [
      "wirken channel add telegram",
      "wirken channel add discord",
      "wirken channel add slack",
      "wirken credentials add provider.anthropic.api_key",
      "wirken credentials add provider.openai.api_key",
    ]
  ) assert(commands.includes(c), `missing re-entry command: ${c}`);
  for (const c of commands) {
    const parsed = parse(rootCommand, c.split(" ").slice(1));
    assertEquals(parsed.kind, "run", c);
  }
  const found = plan.credentials.map((c) => c.found);
  for (
    const f of [
      "channels.telegram.botToken",
      "channels.slack.appToken",
      ".env",
      "credentials",
      "agents/main/agent/auth-profiles.json",
    ]
  ) assert(found.includes(f), `credential not reported: ${f}`);

  // The canary values appear nowhere: not in any file of the data dir, not in the output.
  for (const file of await allFiles(dataDir)) {
    const text = new TextDecoder().decode(await Deno.readFile(file));
    assertFalse(text.includes(CANARY), `canary leaked into ${file}`);
  }
  assertFalse(first.stdout.includes(CANARY) || first.stderr.includes(CANARY));

  // Idempotent: a second run changes nothing and says so (and records nothing).
  const before = await Deno.readTextFile(join(dataDir, "config.json"));
  const eventsBefore = (await AUDIT_READ(dataDir)).length;
  const second = await wirken(["migrate", "openclaw", "--from", home], { dataDir });
  assertEquals(second.code, 0, second.stderr);
  assertStringIncludes(second.stdout, "Nothing to do");
  assertEquals(await Deno.readTextFile(join(dataDir, "config.json")), before);
  assertEquals((await AUDIT_READ(dataDir)).length, eventsBefore);
  assertFalse(second.stdout.includes(CANARY) || second.stderr.includes(CANARY));

  // Imported skills stay refused until signed (never marked signed).
  const list = await wirken(["skills", "list", "--json"], { dataDir });
  assertEquals(list.code, 0, list.stderr);
  const entries = JSON.parse(list.stdout) as {
    name: string;
    source: string;
    signature: { status: string };
  }[];
  for (const name of ["gh-review", "needs-bin", "signed-fake"]) {
    assertEquals(entries.find((e) => e.name === name)?.signature.status, "refused", name);
  }
  // The bundled weather skill is untouched.
  const weather = entries.find((e) => e.name === "weather");
  assertEquals([weather?.source, weather?.signature.status], ["bundled", "verified"]);
});

Deno.test("migrate openclaw: keeps what wirken already has; a conflicting skill is kept", async () => {
  const home = await hostileHome();
  const dataDir = await tempDataDir();
  await Deno.mkdir(join(dataDir, "skills", "gh-review"), { recursive: true });
  await Deno.writeTextFile(
    join(dataDir, "skills", "gh-review", "SKILL.md"),
    "---\nname: gh-review\ndescription: Mine.\n---\nMine.\n",
  );
  await Deno.writeTextFile(
    join(dataDir, "config.json"),
    JSON.stringify({
      provider: { kind: "ollama", model: "llama3.2" },
      channels: { telegram: { enabled: false, allowFrom: ["42"] } },
    }),
  );
  const run = await wirken(["migrate", "openclaw", "--from", home, "--json"], { dataDir });
  assertEquals(run.code, 0, run.stderr);
  const plan = JSON.parse(run.stdout) as MigrationPlan;
  assertEquals(plan.skills.find((s) => s.name === "gh-review")?.action, "conflict");
  assertStringIncludes(
    await Deno.readTextFile(join(dataDir, "skills", "gh-review", "SKILL.md")),
    "Mine.",
  );
  const config = JSON.parse(await Deno.readTextFile(join(dataDir, "config.json")));
  assertEquals(config.provider, { kind: "ollama", model: "llama3.2" });
  // Allow-lists are merged; the channel's own switch is left as it was.
  assertEquals(config.channels.telegram, { enabled: false, allowFrom: ["42", "123456789"] });
  // The work agent keeps the OpenAI model as its own provider.
  const work = config.agents.find((a: { id: string }) => a.id === "work");
  assertEquals(work.provider, { kind: "openai", model: "gpt-4o" });
});

Deno.test("migrate openclaw: a missing folder, or a config that is not JSON5, is reported", async () => {
  const dataDir = await tempDataDir();
  const missing = await wirken(["migrate", "openclaw", "--from", "/nonexistent/openclaw"], {
    dataDir,
  });
  assertEquals(missing.code, 1);
  assertStringIncludes(missing.stderr, "is not an OpenClaw folder");
  assertStringIncludes(missing.stderr, "fix: Pass the OpenClaw home folder with --from");

  const home = await Deno.makeTempDir();
  // The broken config holds a canary right where the parser stops: it must not be echoed.
  await Deno.writeTextFile(
    join(home, "openclaw.json"),
    "{ channels: { telegram: { botToken: CANARY-x } } }",
  );
  const bad = await wirken(["migrate", "openclaw", "--from", home, "--json"], { dataDir });
  assertEquals(bad.code, 0, bad.stderr);
  const plan = JSON.parse(bad.stdout) as MigrationPlan;
  assertStringIncludes(
    plan.skipped.find((s) => s.what === "openclaw.json")?.reason ?? "",
    "not valid JSON5 (line 1",
  );
  assertFalse(bad.stdout.includes(CANARY));
});

Deno.test("migrate: insideRoot keeps paths inside the OpenClaw folder", () => {
  assertEquals(insideRoot("/h/.openclaw", "~/.openclaw/workspace"), "workspace");
  assertEquals(insideRoot("/h/.openclaw", "~/.openclaw"), "");
  assertEquals(insideRoot("/h/.openclaw", "workspace-x/skills"), "workspace-x/skills");
  assertEquals(insideRoot("/h/.openclaw", "/h/.openclaw/a/b"), "a/b");
  assertEquals(insideRoot("/h/.openclaw", "../elsewhere"), null);
  assertEquals(insideRoot("/h/.openclaw", "a/../../x"), null);
  assertEquals(insideRoot("/h/.openclaw", "/etc"), null);
  assertEquals(insideRoot("/h/.openclaw", "~/Projects/skills"), null);
});

/** Plans a migration of an OpenClaw home holding only `config` (written as JSON5 text). */
async function planFor(config: string) {
  const home = await Deno.makeTempDir();
  await Deno.writeTextFile(join(home, "openclaw.json"), config);
  const noBins = { env: new Map<string, string>(), hasBin: () => false, os: "linux" };
  return await planOpenClawMigration({
    from: home,
    dataDir: await tempDataDir(),
    eligibility: noBins,
  });
}

Deno.test("migrate: other OpenClaw layouts (legacy agent block, agents.entries, openrouter)", async () => {
  // The legacy single-agent layout with a provider known by name (OpenAI-compatible).
  const legacy = await planFor(
    '{ agent: { model: "openrouter/anthropic/claude-sonnet-4-5" }, identity: { name: "Molty" } }',
  );
  assertEquals(legacy.nextConfig?.provider, {
    kind: "custom",
    model: "anthropic/claude-sonnet-4-5",
    baseUrl: "https://openrouter.ai/api/v1",
  });
  assertEquals(legacy.nextConfig?.agents.find((a) => a.id === "default")?.name, "Molty");
  assert(
    legacy.plan.credentials.some((c) =>
      c.command === "wirken credentials add provider.custom.api_key"
    ),
  );

  // agents.entries (newer releases): the object key is the id; a binding routes to it.
  const entries = await planFor(`{
    agents: { defaults: { model: "ollama/qwen3" }, entries: { main: {}, ops: { name: "Ops" } } },
    bindings: [{ agentId: "ops", match: { channel: "msteams", peer: { kind: "channel", id: 19 } } }],
    channels: { msteams: { allowFrom: ["29:abc"] } },
  }`);
  const next = entries.nextConfig!;
  assertEquals(next.provider, { kind: "ollama", model: "qwen3" });
  assertEquals(next.agents.map((a) => a.id), ["default", "ops"]);
  assertEquals(next.routes, [{ channel: "teams", conversation: "19", agent: "ops" }]);
  assertEquals(next.channels.teams?.allowFrom, ["29:abc"]);
  // Ollama needs no key, so no provider credential is asked for.
  assertFalse(entries.plan.credentials.some((c) => c.command?.includes("provider.ollama")));

  // An alias instead of provider/model is reported, not guessed.
  const alias = await planFor('{ agents: { defaults: { model: "opus" } } }');
  assertEquals(alias.nextConfig?.provider, undefined);
  assert(alias.plan.skipped.some((s) => s.what === "model opus"));
});

Deno.test("migrate openclaw: control characters from openclaw.json never reach the terminal", async () => {
  const home = await Deno.makeTempDir();
  await Deno.writeTextFile(
    join(home, "openclaw.json"),
    JSON.stringify({
      agents: { list: [{ id: "main" }, { id: "\u001b]0;owned\u0007\u001b[2J" }] },
      "\u001b[31mx": 1,
    }),
  );
  const run = await wirken(["migrate", "openclaw", "--from", home, "--dry-run"], {
    dataDir: await tempDataDir(),
  });
  assertEquals(run.code, 0, run.stderr);
  assertFalse(run.stdout.includes("\u001b"), "an escape sequence reached stdout");
  assertStringIncludes(run.stdout, "?]0;owned?");
});

Deno.test("migrate openclaw, then the printed `wirken channel add`: the imported allow-list stays", async () => {
  const home = await hostileHome();
  const dataDir = await tempDataDir();
  const env = { WIRKEN_VAULT_BACKEND: "passphrase", WIRKEN_VAULT_PASSPHRASE: "migrate test pass" };
  const run = await wirken(["migrate", "openclaw", "--from", home], { dataDir, env });
  assertEquals(run.code, 0, run.stderr);
  assertStringIncludes(run.stdout, "wirken channel add telegram");
  const add = await wirken(["channel", "add", "telegram", "--skip-check", "--owner", "42"], {
    dataDir,
    env,
    stdin: "123456:re-entered-by-the-user\n",
  });
  assertEquals(add.code, 0, add.stderr);
  const config = JSON.parse(await Deno.readTextFile(join(dataDir, "config.json")));
  assertEquals(config.channels.telegram.allowFrom, ["123456789", "42"]);
  assertEquals(typeof config.channels.telegram.publicKey, "string");
  // The imported route for the Telegram group is still there next to the channel-wide one.
  assert(
    config.routes.some((r: { conversation?: string }) => r.conversation === "-1001234567890"),
  );
});
