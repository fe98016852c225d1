/**
 * `wirken permissions list|approve|revoke|pending`: tool tiers and remembered approvals.
 *
 * These commands work on `permissions.db` directly, so they run while the gateway runs: the
 * gateway's approval broker polls the database and picks up a terminal decision within a
 * moment (and audits it, with `cli` as the approver). `revoke` takes effect on the very next
 * tool call, because remembered approvals are never cached; it is audited from here.
 *
 * @module
 */
import { WirkenError } from "../errors.ts";
import { print, printJson, table } from "./output.ts";
import type { CommandContext, CommandSpec } from "./spec.ts";
import type { PermissionStore } from "../permissions/store.ts";

async function openStore(
  ctx: CommandContext,
): Promise<{ store: PermissionStore; auditDb: string }> {
  const { ensureDataDir } = await import("../config/paths.ts");
  const { PermissionStore } = await import("../permissions/store.ts");
  const paths = await ensureDataDir(ctx.dataDir);
  return { store: PermissionStore.open(paths.permissionsDb), auditDb: paths.auditDb };
}

function when(ms: number): string {
  return new Date(ms).toISOString().replace("T", " ").slice(0, 16) + "Z";
}

function inMinutes(ms: number, now: number): string {
  const s = Math.max(0, Math.round((ms - now) / 1000));
  return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s` : `${s}s`;
}

async function listBody(ctx: CommandContext): Promise<number> {
  const { store } = await openStore(ctx);
  try {
    const now = Date.now();
    const rows = store.listRemembered(now);
    if (ctx.json) {
      printJson(rows.map((r) => ({
        tool: r.tool,
        agent: r.agent,
        scope: r.scope,
        channel: r.channel,
        user: r.sender,
        approvedBy: r.approvedBy,
        approvedAt: new Date(r.createdAt).toISOString(),
        expiresAt: new Date(r.expiresAt).toISOString(),
      })));
      return 0;
    }
    if (rows.length === 0) {
      print("No remembered approvals. Tier-2 tools ask on first use; tier 3 asks every time.");
      return 0;
    }
    print(table(
      ["TOOL", "AGENT", "SCOPE", "CHANNEL", "USER", "APPROVED BY", "EXPIRES"],
      rows.map((
        r,
      ) => [r.tool, r.agent, r.scope, r.channel, r.sender, r.approvedBy, when(r.expiresAt)]),
    ));
    return 0;
  } finally {
    store.close();
  }
}

async function approveBody(ctx: CommandContext): Promise<number> {
  const code = String(ctx.args.id ?? "").trim().toLowerCase();
  const remember = ctx.flags.remember === true;
  const { store } = await openStore(ctx);
  try {
    const pending = store.getPending(code);
    const now = Date.now();
    if (!pending || pending.status !== "pending" || pending.expiresAt <= now) {
      const why = !pending
        ? "there is no request with that code"
        : pending.status !== "pending"
        ? `it was already ${pending.status}`
        : "it has expired";
      throw new WirkenError(`Cannot approve ${code}: ${why}.`, {
        fix: "Run `wirken permissions pending` to see the requests waiting now.",
      });
    }
    if (!store.decide(code, "approved", "cli", "cli", remember, now)) {
      throw new WirkenError(`Cannot approve ${code}: it was answered or expired just now.`, {
        fix: "Run `wirken permissions pending` to see the requests waiting now.",
      });
    }
    const note = remember
      ? pending.tier === 2
        ? " It is remembered for 30 days for this agent, user, channel and scope."
        : " Tier 3 is asked every time, so it is not remembered."
      : "";
    print(`Approved ${pending.code}: ${pending.summary}.${note}`);
    return 0;
  } finally {
    store.close();
  }
}

async function revokeBody(ctx: CommandContext): Promise<number> {
  const tool = String(ctx.args.tool ?? "");
  const agent = typeof ctx.flags.agent === "string" ? ctx.flags.agent : undefined;
  const { store, auditDb } = await openStore(ctx);
  let count: number;
  try {
    count = store.revoke(tool, agent);
  } finally {
    store.close();
  }
  if (count > 0) {
    const { openAuditLog } = await import("../audit/log.ts");
    const audit = openAuditLog(auditDb);
    try {
      await audit.append({
        kind: "config.change",
        actor: "cli",
        agent,
        payload: { change: "permissions.revoke", tool, removed: count },
      });
    } finally {
      audit.close();
    }
  }
  const who = agent ? ` for agent ${agent}` : "";
  print(
    count === 0
      ? `No remembered approvals of ${tool}${who}.`
      : `Revoked ${count} remembered approval${
        count === 1 ? "" : "s"
      } of ${tool}${who}; the next call asks again.`,
  );
  return 0;
}

async function pendingBody(ctx: CommandContext): Promise<number> {
  const { store } = await openStore(ctx);
  try {
    const now = Date.now();
    const rows = store.listPending(now);
    if (ctx.json) {
      printJson(rows.map((p) => ({
        code: p.code,
        tool: p.tool,
        tier: p.tier,
        summary: p.summary,
        agent: p.agent,
        channel: p.channel,
        session: p.session,
        user: p.sender,
        sandbox: p.sandbox,
        expiresAt: new Date(p.expiresAt).toISOString(),
      })));
      return 0;
    }
    if (rows.length === 0) {
      print("Nothing is waiting for approval.");
      return 0;
    }
    print(table(
      ["CODE", "TIER", "REQUEST", "FROM", "RUNS IN", "EXPIRES IN"],
      rows.map((p) => [
        p.code,
        String(p.tier),
        p.summary.length > 60 ? p.summary.slice(0, 59) + "…" : p.summary,
        `${p.sender}@${p.channel}`,
        p.sandbox === "host" ? "HOST (no sandbox)" : p.sandbox,
        inMinutes(p.expiresAt, now),
      ]),
    ));
    print("\nApprove with: wirken permissions approve <code> [--remember]");
    return 0;
  } finally {
    store.close();
  }
}

/** The `permissions` command group. */
export const permissionsCommand: CommandSpec = {
  name: "permissions",
  summary: "See and manage tool approvals.",
  examples: ["wirken permissions pending", "wirken permissions revoke exec"],
  subcommands: [
    {
      name: "list",
      summary: "List remembered approvals with their expiry.",
      examples: ["wirken permissions list --json"],
      json: true,
      run: listBody,
    },
    {
      name: "approve",
      summary: "Approve a pending tool call by its id.",
      examples: ["wirken permissions approve 7f3a", "wirken permissions approve 7f3a --remember"],
      args: [{ name: "id", description: "Pending approval id.", required: true }],
      options: {
        remember: { type: "boolean", description: "Remember for 30 days (tier 2 only)." },
      },
      run: approveBody,
    },
    {
      name: "revoke",
      summary: "Revoke a remembered approval.",
      examples: ["wirken permissions revoke exec --agent default"],
      args: [{ name: "tool", description: "Tool name.", required: true }],
      options: {
        agent: { type: "string", description: "Only for this agent.", valueName: "<id>" },
      },
      run: revokeBody,
    },
    {
      name: "pending",
      summary: "List tool calls waiting for approval on any channel.",
      examples: ["wirken permissions pending --json"],
      json: true,
      run: pendingBody,
    },
  ],
};
