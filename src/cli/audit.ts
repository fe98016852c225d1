/**
 * `wirken audit log|verify|prune|export`: the hash-chained audit trail (`docs/audit.md`).
 *
 * Bodies load the audit module lazily, so `wirken --help` stays fast.
 *
 * @module
 */
import { print, printError, printJson, table } from "./output.ts";
import type { CommandContext, CommandSpec } from "./spec.ts";
import type { AuditLog } from "../audit/log.ts";
import type { AuditKind } from "../audit/types.ts";

const KINDS_HELP =
  "message.in, message.out, tool.requested|approved|denied|executed|result|error|limited|interrupted, auth.success|failure, adapter.start|crash, config.change, credential.access, skill.install, policy.refresh, leak.blocked, audit.checkpoint, schedule.run, model.failover|usage, budget.refused";

async function auditPath(ctx: CommandContext): Promise<string | null> {
  const { dataPaths } = await import("../config/paths.ts");
  const path = dataPaths(ctx.dataDir).auditDb;
  try {
    await Deno.stat(path);
    return path;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
}

async function openLog(path: string, signing?: boolean, ctx?: CommandContext): Promise<AuditLog> {
  const { openAuditLog } = await import("../audit/log.ts");
  const signingKey = signing && ctx ? await signingKeyFromVault(ctx, true) : undefined;
  return openAuditLog(path, { signingKey });
}

/**
 * The gateway's signing key from the vault. With `required`, a locked or missing vault is an
 * error; otherwise undefined (verify then falls back to the key the data names, and says so).
 */
async function signingKeyFromVault(ctx: CommandContext, required: boolean) {
  const { credentialNames } = await import("../vault/types.ts");
  const { openVault, defaultPassphraseSource } = await import("../vault/open.ts");
  try {
    const vault = await openVault({
      dataDir: ctx.dataDir,
      env: ctx.env,
      create: false,
      // verify must not stop to ask for a passphrase in a script; prune may.
      passphrase: defaultPassphraseSource(ctx.env, required),
    });
    try {
      const key = vault.get(credentialNames.auditSigningKey);
      if (!key && required) {
        const { AuditError } = await import("../audit/errors.ts");
        throw new AuditError("The vault has no audit signing key yet.", {
          fix: "Start the gateway once (wirken run); it creates the key on first start.",
        });
      }
      return key;
    } finally {
      vault.close();
    }
  } catch (e) {
    if (required) throw e;
    return undefined;
  }
}

/** `24h`, `7d`, `30m`, `2w` before now, or an ISO date/time. */
async function parseTime(text: string, flag: string): Promise<Date> {
  const { UsageError } = await import("../errors.ts");
  const m = /^(\d+)([mhdw])$/.exec(text.trim());
  if (m) {
    const unit =
      { m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 }[m[2] as "m" | "h" | "d" | "w"];
    return new Date(Date.now() - Number(m[1]) * unit);
  }
  const d = new Date(text);
  if (Number.isNaN(d.getTime())) {
    throw new UsageError(
      `--${flag} ${JSON.stringify(text)} is not a time.`,
      `Use a span before now (30m, 24h, 7d, 2w) or an ISO date such as 2026-11-01T00:00:00Z.`,
    );
  }
  return d;
}

function str(v: unknown): string | undefined {
  return typeof v === "string" && v !== "" ? v : undefined;
}

function list(v: unknown): string[] {
  if (Array.isArray(v)) return v.flatMap((x) => String(x).split(",")).filter(Boolean);
  return typeof v === "string" ? v.split(",").filter(Boolean) : [];
}

async function logCommand(ctx: CommandContext): Promise<number> {
  const { isAuditKind } = await import("../audit/kinds.ts");
  const { UsageError } = await import("../errors.ts");
  const kinds = list(ctx.flags.kind);
  for (const k of kinds) {
    if (!isAuditKind(k)) {
      throw new UsageError(`Unknown audit kind ${JSON.stringify(k)}.`, `Kinds: ${KINDS_HELP}.`);
    }
  }
  const limitText = str(ctx.flags.limit) ?? "50";
  const limit = Number(limitText);
  if (!Number.isInteger(limit) || limit < 1 || limit > 100_000) {
    throw new UsageError(
      `--limit ${limitText} is not a count.`,
      "Give a whole number from 1 to 100000.",
    );
  }
  const path = await auditPath(ctx);
  if (!path) {
    if (ctx.json) printJson({ events: [] });
    else print("No audit events yet (the gateway has not run).");
    return 0;
  }
  const log = await openLog(path);
  try {
    const events = log.query({
      session: str(ctx.flags.session),
      agent: str(ctx.flags.agent),
      channel: str(ctx.flags.channel),
      actor: str(ctx.flags.actor),
      kinds: kinds as AuditKind[],
      since: str(ctx.flags.since) ? await parseTime(str(ctx.flags.since)!, "since") : undefined,
      until: str(ctx.flags.until) ? await parseTime(str(ctx.flags.until)!, "until") : undefined,
      limit,
      order: "desc",
    }).reverse();
    if (ctx.json) {
      printJson({ events });
      return 0;
    }
    if (events.length === 0) {
      print("No audit events match.");
      return 0;
    }
    print(table(
      ["SEQ", "TIME", "KIND", "ACTOR", "SESSION", "DETAILS"],
      events.map((e) => {
        const details = JSON.stringify(e.payload);
        return [
          String(e.seq),
          e.time.slice(0, 19).replace("T", " "),
          e.kind,
          e.actor,
          e.session ?? "-",
          details.length > 80 ? details.slice(0, 77) + "..." : details,
        ];
      }),
    ));
    return 0;
  } finally {
    log.close();
  }
}

async function verifyCommand(ctx: CommandContext): Promise<number> {
  const { describeVerifyResult } = await import("../audit/verify.ts");
  const pinned = str(ctx.flags["public-key"]);
  let trustedKeys: string[] | undefined;
  let keySource = "none";
  if (pinned) {
    trustedKeys = [pinned];
    keySource = "--public-key";
  } else {
    const key = await signingKeyFromVault(ctx, false);
    if (key) {
      const { signerFromSecret } = await import("../audit/keys.ts");
      trustedKeys = [signerFromSecret(key).publicKey];
      keySource = "vault";
    }
  }
  const file = str(ctx.flags.file);
  let result;
  let source: string;
  if (file) {
    const { verifyExport } = await import("../audit/export.ts");
    result = verifyExport(await Deno.readTextFile(file), { trustedKeys });
    source = file;
  } else {
    const path = await auditPath(ctx);
    if (!path) {
      if (ctx.json) printJson({ ok: true, checked: 0, source: null });
      else print("No audit log yet: nothing to verify.");
      return 0;
    }
    const log = await openLog(path);
    try {
      result = log.verify({ trustedKeys });
    } finally {
      log.close();
    }
    source = path;
  }
  if (ctx.json) {
    printJson({ source, publicKey: trustedKeys?.[0] ?? null, keySource, ...result });
    return result.ok ? 0 : 1;
  }
  print(describeVerifyResult(result));
  for (const f of result.failures.slice(1, 10)) print(`  also seq ${f.seq}: ${f.problem}`);
  if (result.failures.length > 10) print(`  ... ${result.failures.length - 10} more`);
  for (const w of result.warnings) printError(`warning: ${w}`);
  if (trustedKeys) {
    print(`Signatures checked against the gateway key from ${keySource}: ${trustedKeys[0]}`);
  }
  if (!result.ok) {
    printError(
      "The audit trail was altered or damaged. Keep audit.db as evidence; compare with your SIEM copy.",
    );
  }
  return result.ok ? 0 : 1;
}

async function pruneCommand(ctx: CommandContext): Promise<number> {
  const { UsageError } = await import("../errors.ts");
  const { loadConfig } = await import("../config/load.ts");
  const { dataPaths } = await import("../config/paths.ts");
  let config = await loadConfig(dataPaths(ctx.dataDir).config);
  // Under an org policy, retention has a floor and its SIEM destinations hold events too.
  const { cachedOrgPolicy } = await import("../policy/follow.ts");
  const policy = await cachedOrgPolicy(config, dataPaths(ctx.dataDir));
  const { applyPolicy, because } = await import("../policy/effective.ts");
  if (policy) config = applyPolicy(config, policy).config;
  const daysText = str(ctx.flags["older-than"]);
  const retentionDays = daysText ? Number(daysText.replace(/d$/, "")) : config.audit.retentionDays;
  if (!Number.isInteger(retentionDays) || retentionDays < 1) {
    throw new UsageError(
      `--older-than ${daysText} is not a number of days.`,
      "Give whole days, e.g. --older-than 90.",
    );
  }
  const minDays = policy?.audit?.minRetentionDays;
  if (minDays !== undefined && retentionDays < minDays) {
    const { PolicyViolationError } = await import("../policy/apply.ts");
    throw new PolicyViolationError(
      `${policy?.org} keeps audit events at least ${minDays} days${
        because(policy?.audit?.reason)
      }; --older-than ${retentionDays} would delete younger ones. Nothing was pruned.`,
      { fix: `Give --older-than ${minDays} or more.` },
    );
  }
  const path = await auditPath(ctx);
  if (!path) {
    if (ctx.json) printJson({ pruned: 0 });
    else print("No audit log yet: nothing to prune.");
    return 0;
  }
  const dryRun = ctx.flags["dry-run"] === true;
  const log = await openLog(path, !dryRun, ctx);
  try {
    const { siemKeepAfter } = await import("../siem/forwarder.ts");
    const { pruneInSteps } = await import("../audit/retention.ts");
    const keepAfter = () => siemKeepAfter(log, config.siem.destinations);
    const result = dryRun
      ? log.prune({
        retentionDays,
        dryRun,
        keepAfter: keepAfter(),
        maxEvents: Number.MAX_SAFE_INTEGER,
      })
      : pruneInSteps(log, { retentionDays, keepAfter });
    if (ctx.json) {
      printJson({ retentionDays, dryRun, ...result });
      return 0;
    }
    if (result.pruned === 0) print(`Nothing older than ${retentionDays} days to prune.`);
    else if (dryRun) {
      print(`Would prune ${result.pruned} events (through seq ${result.throughSeq}).`);
    } else {
      print(
        `Pruned ${result.pruned} events through seq ${result.throughSeq}; signed checkpoint seq ${result.checkpointSeq}.`,
      );
    }
    if (result.heldBy) {
      printError(
        `warning: kept older events that ${
          result.heldBy.replace(/^siem:/, "SIEM destination ")
        } has not received yet.`,
      );
    }
    return 0;
  } finally {
    log.close();
  }
}

async function exportCommand(ctx: CommandContext): Promise<number> {
  const { exportAuditLog } = await import("../audit/export.ts");
  const path = await auditPath(ctx);
  const out = str(ctx.flags.out);
  if (!path) {
    printError("No audit log yet: nothing to export.");
    return 1;
  }
  const log = await openLog(path);
  try {
    if (!out || out === "-") {
      exportAuditLog(log, Deno.stdout);
      return 0;
    }
    const { FILE_MODE } = await import("../config/paths.ts");
    // Written beside the target and renamed, so a reader never sees half an export.
    const tmp = `${out}.${crypto.randomUUID()}.tmp`;
    const file = await Deno.open(tmp, { write: true, createNew: true, mode: FILE_MODE });
    let n: number;
    try {
      n = exportAuditLog(log, file);
      file.syncSync();
    } finally {
      file.close();
    }
    await Deno.rename(tmp, out);
    if (ctx.json) printJson({ file: out, events: n });
    else {
      print(`Exported ${n} events to ${out}.`);
      print(
        `Verify offline: deno run --allow-read docs/verify_audit.ts ${out} --public-key <gateway key>`,
      );
    }
    return 0;
  } finally {
    log.close();
  }
}

const FILTERS = {
  session: { type: "string", valueName: "<id>", description: "Only this session." },
  kind: {
    type: "string",
    valueName: "<kind>",
    multiple: true,
    description: "Only these kinds (repeat or comma-separate), e.g. tool.requested,tool.denied.",
  },
  agent: { type: "string", valueName: "<id>", description: "Only this agent." },
  channel: { type: "string", valueName: "<channel>", description: "Only this channel." },
  actor: { type: "string", valueName: "<id>", description: "Only events caused by this actor." },
  since: {
    type: "string",
    valueName: "<time>",
    description: "From this time: 30m, 24h, 7d, 2w or an ISO date.",
  },
  until: {
    type: "string",
    valueName: "<time>",
    description: "Before this time (same forms as --since).",
  },
  limit: {
    type: "string",
    valueName: "<n>",
    description: "Newest n matching events (default 50).",
  },
} as const;

/** The `audit` command group. */
export const auditCommand: CommandSpec = {
  name: "audit",
  summary: "Read, verify, prune and export the audit log.",
  description:
    "Every agent action is recorded before it runs, in a SHA-256 hash chain that shows any\n" +
    "edit, deletion or truncation. See docs/audit.md for the format.",
  examples: [
    "wirken audit verify",
    "wirken audit log --session telegram:42:default --since 24h",
    "wirken audit export --out audit.jsonl",
  ],
  subcommands: [
    {
      name: "log",
      summary: "Show audit events, filtered by session, kind, agent, channel, actor or time.",
      examples: [
        "wirken audit log",
        "wirken audit log --kind tool.requested --kind tool.denied --since 7d",
        "wirken audit log --session telegram:42:default --json",
      ],
      options: FILTERS,
      json: true,
      run: logCommand,
    },
    {
      name: "verify",
      summary: "Recompute the hash chain and report the first broken link by seq.",
      description:
        "Checks every hash and link, the signed checkpoint that anchors a pruned log, and the\n" +
        "signed head that shows a truncated tail. Exit code 1 when anything is broken.",
      examples: [
        "wirken audit verify",
        "wirken audit verify --json",
        "wirken audit verify --file audit.jsonl --public-key <base64 key>",
      ],
      options: {
        "public-key": {
          type: "string",
          valueName: "<base64>",
          description:
            "The gateway's Ed25519 public key to pin (default: from the vault when readable).",
        },
        file: {
          type: "string",
          valueName: "<export.jsonl>",
          description: "Verify an export instead of audit.db.",
        },
      },
      json: true,
      run: verifyCommand,
    },
    {
      name: "prune",
      summary: "Remove events older than the retention behind a signed checkpoint.",
      description:
        "The gateway does this at start and daily; verify keeps passing afterwards. Events a\n" +
        "SIEM destination has not received yet are kept.",
      examples: ["wirken audit prune --dry-run", "wirken audit prune --older-than 90"],
      options: {
        "older-than": {
          type: "string",
          valueName: "<days>",
          description: "Retention in days (default: audit.retentionDays, 90).",
        },
        "dry-run": { type: "boolean", description: "Only count what would be pruned." },
      },
      json: true,
      run: pruneCommand,
    },
    {
      name: "export",
      summary: "Write events as JSON lines for offline verification.",
      examples: ["wirken audit export --out audit.jsonl", "wirken audit export > audit.jsonl"],
      options: {
        out: { type: "string", description: "Output file (default: stdout).", valueName: "<file>" },
      },
      json: true,
      run: exportCommand,
    },
  ],
};
