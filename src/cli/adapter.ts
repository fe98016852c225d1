/**
 * `wirken adapter <channel>`: run one channel adapter. The gateway's supervisor starts these
 * (re-invoking this program) and hands each its credentials over stdin; running it by hand
 * only makes sense with such a bundle on stdin.
 *
 * @module
 */
import { CHANNELS } from "../config/channels.ts";
import { UsageError } from "../errors.ts";
import type { CommandSpec } from "./spec.ts";

/** The `adapter` command. */
export const adapterCommand: CommandSpec = {
  name: "adapter",
  summary: "Run one channel adapter process (the gateway starts these for you).",
  description:
    "Reads its start-up bundle (credentials, key, socket) from stdin, connects to the gateway's\n" +
    "socket and serves one channel. Started by `wirken run`; not meant to be run by hand.",
  examples: ["wirken adapter telegram"],
  args: [{ name: "channel", description: `One of: ${CHANNELS.join(", ")}.`, required: true }],
  async run(ctx) {
    const channel = String(ctx.args.channel ?? "");
    const match = CHANNELS.find((c) => c === channel);
    if (!match) {
      throw new UsageError(
        `unknown channel "${channel}"`,
        `Use one of: ${CHANNELS.join(", ")}.`,
      );
    }
    if (Deno.stdin.isTerminal()) {
      throw new UsageError(
        "`wirken adapter` reads its credentials from the gateway, not a terminal",
        "Start adapters with `wirken run`; the supervisor launches them.",
      );
    }
    // Loaded lazily: only adapter processes pay for the adapter runtime.
    const { adapterMain } = await import("../../adapters/shared/main.ts");
    return await adapterMain(match, {
      log: ctx.log.child(`adapter.${match}`),
      verbose: ctx.verbose,
    });
  },
};
