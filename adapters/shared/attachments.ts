/**
 * Attachments in and out of adapters. Incoming files are downloaded by the adapter (the only
 * process allowed to reach the platform) with a hard size cap enforced while streaming, so a
 * lying `Content-Length` or an endless body cannot exhaust memory; they travel inline in the
 * inbound frame. The cap is the smaller of the platform's limit and {@linkcode INLINE_MAX_BYTES}
 * (an IPC frame holds 16 MiB).
 *
 * @module
 */
import type { Attachment } from "../../src/ipc/codec.ts";
import { readCapped } from "./read_capped.ts";

/** Largest attachment sent inline to the gateway (all of one message's files together). */
export const INLINE_MAX_BYTES = 8 * 1024 * 1024;

/** A file that is larger than allowed. */
export class AttachmentTooLarge extends Error {
  /** `size` is what was seen (at least), `limit` the cap. */
  constructor(readonly size: number, readonly limit: number) {
    super(`attachment of ${formatBytes(size)} is over the ${formatBytes(limit)} limit`);
    this.name = "AttachmentTooLarge";
  }
}

/** `1.5 MB` style sizes for messages to users. */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

/**
 * Downloads `url` with `fetchFn`, reading at most `maxBytes`. Rejects with
 * {@linkcode AttachmentTooLarge} as soon as the declared or received size passes the cap.
 */
export async function downloadCapped(
  url: string,
  maxBytes: number,
  init: RequestInit & { fetchFn?: typeof fetch } = {},
): Promise<Uint8Array> {
  const { fetchFn = fetch, ...rest } = init;
  const res = await fetchFn(url, { ...rest, signal: rest.signal ?? AbortSignal.timeout(60_000) });
  if (!res.ok) {
    await res.body?.cancel();
    throw new Error(`download failed: HTTP ${res.status}`);
  }
  const declared = Number(res.headers.get("content-length") ?? "0");
  if (declared > maxBytes) {
    await res.body?.cancel();
    throw new AttachmentTooLarge(declared, maxBytes);
  }
  const body = await readCapped(res.body, maxBytes);
  // The size past the cap is unknown (reading stopped there); the cap plus one is a bound.
  if (body === null) throw new AttachmentTooLarge(maxBytes + 1, maxBytes);
  return body;
}

/** A file name safe to show and to save: no path, no control characters, bounded length. */
export function safeFileName(name: string, fallback = "file"): string {
  const base = name.split(/[\\/]/).pop() ?? "";
  // deno-lint-ignore no-control-regex
  const clean = base.replace(/[\u0000-\u001f\u007f]/g, "").replace(/^\.+/, "").trim();
  return (clean || fallback).slice(0, 128);
}

/** Builds an inline attachment. */
export function inlineAttachment(name: string, mimeType: string, data: Uint8Array): Attachment {
  return {
    name: safeFileName(name),
    mimeType: mimeType || "application/octet-stream",
    url: "",
    data,
    size: data.length,
  };
}

/** A platform file not downloaded yet. */
export interface PendingFile {
  name: string;
  /** What the platform declares, if it does (checked again while downloading). */
  size?: number;
  /** Downloads at most `maxBytes`. */
  load(maxBytes: number): Promise<Attachment>;
}

/**
 * Collects a message's files within one budget: each `load` is called in order until the
 * budget is spent; files that do not fit, or fail, are named in `skipped` (so the user is told
 * instead of the file vanishing silently).
 */
export async function collectAttachments(
  files: readonly PendingFile[],
  budget: number,
): Promise<{ attachments: Attachment[]; skipped: string[] }> {
  const attachments: Attachment[] = [];
  const skipped: string[] = [];
  let left = budget;
  for (const f of files) {
    if (f.size !== undefined && f.size > left) {
      skipped.push(`${safeFileName(f.name)} (${formatBytes(f.size)}, limit ${formatBytes(left)})`);
      continue;
    }
    try {
      const a = await f.load(left);
      left -= a.size;
      attachments.push(a);
    } catch (e) {
      skipped.push(
        `${safeFileName(f.name)} (${
          e instanceof AttachmentTooLarge ? e.message : "could not be downloaded"
        })`,
      );
    }
  }
  return { attachments, skipped };
}
