/**
 * The body of a command whose feature has not been built: it says so and exits 1. It never
 * pretends to have done anything.
 *
 * @module
 */
import { NotAvailableError } from "../errors.ts";
import type { CommandContext } from "./spec.ts";

/** A command body that fails with "not available yet" naming the planned issue. */
export function notYet(command: string, issue: string): (ctx: CommandContext) => Promise<number> {
  return () => Promise.reject(new NotAvailableError(`\`wirken ${command}\``, issue));
}
