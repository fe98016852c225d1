import { assert } from "../tests/assert.ts";
import { run } from "./agent_bench.ts";

Deno.test("agent bench runs (figures are measured by `deno task bench`, never asserted)", async () => {
  const r = await run(3);
  for (const k of ["turn_ms", "turn_ms_memory_audit", "tool_turn_ms", "http_turn_ms"]) {
    assert(k in r, k);
  }
});
