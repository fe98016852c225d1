import { assert, assertEquals, assertFalse, assertStringIncludes } from "../tests/assert.ts";
import { inspect } from "node:util";
import { isSecret, REDACTED, Secret } from "./secret.ts";

const VALUE = "sk-live-0123456789abcdef";

Deno.test("Secret: every printing path yields [REDACTED]", () => {
  const s = new Secret(VALUE);
  const printed = [
    String(s),
    `${s}`,
    "" + s,
    s.toString(),
    JSON.stringify(s),
    JSON.stringify({ nested: { s }, list: [s] }),
    Deno.inspect(s),
    Deno.inspect({ deep: { deeper: { s } } }, { depth: 10 }),
    inspect(s),
    inspect({ s }, { depth: 10 }),
    [s].join(","),
  ];
  for (const text of printed) {
    assertFalse(text.includes(VALUE), `leaked through: ${text}`);
    assertStringIncludes(text, REDACTED);
  }
});

Deno.test("Secret: object enumeration and cloning do not expose the value", () => {
  const s = new Secret(VALUE);
  assertEquals(Object.keys(s), []);
  assertEquals(JSON.stringify({ ...s }), "{}");
  assertFalse(Object.getOwnPropertyNames(s).some((k) => String(Reflect.get(s, k)) === VALUE));
});

Deno.test("Secret: reveal is the only way out, equals compares values", () => {
  const s = new Secret(VALUE);
  assertEquals(s.reveal(), VALUE);
  assert(s.equals(new Secret(VALUE)));
  assertFalse(s.equals(new Secret(VALUE + "x")));
  assertFalse(s.equals(new Secret("other")));
  assert(isSecret(s));
  assertFalse(isSecret(VALUE));
});

Deno.test("Secret: empty value is refused", () => {
  let threw = false;
  try {
    new Secret("");
  } catch (e) {
    threw = e instanceof TypeError;
  }
  assert(threw);
});

Deno.test("Secret: console.log output is redacted", async () => {
  const cmd = new Deno.Command(Deno.execPath(), {
    args: [
      "eval",
      `import { Secret } from "${new URL("./secret.ts", import.meta.url).href}";
       const s = new Secret("${VALUE}");
       console.log(s); console.log("%s", s); console.log({ s }); console.error(\`\${s}\`);`,
    ],
    stdout: "piped",
    stderr: "piped",
  });
  const out = await cmd.output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  assert(out.success, text);
  assertFalse(text.includes(VALUE), text);
  assertStringIncludes(text, REDACTED);
});
