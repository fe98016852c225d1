import { assertEquals, assertThrows } from "../../../tests/assert.ts";
import { checkPathText, ConfinementError, isInside } from "./confine.ts";

Deno.test("checkPathText: segments of legitimate paths", () => {
  assertEquals(checkPathText("a/b.txt", "/ws"), ["a", "b.txt"]);
  assertEquals(checkPathText("./a//b/", "/ws"), ["a", "b"]);
  assertEquals(checkPathText("/ws/a", "/ws"), ["a"]);
  assertEquals(checkPathText("/ws", "/ws"), []);
  assertEquals(checkPathText("..foo/...", "/ws"), ["..foo", "..."]);
});

Deno.test("checkPathText: refusals carry a stable reason", () => {
  const cases: Array<[string, string]> = [
    ["", "empty"],
    ["a\0b", "nul-byte"],
    ["a\tb", "control-char"],
    ["a\u2215b", "lookalike"],
    ["a\uff0fb", "lookalike"],
    ["a\\b", "backslash"],
    ["~/x", "home"],
    ["a/../b", "dot-dot"],
    ["/etc/passwd", "absolute-outside"],
    ["/ws2/x", "absolute-outside"],
  ];
  for (const [path, reason] of cases) {
    const e = assertThrows(() => checkPathText(path, "/ws"), ConfinementError);
    assertEquals(e.reason, reason, path);
  }
});

Deno.test("isInside: prefix siblings are outside", () => {
  assertEquals(isInside("/ws", "/ws"), true);
  assertEquals(isInside("/ws", "/ws/a"), true);
  assertEquals(isInside("/ws", "/ws2"), false);
  assertEquals(isInside("/ws", "/"), false);
});
