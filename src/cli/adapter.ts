/**
 * `wirken adapter <channel>`: run one channel adapter (started by the gateway's supervisor).
 *
 * @module
 */
import { notYet } from "./not_yet.ts";
import type { CommandSpec } from "./spec.ts";

/** The `adapter` command. */
export const adapterCommand: CommandSpec = {
  name: "adapter",
  summary: "Run one channel adapter process (the gateway starts these for you).",
  examples: ["wirken adapter telegram"],
  args: [{ name: "channel", description: "The channel to serve.", required: true }],
  run: notYet("adapter", "issue 6, gateway IPC"),
};
