/**
 * What the gateway does with the parts of a chat message beyond its text: files an adapter
 * downloaded are saved in the answering agent's workspace (`inbox/`) and named in the text the
 * agent sees; files the adapter had to leave out are named too. Only messages from senders on
 * the channel's allow-list get this far, so a stranger can never write into a workspace.
 * Also: refusals of strangers are audited, at most once a minute per sender, so a flood of
 * messages cannot flood the audit log.
 *
 * @module
 */
import { join } from "node:path";
import type { AuditSink } from "../audit/types.ts";
import type { DataPaths } from "../config/paths.ts";
import type { Config } from "../config/schema.ts";
import type { Attachment } from "../ipc/codec.ts";
import { bindAgent } from "../router/bindings.ts";

/** Largest single file saved (the adapters cap downloads lower; this is the last fence). */
const MAX_FILE_BYTES = 16 * 1024 * 1024;

function safeName(name: string): string {
  const base = name.split(/[\\/]/).pop() ?? "";
  // deno-lint-ignore no-control-regex
  const clean = base.replace(/[\u0000-\u001f\u007f]/g, "").replace(/^\.+/, "").trim();
  return (clean || "file").slice(0, 100);
}

function size(n: number): string {
  return n < 1024
    ? `${n} B`
    : n < 1048576
    ? `${(n / 1024).toFixed(1)} KB`
    : `${(n / 1048576).toFixed(1)} MB`;
}

/**
 * Saves `attachments` under `<workspace>/inbox/` and returns the text the agent should see:
 * the message plus one line per file (saved or not received).
 */
export async function withAttachments(
  config: Config,
  paths: DataPaths,
  address: { channel: string; conversation: string; sender: string },
  text: string,
  attachments: readonly Attachment[],
  skipped: string | undefined,
): Promise<string> {
  const lines: string[] = [];
  if (attachments.length > 0) {
    const agent = bindAgent(config, address);
    const inbox = join(agent.workspace ?? join(paths.workspace, agent.id), "inbox");
    await Deno.mkdir(inbox, { recursive: true, mode: 0o700 });
    const stamp = new Date().toISOString().replace(/[-:]/g, "").replace(/\..*$/, "");
    for (const [i, a] of attachments.entries()) {
      if (a.data.length === 0 || a.data.length > MAX_FILE_BYTES) {
        lines.push(`[Attachment not saved: ${safeName(a.name)}]`);
        continue;
      }
      const file = `${stamp}-${i}-${safeName(a.name)}`;
      // createNew: never overwrite a file already in the workspace.
      await Deno.writeFile(join(inbox, file), a.data, { createNew: true, mode: 0o600 });
      lines.push(
        `[Attachment saved in the workspace: inbox/${file} (${
          a.mimeType || "application/octet-stream"
        }, ${size(a.data.length)})]`,
      );
    }
  }
  if (skipped) lines.push(`[Not received (too large or unavailable): ${skipped.slice(0, 500)}]`);
  return lines.length === 0 ? text : `${text}${text ? "\n\n" : ""}${lines.join("\n")}`;
}

/**
 * Audits refused strangers, once a minute per channel and sender at most, and at most
 * `perChannel` senders a minute per channel: sender ids are whatever the platform (or a
 * compromised adapter) says, so a flood of invented ids must not become a flood of durable
 * audit writes. Past the cap only the crossing is audited (`rateLimited: true`), as the IPC
 * handshake limiter does.
 */
export class StrangerAudit {
  readonly #last = new Map<string, number>();
  readonly #window = new Map<string, { start: number; count: number }>();

  /** `audit` receives the events. */
  constructor(
    private readonly audit: AuditSink,
    private readonly everyMs = 60_000,
    private readonly perChannel = 30,
  ) {}

  /** Records that `sender` on `channel` was refused (unless recorded within the minute). */
  refused(channel: string, sender: string, conversation: string): void {
    const key = `${channel}\n${sender}`;
    const now = Date.now();
    if (now - (this.#last.get(key) ?? 0) < this.everyMs) return;
    if (this.#last.size > 10_000) this.#last.clear();
    this.#last.set(key, now);
    let w = this.#window.get(channel);
    if (!w || now - w.start >= this.everyMs) {
      this.#window.set(channel, w = { start: now, count: 0 });
    }
    w.count++;
    if (w.count > this.perChannel + 1) return;
    const rateLimited = w.count === this.perChannel + 1;
    this.audit.append({
      kind: "auth.failure",
      channel,
      actor: sender,
      payload: {
        reason: "sender is not on the channel's allow-list",
        transport: "chat",
        conversation: conversation.slice(0, 200),
        ...(rateLimited ? { rateLimited: true } : {}),
      },
    }).catch(() => {});
  }
}
