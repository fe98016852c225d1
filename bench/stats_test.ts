import { assertEquals } from "../tests/assert.ts";
import { summarize } from "./stats.ts";

Deno.test("summarize: nearest-rank median and p99", () => {
  const s = summarize(Array.from({ length: 100 }, (_, i) => 100 - i));
  assertEquals(s, { n: 100, median: 50, p99: 99, min: 1, max: 100 });
  assertEquals(summarize([7]).p99, 7);
});
