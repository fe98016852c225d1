import { assert } from "../tests/assert.ts";
import { adaptersBench } from "./adapters_bench.ts";

Deno.test("adapters bench runs six adapter processes against the fakes (figures are measured by `deno task bench`, never asserted)", async () => {
  const r = await adaptersBench({ starts: 1, single: 5, durationSeconds: 1, totalMessages: 0 });
  const idle = r["RSS of the tree idle, 6 adapters (MiB)"];
  assert(typeof idle === "number" && idle > 0, "the tree's RSS was read");
  assert(r["process tree size idle (processes)"] === 7, "gateway plus six adapter processes");
  const one = r["round trip via Telegram adapter, 1 conversation (ms)"];
  assert(typeof one === "object" && one.n === 5);
});
