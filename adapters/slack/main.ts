/**
 * The Slack adapter (work in progress: the placeholder until its driver lands).
 *
 * @module
 */
import { placeholderDriver } from "../shared/drivers.ts";
import type { ChannelDriver } from "../shared/runtime.ts";

/** Creates the Slack driver. */
export function createSlackDriver(): ChannelDriver {
  return placeholderDriver("slack");
}
