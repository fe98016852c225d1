/**
 * The status file shared by the supervisor (writer, in the gateway) and `wirken status`
 * (reader, another process): `<data>/sockets/status.json`, 0600, replaced atomically.
 *
 * @module
 */
import { z } from "zod";
import { CHANNELS } from "../config/schema.ts";

/** File name inside the sockets directory. */
export const STATUS_FILE = "status.json";

/** One adapter's entry. */
export const AdapterStatusSchema = z.object({
  channel: z.enum(CHANNELS),
  pid: z.number().int().nullable(),
  state: z.enum(["starting", "running", "backoff", "failed", "stopped"]),
  startedAt: z.string().nullable(),
  connected: z.boolean(),
  restarts: z.number().int(),
  consecutiveFailures: z.number().int(),
  lastError: z.string().nullable(),
  nextStartAt: z.string().nullable(),
});

/** The whole document. */
export const StatusFileSchema = z.object({
  version: z.literal(1),
  gatewayPid: z.number().int(),
  socketPath: z.string(),
  updatedAt: z.string(),
  adapters: z.array(AdapterStatusSchema),
});

/** One adapter's line in `wirken status`. */
export type AdapterStatus = z.infer<typeof AdapterStatusSchema>;
/** The document `wirken status` reads. */
export type StatusFile = z.infer<typeof StatusFileSchema>;
