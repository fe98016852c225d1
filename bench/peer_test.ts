import { assertStringIncludes } from "../tests/assert.ts";
import { peerMarkdown } from "./peer.ts";

Deno.test("peer report: a skip says why; figures become ratios peer / wirken", () => {
  assertStringIncludes(
    peerMarkdown({ skipped: "npm cannot reach openclaw@2026.9.6", date: "d" }),
    "Skipped on d: npm cannot reach openclaw@2026.9.6",
  );
  const s = (median: number) => ({ n: 1, median, p99: median * 2, min: median, max: median });
  const md = peerMarkdown({
    date: "d",
    peer: "openclaw@2026.9.6",
    node: "v24",
    installMiB: 700,
    installSeconds: 60,
    wirken: { coldStartMs: s(500), idleRssMiB: 100, roundTripMs: s(5), cpuPerTurnMs: 4 },
    openclaw: { coldStartMs: s(8000), idleRssMiB: 1000, roundTripMs: s(300), cpuPerTurnMs: 200 },
  });
  assertStringIncludes(md, "| cold start, median | 500 ms | 8000 ms | 16.0x |");
  assertStringIncludes(md, "| round trip, median | 5.0 ms | 300 ms | 60.0x |");
  assertStringIncludes(md, "| CPU of the tree per turn | 4.0 ms | 200 ms | 50.0x |");
});
