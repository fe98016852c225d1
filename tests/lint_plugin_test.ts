import { assertEquals, assertStringIncludes } from "./assert.ts";
import plugin from "../lint/wirken_plugin.ts";

const RULE = "wirken/no-secret-logging";

function diagnostics(source: string): Deno.lint.Diagnostic[] {
  return Deno.lint.runPlugin(plugin, "case.ts", source).filter((d) => d.id === RULE);
}

Deno.test("lint rule: flags Secrets and .reveal() results passed to logging calls", () => {
  const cases = [
    `const s = new Secret("x"); console.log(s);`,
    `const s: Secret = load(); log.info("k", { s });`,
    `function f(key: Secret) { logger.warn(\`\${key}\`); }`,
    `function f(key: Secret) { this.log.error("v", key.reveal()); }`,
    `console.debug(vault.get("openai").reveal().slice(0, 4));`,
    `print(cred.reveal());`,
  ];
  for (const src of cases) assertEquals(diagnostics(src).length, 1, src);
});

Deno.test("lint rule: leaves legitimate uses alone", () => {
  const cases = [
    `const s = new Secret("x"); fetch(url, { headers: { authorization: s.reveal() } });`,
    `const s = new Secret("x"); console.log("credential", name);`,
    `function f(key: Secret) { log.info("rotated", { name: "openai", same: key.equals(other) }); }`,
    `const revealed = 3; console.log(revealed);`,
  ];
  for (const src of cases) assertEquals(diagnostics(src), [], src);
});

Deno.test("lint rule: the fixture file fails `deno lint` through deno.json's plugin", async () => {
  const root = new URL("..", import.meta.url).pathname;
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "lint",
      "--config",
      "tests/fixtures/lint/deno.json",
      "tests/fixtures/lint/logs_secret.ts",
    ],
    cwd: root,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  assertEquals(out.success, false, text);
  assertStringIncludes(text, RULE);
  assertStringIncludes(text, "Found 3 problems");
});
