/**
 * Child of the "abort after a GC" egress test; needs `--v8-flags=--expose-gc`. Opens a
 * never-ending response through `guardedFetch` with an abort signal, keeps only a reader of the
 * body (as the MCP SDK does with its event stream), collects garbage, aborts, and prints one
 * JSON line: how the pending read ended and whether the server could shut down.
 *
 * @module
 */
import { EgressPolicy, guardedFetch } from "../../src/guard/egress.ts";

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error("run with --v8-flags=--expose-gc");
const HANG_MS = 5000;
const hang = (what: string) =>
  new Promise<string>((r) => setTimeout(() => r(`${what} did not end`), HANG_MS));

const server = Deno.serve(
  { hostname: "127.0.0.1", port: 0, onListen() {} },
  () =>
    new Response(
      new ReadableStream({ start: (c) => c.enqueue(new TextEncoder().encode(": open\n\n")) }),
      { headers: { "content-type": "text/event-stream" } },
    ),
);
const port = server.addr.port;
const ac = new AbortController();
// Inside a function so that neither the Response nor the Request stays reachable from here.
const open = async () =>
  (await guardedFetch(`http://127.0.0.1:${port}/`, { signal: ac.signal }, {
    policy: new EgressPolicy([`127.0.0.1:${port}`]),
  })).body!.getReader();
const reader = await open();
await reader.read();
const pending = reader.read().then(
  (r) => `resolved done=${r.done}`,
  (e: Error) => `rejected ${e.name}`,
);
gc();
await new Promise((r) => setTimeout(r, 50));
ac.abort();
const read = await Promise.race([pending, hang("read")]);
const shutdown = await Promise.race([server.shutdown().then(() => "done"), hang("shutdown")]);
await Deno.stdout.write(new TextEncoder().encode(`${JSON.stringify({ read, shutdown })}\n`));
Deno.exit(0);
