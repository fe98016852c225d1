/**
 * The Discord adapter (work in progress: the placeholder until its driver lands).
 *
 * @module
 */
import { placeholderDriver } from "../shared/drivers.ts";
import type { ChannelDriver } from "../shared/runtime.ts";

/** Creates the Discord driver. */
export function createDiscordDriver(): ChannelDriver {
  return placeholderDriver("discord");
}
