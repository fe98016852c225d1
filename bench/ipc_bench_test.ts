import { assert } from "../tests/assert.ts";
import { ipcBench } from "./ipc_bench.ts";

Deno.test("ipc bench runs (figures are measured by `deno task bench`, never asserted)", async () => {
  const r = await ipcBench({ roundTrips: 20, warmup: 5, frames: 200 });
  assert(r.roundTripMs.n === 20);
  assert(r.framesPerSecond > 0);
});
