import { assert, assertEquals } from "../tests/assert.ts";
import { cdfSvg } from "./plot.ts";

Deno.test("cdfSvg: one line and one legend entry per series, names escaped, stats in legend", () => {
  const svg = cdfSvg(
    new Map([
      ["a <fast>", Array.from({ length: 100 }, (_, i) => i + 1)],
      ["b", [5, 50, 500]],
    ]),
    "t & t",
  );
  assert(svg.startsWith("<svg"));
  assertEquals(svg.match(/<polyline/g)?.length, 2);
  assert(svg.includes("a &lt;fast&gt;: n=100, median 50.0, p99 99.0"), svg);
  assert(svg.includes("t &amp; t"));
  assert(!svg.includes("NaN"));
});
