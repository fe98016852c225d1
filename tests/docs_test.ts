import { assertEquals, assertStringIncludes } from "./assert.ts";
import { generatedDocs } from "../docs/generate.ts";

Deno.test("docs: cli.md and configuration.md match the code (run `deno task docs` if not)", async () => {
  for (const [path, expected] of Object.entries(generatedDocs())) {
    const committed = await Deno.readTextFile(new URL(`../${path}`, import.meta.url));
    assertEquals(committed, expected, `${path} is stale: run \`deno task docs\``);
  }
});

Deno.test("docs: configuration.md lists nested keys with defaults", () => {
  const md = generatedDocs()["docs/configuration.md"];
  assertStringIncludes(md, "| `webchat.port` | integer (>= 1, <= 65535) | `18790` |");
  assertStringIncludes(md, "| `limits.toolRoundsPerTurn` | integer (>= 1, <= 20) | `20` |");
  assertStringIncludes(md, "`agents[].id`");
  assertStringIncludes(
    md,
    "`channels.<telegram\\|discord\\|slack\\|teams\\|matrix\\|whatsapp>.allowFrom`",
  );
});
