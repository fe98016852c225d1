/**
 * The chat channel ids, apart from the config schema: adapter processes and every CLI command
 * need the list, and importing it from schema.ts would evaluate the whole zod config schema
 * (~8 MiB of RSS in each of the six adapter processes, measured in bench/).
 *
 * @module
 */

/** The chat channels wirken has adapters for (WebChat is built in and always present). */
export const CHANNELS = ["telegram", "discord", "slack", "teams", "matrix", "whatsapp"] as const;

/** A channel id. */
export type Channel = typeof CHANNELS[number];
