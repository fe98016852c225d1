import { assertEquals } from "../tests/assert.ts";
import { type Target, verdicts, verdictTable } from "./targets.ts";

const max: Target = {
  what: "latency",
  suite: "s",
  figure: "f",
  stat: "p99",
  kind: "max",
  bound: 20,
  unit: "ms",
};
const min: Target = { ...max, what: "rate", figure: "g", stat: "value", kind: "min", bound: 500 };

Deno.test("verdicts: a bound is met or missed by a factor, an absent figure is not measured", () => {
  const summary = { n: 3, median: 10, p99: 50, min: 1, max: 50 };
  const v = verdicts({ s: { f: summary, g: 125 } }, [max, min, { ...max, suite: "none" }]);
  assertEquals(v.map((x) => [x.measured, x.met, x.factor]), [
    [50, false, 2.5],
    [125, false, 4],
    [null, false, null],
  ]);
  const ok = verdicts({ s: { f: { ...summary, p99: 20 }, g: 600 } }, [max, min]);
  assertEquals(ok.map((x) => x.met), [true, true]);
  const table = verdictTable(v);
  assertEquals(table.slice(2), [
    "| latency | ≤ 20 ms | 50.0 ms | missed by 30.0 ms (2.50x the bound) |",
    "| rate | ≥ 500 ms | 125 ms | missed by 375 ms (25% of the floor) |",
    "| latency | ≤ 20 ms | - | not measured in this run |",
  ]);
});
