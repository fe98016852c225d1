/**
 * The workspace file tools: `read_file`, `write_file`, `edit_file`, `list_dir`,
 * `search_files`. Every path goes through {@linkcode Workspace} (confinement, TOCTOU checks,
 * size caps); all are tier 1 because they cannot leave the agent's workspace.
 *
 * Inputs are strict zod objects: an extra, missing or wrongly typed argument is refused by
 * the agent loop before `run`, and the model is told which.
 *
 * @module
 */
import { z } from "zod";
import { defineTool, type Tool, type ToolContext, type ToolResult } from "../types.ts";
import { ConfinementError, Workspace } from "./confine.ts";

/** Limits of the file tools (from config `tools.readMaxBytes` / `tools.writeMaxBytes`). */
export interface FileToolOptions {
  readMaxBytes: number;
  writeMaxBytes: number;
  /** Files visited by one search (default 5000). */
  searchMaxFiles?: number;
  /**
   * Folders outside the workspace reachable by absolute path (config `tools.extraRoots`).
   * The same confinement applies inside each; the permission policy raises such calls to
   * tier 2 (read) or tier 3 (write).
   */
  extraRoots?: readonly { path: string; write: boolean }[];
}

const relPath = z.string().min(1).max(4096);

async function workspaceOf(ctx: ToolContext): Promise<Workspace> {
  if (!ctx.workspace) {
    throw new ConfinementError("outside", "This agent has no workspace, so file tools are off.");
  }
  return await Workspace.open(ctx.workspace);
}

/**
 * Where a path lives: the workspace (relative paths, or absolute ones inside it) or one of
 * the configured extra roots (absolute paths only). Anything else is refused.
 */
async function locate(
  ctx: ToolContext,
  path: string,
  write: boolean,
  options: FileToolOptions,
): Promise<Workspace> {
  const ws = await workspaceOf(ctx);
  if (!path.startsWith("/") || path === ws.root || path.startsWith(ws.root + "/")) return ws;
  for (const extra of options.extraRoots ?? []) {
    const root = extra.path.replace(/\/+$/, "") || "/";
    if (path !== root && !path.startsWith(root + "/")) continue;
    if (write && !extra.write) {
      throw new ConfinementError("outside", `${root} is configured read-only for the file tools.`);
    }
    // Same confinement as the workspace: links out of the extra root are refused too.
    const other = await Workspace.open(root, { create: false });
    return other;
  }
  throw new ConfinementError(
    "absolute-outside",
    `${path} is outside the workspace and not in tools.extraRoots.`,
  );
}

/** Turns a refusal into a result the model can act on (the loop would say "failed"). */
async function guarded(fn: () => Promise<ToolResult>): Promise<ToolResult> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof ConfinementError) return { content: `Refused: ${e.message}`, isError: true };
    if (e instanceof Deno.errors.NotFound) return { content: "Not found.", isError: true };
    throw e;
  }
}

function isBinary(bytes: Uint8Array): boolean {
  return bytes.subarray(0, 8192).includes(0);
}

const decoder = new TextDecoder();

/** Builds the five file tools. */
export function fileTools(options: FileToolOptions): Tool[] {
  const readFile = defineTool({
    name: "read_file",
    description:
      "Read a text file in the workspace. Paths are relative to the workspace; long files are cut and marked.",
    tier: 1,
    inputSchema: z.strictObject({
      path: relPath.describe("File path relative to the workspace."),
    }),
    run: (input, ctx) =>
      guarded(async () => {
        const ws = await locate(ctx, input.path, false, options);
        const r = await ws.readFile(input.path, options.readMaxBytes);
        if (isBinary(r.bytes)) {
          return { content: `${input.path} is a binary file (${r.size} bytes); not shown.` };
        }
        const text = decoder.decode(r.bytes);
        return {
          content: r.truncated
            ? `${text}\n[truncated: showing ${r.bytes.length} of ${r.size} bytes]`
            : text,
        };
      }),
  });

  const writeFile = defineTool({
    name: "write_file",
    description: "Create or overwrite a text file in the workspace (parent folders are created).",
    tier: 1,
    inputSchema: z.strictObject({
      path: relPath.describe("File path relative to the workspace."),
      content: z.string().describe("The complete new content of the file."),
    }),
    run: (input, ctx) =>
      guarded(async () => {
        const ws = await locate(ctx, input.path, true, options);
        const r = await ws.writeFile(input.path, input.content, options.writeMaxBytes);
        return { content: `${r.created ? "Created" : "Wrote"} ${r.rel} (${r.bytes} bytes).` };
      }),
  });

  const editFile = defineTool({
    name: "edit_file",
    description:
      "Replace text in a workspace file. old_text must match exactly once unless replace_all is true.",
    tier: 1,
    inputSchema: z.strictObject({
      path: relPath.describe("File path relative to the workspace."),
      old_text: z.string().min(1).describe("Exact text to find."),
      new_text: z.string().describe("Replacement text."),
      replace_all: z.boolean().optional().describe("Replace every occurrence (default false)."),
    }),
    run: (input, ctx) =>
      guarded(async () => {
        const ws = await locate(ctx, input.path, true, options);
        const r = await ws.readFile(input.path, options.writeMaxBytes);
        if (r.truncated) {
          return {
            content: `${input.path} is larger than ${options.writeMaxBytes} bytes; not edited.`,
            isError: true,
          };
        }
        const text = decoder.decode(r.bytes);
        const count = text.split(input.old_text).length - 1;
        if (count === 0) {
          return { content: `old_text was not found in ${input.path}.`, isError: true };
        }
        if (count > 1 && !input.replace_all) {
          return {
            content:
              `old_text occurs ${count} times in ${input.path}; add context to make it unique or set replace_all.`,
            isError: true,
          };
        }
        const next = input.replace_all
          ? text.split(input.old_text).join(input.new_text)
          : text.replace(input.old_text, () => input.new_text);
        await ws.writeFile(input.path, next, options.writeMaxBytes);
        return { content: `Edited ${input.path}: ${count} replacement${count === 1 ? "" : "s"}.` };
      }),
  });

  const listDir = defineTool({
    name: "list_dir",
    description: "List a folder of the workspace (names, types and sizes).",
    tier: 1,
    inputSchema: z.strictObject({
      path: relPath.optional().describe("Folder relative to the workspace (default: the root)."),
    }),
    run: (input, ctx) =>
      guarded(async () => {
        const ws = await locate(ctx, input.path ?? ".", false, options);
        const r = await ws.listDir(input.path ?? ".", 1000);
        if (r.entries.length === 0) return { content: `${r.rel} is empty.` };
        const lines = r.entries.map((e) =>
          e.type === "dir"
            ? `${e.name}/`
            : e.type === "file"
            ? `${e.name}  ${e.size}`
            : `${e.name}  (${e.type})`
        );
        if (r.truncated) lines.push("[truncated: more than 1000 entries]");
        return { content: lines.join("\n") };
      }),
  });

  const searchFiles = defineTool({
    name: "search_files",
    description:
      "Find workspace files whose name or content contains a text (case-insensitive, literal).",
    tier: 1,
    inputSchema: z.strictObject({
      query: z.string().min(1).max(500).describe("Text to look for."),
      in: z.enum(["name", "content", "both"]).optional().describe("Where to look (default both)."),
      path: relPath.optional().describe("Folder to search (default: the whole workspace)."),
      max_results: z.number().int().min(1).max(500).optional().describe("Default 100."),
    }),
    run: (input, ctx) =>
      guarded(async () => {
        const ws = await locate(ctx, input.path ?? ".", false, options);
        const home = (await workspaceOf(ctx)).root;
        const shown = (rel: string) => (ws.root === home ? rel : `${ws.root}/${rel}`);
        const needle = input.query.toLowerCase();
        const where = input.in ?? "both";
        const max = input.max_results ?? 100;
        const maxFiles = options.searchMaxFiles ?? 5000;
        const hits: string[] = [];
        let visited = 0;
        const queue: string[] = [input.path ?? "."];
        while (queue.length > 0 && hits.length < max && visited < maxFiles) {
          const dir = queue.shift()!;
          const listing = await ws.listDir(dir, 5000);
          for (const e of listing.entries) {
            if (hits.length >= max || visited >= maxFiles) break;
            const rel = listing.rel === "." ? e.name : `${listing.rel}/${e.name}`;
            // Links are never followed during a search: each would need its own check.
            if (e.type === "dir") queue.push(rel);
            if (e.type !== "file") continue;
            visited++;
            if (where !== "content" && e.name.toLowerCase().includes(needle)) {
              hits.push(`${shown(rel)} (name)`);
              continue;
            }
            if (where === "name" || e.size > options.readMaxBytes) continue;
            const r = await ws.readFile(rel, options.readMaxBytes).catch(() => null);
            if (!r || isBinary(r.bytes)) continue;
            const lines = decoder.decode(r.bytes).split("\n");
            for (let i = 0; i < lines.length && hits.length < max; i++) {
              if (lines[i].toLowerCase().includes(needle)) {
                hits.push(`${shown(rel)}:${i + 1}: ${lines[i].trim().slice(0, 200)}`);
              }
            }
          }
        }
        if (hits.length === 0) return { content: `No matches for "${input.query}".` };
        const more = hits.length >= max || visited >= maxFiles
          ? "\n[stopped at the result limit]"
          : "";
        return { content: hits.join("\n") + more };
      }),
  });

  return [readFile, writeFile, editFile, listDir, searchFiles] as Tool[];
}
