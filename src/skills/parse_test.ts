import { assertEquals, assertThrows } from "../../tests/assert.ts";
import { SkillParseError } from "./errors.ts";
import { parseSkillMd } from "./parse.ts";

const file = "x/SKILL.md";

Deno.test("parse: multi-line JSON5 metadata errors point at the file line", () => {
  const text = [
    "---", // 1
    "name: x", // 2
    "description: d", // 3
    "metadata: {", // 4
    "  openclaw: {", // 5
    '    requires: { bins: ["a" "b"] },', // 6: missing comma
    "  },", // 7
    "}", // 8
    "---", // 9
    "body",
  ].join("\n");
  const e = assertThrows(() => parseSkillMd(text, { file }), SkillParseError);
  assertEquals(e.location.line, 6);
  assertEquals(e.location.field, "metadata");
});

Deno.test("parse: the metadata object's lines keep later keys' line numbers right", () => {
  const text = "---\nname: x\nmetadata: {\n  a: 1,\n}\ndescription: 5\nhomepage: [\n---\n";
  const e = assertThrows(() => parseSkillMd(text, { file }), SkillParseError);
  assertEquals(e.location.line, 7);
});

Deno.test("parse: name falls back to the folder; bad folder names are refused", () => {
  assertEquals(
    parseSkillMd("---\ndescription: d\n---\n", { file, fallbackName: "my-dir" }).name,
    "my-dir",
  );
  assertThrows(
    () => parseSkillMd("---\ndescription: d\n---\n", { file, fallbackName: "My Dir" }),
    SkillParseError,
    "not a valid skill name",
  );
  assertThrows(() => parseSkillMd("---\ndescription: d\n---\n", { file }), SkillParseError, "name");
});

Deno.test("parse: wrong types inside metadata name the dotted field", () => {
  const text = '---\nname: x\ndescription: d\nmetadata: {"openclaw":{"os":[1]}}\n---\n';
  const e = assertThrows(() => parseSkillMd(text, { file }), SkillParseError);
  assertEquals(e.location.field, "metadata.openclaw.os");
  assertEquals(e.location.line, 4);
});

Deno.test("parse: quoted values with colons and block metadata stay YAML", () => {
  const p = parseSkillMd(
    "---\nname: x\ndescription: 'a: b'\nmetadata:\n  openclaw:\n    requires:\n      bins: [jq]\n---\n",
    { file },
  );
  assertEquals(p.description, "a: b");
  assertEquals(p.requires.bins, ["jq"]);
});
