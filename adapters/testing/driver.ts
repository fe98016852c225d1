/**
 * A real adapter driver for the test suite: it echoes, and it runs "probes" that try to do
 * things an adapter must not be able to do, reporting what happened. The isolation tests send
 * `probe fetch https://...`, `probe read <path>`, `probe env NAME` or `probe run <cmd>` as an
 * outbound message and read the result from the outbound result's `messageId`. `flood <n>`
 * makes it send `n` inbound frames as fast as it can (the frame-rate cut-off test).
 *
 * Selected only when the supervisor's bundle says `driver: "test"`.
 *
 * @module
 */
import type { OutboundFields } from "../../src/ipc/codec.ts";
import type { OutboundResult } from "../../src/ipc/session.ts";
import type { ChannelDriver, DriverContext } from "../shared/runtime.ts";

function outcome(e: unknown): string {
  if (e instanceof Error) return `denied ${e.name}: ${e.message}`.slice(0, 500);
  return `denied ${String(e)}`;
}

async function probe(kind: string, arg: string): Promise<string> {
  try {
    switch (kind) {
      case "fetch": {
        const res = await fetch(arg, { signal: AbortSignal.timeout(3000) });
        await res.body?.cancel();
        return `allowed ${res.status}`;
      }
      case "read":
        return `allowed ${(await Deno.readFile(arg)).length} bytes`;
      case "env": {
        const v = Deno.env.get(arg);
        return v === undefined ? "allowed unset" : "allowed set";
      }
      case "run": {
        const out = await new Deno.Command(arg, { stdout: "null", stderr: "null" }).output();
        return `allowed exit ${out.code}`;
      }
      case "pid":
        return `pid ${Deno.pid}`;
      default:
        return `unknown probe ${kind}`;
    }
  } catch (e) {
    return outcome(e);
  }
}

/** Creates the test driver. */
export function createTestDriver(): ChannelDriver {
  let ctx: DriverContext | null = null;
  return {
    start(c) {
      ctx = c;
      // `channel.<ch>.test_mode` = "crash" makes start fail: the supervisor's crash-loop test.
      const mode = c.credentials.get(`channel.${c.channel}.test_mode`)?.reveal();
      if (mode === "crash") return Promise.reject(new Error("test driver asked to crash"));
      c.log.info("test driver ready");
      return new Promise<void>((resolve) => c.signal.addEventListener("abort", () => resolve()));
    },
    async onOutbound(m: OutboundFields): Promise<OutboundResult> {
      const match = /^probe (\w+)(?: (.*))?$/.exec(m.text);
      if (match) return { ok: true, messageId: await probe(match[1], match[2] ?? ""), error: "" };
      const flood = /^flood (\d+)$/.exec(m.text);
      if (flood) {
        // A compromised adapter: as many inbound frames as the socket takes, in the background.
        (async () => {
          for (let i = 0; i < Number(flood[1]); i++) {
            await ctx?.sendInbound({
              id: `flood-${i}`,
              senderId: "flood",
              conversationId: m.conversationId,
              text: `flood ${i}`,
            });
          }
        })().catch(() => {});
        return { ok: true, messageId: "flooding", error: "" };
      }
      if (m.text === "exit") {
        // A hard crash from inside the channel code.
        setTimeout(() => Deno.exit(7), 10);
        return { ok: true, messageId: "exiting", error: "" };
      }
      await ctx?.sendInbound({
        id: crypto.randomUUID(),
        senderId: "echo",
        conversationId: m.conversationId,
        text: `echo: ${m.text}`,
      });
      return { ok: true, messageId: `echoed:${m.text}`, error: "" };
    },
  };
}
