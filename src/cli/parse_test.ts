import { assert, assertEquals, assertStringIncludes, assertThrows } from "../../tests/assert.ts";
import { UsageError } from "../errors.ts";
import { helpText } from "./help.ts";
import { commandName, parse } from "./parse.ts";
import type { CommandSpec } from "./spec.ts";
import { closest } from "./suggest.ts";
import { rootCommand } from "./tree.ts";

function walk(path: CommandSpec[], visit: (p: CommandSpec[]) => void): void {
  visit(path);
  for (const c of path[path.length - 1].subcommands ?? []) walk([...path, c], visit);
}

Deno.test("tree: the full command tree of the original is present", () => {
  const names: string[] = [];
  walk([rootCommand], (p) => names.push(commandName(p)));
  const expected = [
    "setup",
    "run",
    "adapter",
    "ask",
    "status",
    "doctor",
    "channel add",
    "channel list",
    "channel remove",
    "agents add",
    "agents list",
    "agents remove",
    "agents bind",
    "skills search",
    "skills install",
    "skills list",
    "skills sign",
    "skills verify",
    "skills remove",
    "audit log",
    "audit verify",
    "audit prune",
    "audit export",
    "sessions list",
    "sessions show",
    "sessions clear",
    "permissions list",
    "permissions approve",
    "permissions revoke",
    "permissions pending",
    "credentials list",
    "credentials add",
    "credentials rotate",
    "credentials show",
    "credentials remove",
    "mcp add",
    "mcp list",
    "mcp remove",
  ];
  for (const e of expected) assert(names.includes(`wirken ${e}`), `missing: wirken ${e}`);
});

Deno.test("tree: every command has help with an example, and leaves have a body", () => {
  walk([rootCommand], (path) => {
    const spec = path[path.length - 1];
    assert(spec.examples.length > 0, `${commandName(path)} has no example`);
    for (const ex of spec.examples) assert(ex.startsWith("wirken") || ex.includes(" wirken "), ex);
    const help = helpText(path);
    assertStringIncludes(help, commandName(path));
    assertStringIncludes(help, "Example");
    assert(spec.subcommands || spec.run, `${commandName(path)} has neither subcommands nor a body`);
    const parsed = parse(rootCommand, [...path.slice(1).map((c) => c.name), "--help"]);
    assertEquals(parsed.kind, "help");
  });
});

Deno.test("tree: every list/show command accepts --json", () => {
  walk([rootCommand], (path) => {
    const spec = path[path.length - 1];
    if (["list", "show", "status", "pending"].includes(spec.name)) {
      assert(spec.json, `${commandName(path)} lacks --json`);
    }
  });
});

Deno.test("parse: subcommands, positionals and flags", () => {
  const p = parse(rootCommand, ["agents", "bind", "research", "telegram", "--conversation", "42"]);
  assert(p.kind === "run");
  assertEquals(commandName(p.path), "wirken agents bind");
  assertEquals(p.args, { id: "research", channel: "telegram" });
  assertEquals(p.flags.conversation, "42");
});

Deno.test("parse: variadic text, global flags before the command, --json", () => {
  const p = parse(rootCommand, ["--verbose", "ask", "what", "is", "up", "--json"]);
  assert(p.kind === "run");
  assertEquals(p.args.text, ["what", "is", "up"]);
  assertEquals(p.flags.json, true);
  assertEquals(p.flags.verbose, true);
});

Deno.test("parse: --version and root help", () => {
  assertEquals(parse(rootCommand, ["--version"]).kind, "version");
  assertEquals(parse(rootCommand, ["-V"]).kind, "version");
  assertEquals(parse(rootCommand, []).kind, "help");
  assertEquals(parse(rootCommand, ["--help"]).kind, "help");
});

Deno.test("parse: unknown command suggests the closest one (exit 2)", () => {
  const e = assertThrows(
    () => parse(rootCommand, ["chanel", "add"]),
    UsageError,
    "unknown command `chanel`",
  );
  assertEquals(e.exitCode, 2);
  assertStringIncludes(e.fix ?? "", "wirken channel");
  const sub = assertThrows(() => parse(rootCommand, ["audit", "verfy"]), UsageError);
  assertStringIncludes(sub.fix ?? "", "wirken audit verify");
  const none = assertThrows(() => parse(rootCommand, ["zzzzzz"]), UsageError);
  assertStringIncludes(none.fix ?? "", "choose one of");
});

Deno.test("parse: unknown flag suggests the closest flag", () => {
  const e = assertThrows(
    () => parse(rootCommand, ["doctor", "--jsn"]),
    UsageError,
    "unknown flag --jsn",
  );
  assertStringIncludes(e.fix ?? "", "--json");
  assertThrows(() => parse(rootCommand, ["--bogus", "run"]), UsageError, "unknown flag --bogus");
});

Deno.test("parse: missing argument, extra argument, missing flag value, bad choice", () => {
  assertThrows(
    () => parse(rootCommand, ["channel", "add"]),
    UsageError,
    "missing argument <channel>",
  );
  assertThrows(
    () => parse(rootCommand, ["doctor", "extra"]),
    UsageError,
    'unexpected argument "extra"',
  );
  assertThrows(() => parse(rootCommand, ["setup", "--model"]), UsageError, "--model needs a value");
  const e = assertThrows(
    () => parse(rootCommand, ["setup", "--provider", "openia"]),
    UsageError,
    'invalid value "openia"',
  );
  assertStringIncludes(e.fix ?? "", 'did you mean "openai"');
  assertThrows(() => parse(rootCommand, ["channel"]), UsageError, "needs a subcommand");
});

Deno.test("suggest: closest only when plausible", () => {
  assertEquals(closest("stauts", ["status", "setup"]), "status");
  assertEquals(closest("cred", ["credentials", "channel"]), "credentials");
  assertEquals(closest("xyz", ["status", "setup"]), undefined);
});
