/**
 * `wirken status`: the running gateway's adapters.
 *
 * @module
 */
import { notYet } from "./not_yet.ts";
import type { CommandSpec } from "./spec.ts";

/** The `status` command. */
export const statusCommand: CommandSpec = {
  name: "status",
  summary: "Show the running gateway's adapters: pid, state, uptime, restarts, last error.",
  examples: ["wirken status", "wirken status --json"],
  json: true,
  run: notYet("status", "issue 6, gateway IPC"),
};
