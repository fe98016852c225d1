/**
 * `send_file`: the agent attaches a file from its workspace to its answer in the chat that
 * asked. The tool only queues the file in an {@linkcode Outbox} keyed by session; the gateway
 * takes it out when it sends that turn's answer, so a file can only ever go to the
 * conversation whose turn produced it. Paths pass the same workspace confinement as the file
 * tools. Tier 2: sending a file out of the workspace is asked for (once, rememberable).
 *
 * @module
 */
import { z } from "zod";
import type { Attachment } from "../ipc/codec.ts";
import { ConfinementError, Workspace } from "./fs/confine.ts";
import { defineTool, type Tool } from "./types.ts";

/** Largest file the agent may send (the IPC frame and the platforms' limits are above it). */
export const SEND_FILE_MAX_BYTES = 8 * 1024 * 1024;

/** Files queued per session, taken by the gateway with the answer. */
export class Outbox {
  readonly #queued = new Map<string, Attachment[]>();

  /** Queues `file` for `session` (at most 10 per session; older sessions are dropped past 100). */
  add(session: string, file: Attachment): boolean {
    const list = this.#queued.get(session) ?? [];
    if (list.length >= 10) return false;
    list.push(file);
    this.#queued.set(session, list);
    if (this.#queued.size > 100) this.#queued.delete(this.#queued.keys().next().value!);
    return true;
  }

  /** Takes (and forgets) what `session` queued. */
  take(session: string): Attachment[] {
    const list = this.#queued.get(session) ?? [];
    this.#queued.delete(session);
    return list;
  }
}

const MIME: Record<string, string> = {
  png: "image/png",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  gif: "image/gif",
  webp: "image/webp",
  pdf: "application/pdf",
  txt: "text/plain",
  md: "text/markdown",
  csv: "text/csv",
  json: "application/json",
  html: "text/html",
  zip: "application/zip",
};

/** Channels whose adapters can deliver files (WebChat and the terminal cannot yet). */
const FILE_CHANNELS = new Set(["telegram", "discord", "slack", "teams", "matrix", "whatsapp"]);

/** Builds the tool over `outbox`. */
export function sendFileTool(outbox: Outbox): Tool {
  return defineTool({
    name: "send_file",
    description:
      "Attach a file from the workspace to your answer in this chat (e.g. an image or report you made). Path relative to the workspace; at most 8 MB.",
    tier: 2,
    inputSchema: z.strictObject({
      path: z.string().min(1).max(1024).describe("File path relative to the workspace."),
    }),
    async run(input, ctx) {
      if (!FILE_CHANNELS.has(ctx.channel)) {
        return { content: `Files cannot be sent on ${ctx.channel}.`, isError: true };
      }
      if (!ctx.workspace) return { content: "This agent has no workspace.", isError: true };
      try {
        const ws = await Workspace.open(ctx.workspace);
        const r = await ws.readFile(input.path, SEND_FILE_MAX_BYTES);
        if (r.truncated) {
          return { content: `${input.path} is larger than 8 MB; not sent.`, isError: true };
        }
        const name = input.path.split("/").pop() || "file";
        const ext = name.includes(".") ? name.split(".").pop()!.toLowerCase() : "";
        const queued = outbox.add(ctx.sessionId, {
          name,
          mimeType: MIME[ext] ?? "application/octet-stream",
          url: "",
          data: r.bytes,
          size: r.bytes.length,
        });
        if (!queued) return { content: "Too many files in one answer.", isError: true };
        return { content: `${name} (${r.bytes.length} bytes) will be attached to your answer.` };
      } catch (e) {
        if (e instanceof ConfinementError) {
          return { content: `Refused: ${e.message}`, isError: true };
        }
        if (e instanceof Deno.errors.NotFound) return { content: "Not found.", isError: true };
        throw e;
      }
    },
  });
}
