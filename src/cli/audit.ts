/**
 * `wirken audit log|verify|prune|export`: the hash-chained audit trail.
 *
 * @module
 */
import { notYet } from "./not_yet.ts";
import type { CommandSpec } from "./spec.ts";

const ISSUE = "issue 8, audit log";

/** The `audit` command group. */
export const auditCommand: CommandSpec = {
  name: "audit",
  summary: "Read, verify, prune and export the audit log.",
  examples: ["wirken audit verify", "wirken audit log --json"],
  subcommands: [
    {
      name: "log",
      summary: "Show audit events.",
      examples: ["wirken audit log --json"],
      json: true,
      run: notYet("audit log", ISSUE),
    },
    {
      name: "verify",
      summary: "Recompute the hash chain and report the first broken link.",
      examples: ["wirken audit verify"],
      json: true,
      run: notYet("audit verify", ISSUE),
    },
    {
      name: "prune",
      summary: "Remove old events behind a signed checkpoint.",
      examples: ["wirken audit prune"],
      run: notYet("audit prune", ISSUE),
    },
    {
      name: "export",
      summary: "Write events as JSON lines for offline verification.",
      examples: ["wirken audit export --out audit.jsonl"],
      options: { out: { type: "string", description: "Output file.", valueName: "<file>" } },
      run: notYet("audit export", ISSUE),
    },
  ],
};
