/**
 * `wirken migrate openclaw`: import skills, agents, channels and allow-lists from an OpenClaw
 * home folder. Credentials are never imported; the command prints how to re-enter each one.
 *
 * @module
 */
import { print, printJson, table } from "./output.ts";
import type { CommandContext, CommandSpec } from "./spec.ts";

async function openclawBody(ctx: CommandContext): Promise<number> {
  const [{ planOpenClawMigration, applyOpenClawMigration }, { defaultEligibilityContext }, path] =
    await Promise.all([
      import("../migrate/openclaw.ts"),
      import("../skills/eligibility.ts"),
      import("node:path"),
    ]);
  const { UsageError } = await import("../errors.ts");
  const home = ctx.env.get("HOME");
  const fromFlag = typeof ctx.flags.from === "string" ? ctx.flags.from : undefined;
  if (!fromFlag && !home) {
    throw new UsageError("HOME is not set, so ~/.openclaw cannot be found", "pass --from <folder>");
  }
  const from = path.resolve(
    fromFlag?.startsWith("~/") && home ? path.join(home, fromFlag.slice(2)) : fromFlag ??
      path.join(home ?? "", ".openclaw"),
  );
  const dryRun = ctx.flags["dry-run"] === true;
  const prepared = await planOpenClawMigration({
    from,
    dataDir: ctx.dataDir,
    eligibility: defaultEligibilityContext(),
  });
  const plan = prepared.plan;
  let result: { copiedSkills: string[]; configSaved: boolean } = {
    copiedSkills: [],
    configSaved: false,
  };
  if (!dryRun && !plan.nothingToDo) {
    // Recorded like `wirken skills install`: each copied skill and the config change are in the
    // audit log before they are written.
    const [{ ensureDataDir }, { openAuditLog }] = await Promise.all([
      import("../config/paths.ts"),
      import("../audit/log.ts"),
    ]);
    const audit = openAuditLog((await ensureDataDir(ctx.dataDir)).auditDb);
    try {
      result = await applyOpenClawMigration(prepared, ctx.dataDir, audit);
    } finally {
      audit.close();
    }
  }
  if (ctx.json) {
    printJson({ dryRun, ...plan, result });
    return 0;
  }
  const skillsDir = path.join(ctx.dataDir, "skills");
  const out: string[] = [
    `wirken migrate openclaw${dryRun ? " (dry run: nothing is written)" : ""}`,
    `From: ${plan.from}${plan.configFile ? ` (${plan.configFile})` : " (no config file)"}`,
    "",
  ];
  if (plan.skills.length) {
    out.push("Skills:");
    out.push(indent(table(
      ["ACTION", "SKILL", "SOURCE", "NOTE"],
      plan.skills.map((s) => [
        s.action,
        s.name,
        s.source,
        s.reason ??
          (s.eligible ? "eligible" : `not eligible here: ${s.missing.join("; ")}`),
      ]),
    )));
    out.push("");
  } else out.push("Skills: none found", "");
  out.push(
    plan.configChanges.length ? "Config changes (config.json):" : "Config changes: none",
    ...plan.configChanges.map((c) => `  ${c}`),
    "",
  );
  if (plan.credentials.length) {
    out.push("Credentials (never imported; re-enter them in wirken):");
    out.push(indent(table(
      ["FOUND", "RE-ENTER WITH"],
      plan.credentials.map((c) => [c.found, c.command ?? c.note ?? ""]),
    )));
    out.push("");
  }
  if (plan.skipped.length) {
    out.push("Not imported:");
    out.push(indent(table(["WHAT", "WHY"], plan.skipped.map((s) => [s.what, s.reason]))));
    out.push("");
  }
  const copied = plan.skills.filter((s) => s.action === "copy").map((s) => s.name);
  if (copied.length) {
    out.push(
      "Copied skills are unsigned, so the gateway refuses them until you review and sign them:",
      ...copied.map((n) => `  wirken skills sign ${path.join(skillsDir, n)}`),
      "  (the first time add --new-key: it creates your signing key and trusts it)",
      "",
    );
  }
  if (plan.nothingToDo) out.push("Nothing to do: everything that can be imported is already here.");
  else if (dryRun) out.push("Dry run: run again without --dry-run to apply.");
  else {
    out.push(
      `Done: ${result.copiedSkills.length} skill(s) copied${
        result.configSaved ? ", config.json saved" : ""
      }.`,
    );
  }
  print(clean(out.join("\n")));
  return 0;
}

/**
 * Names in the plan come from an untrusted `openclaw.json` (agent ids, channel keys, skill
 * folders): control characters are replaced so a crafted name cannot drive the terminal.
 */
function clean(text: string): string {
  // deno-lint-ignore no-control-regex
  return text.replace(/[\x00-\x08\x0b-\x1f\x7f-\x9f]/g, "?");
}

function indent(text: string): string {
  return text.split("\n").map((l) => `  ${l}`).join("\n");
}

/** The `migrate` command group. */
export const migrateCommand: CommandSpec = {
  name: "migrate",
  summary: "Import skills, agents and channels from another agent gateway.",
  examples: ["wirken migrate openclaw --dry-run"],
  subcommands: [
    {
      name: "openclaw",
      summary: "Import from an OpenClaw home folder; credentials are never imported.",
      description:
        "Copies SKILL.md skills (parsed and checked, never marked signed) into the skills folder\n" +
        "and maps the model, agents and their SOUL.md, channels, allow-lists and bindings into\n" +
        "config.json in one atomic write. Credentials are never read from plain files: for each\n" +
        "one found, the command to re-enter it is printed. Symlinks and paths leaving the folder\n" +
        "are refused. A second run reports nothing to do.",
      examples: [
        "wirken migrate openclaw --dry-run",
        "wirken migrate openclaw --from ~/.openclaw",
        "wirken migrate openclaw --from /backup/openclaw --json",
      ],
      options: {
        from: {
          type: "string",
          valueName: "<folder>",
          description: "The OpenClaw home folder (default ~/.openclaw).",
        },
        "dry-run": { type: "boolean", description: "Print the plan and write nothing." },
      },
      json: true,
      run: openclawBody,
    },
  ],
};
