/**
 * The whole `wirken` command tree. Each group is declared in its own file; this file only
 * lists them, in the order `wirken --help` shows them.
 *
 * @module
 */
import { adapterCommand } from "./adapter.ts";
import { agentsCommand } from "./agents.ts";
import { askCommand } from "./ask.ts";
import { auditCommand } from "./audit.ts";
import { channelCommand } from "./channel.ts";
import { credentialsCommand } from "./credentials.ts";
import { doctorCommand } from "./doctor.ts";
import { mcpCommand } from "./mcp.ts";
import { migrateCommand } from "./migrate.ts";
import { permissionsCommand } from "./permissions.ts";
import { runCommand } from "./run.ts";
import { scheduleCommand } from "./schedule.ts";
import { sessionsCommand } from "./sessions.ts";
import { setupCommand } from "./setup.ts";
import { skillsCommand } from "./skills.ts";
import { statusCommand } from "./status.ts";
import { usageCommand } from "./usage.ts";
import type { CommandSpec } from "./spec.ts";

/** The root command. */
export const rootCommand: CommandSpec = {
  name: "wirken",
  summary: "Secure, self-hosted AI agent gateway.",
  description:
    "Connects your chat apps to an LLM agent that uses tools on your behalf, with an encrypted\n" +
    "vault, per-channel isolated adapters and a tamper-evident audit log.",
  examples: ["wirken setup", "wirken run", 'wirken ask "hello"', "wirken doctor"],
  subcommands: [
    setupCommand,
    runCommand,
    askCommand,
    statusCommand,
    doctorCommand,
    channelCommand,
    agentsCommand,
    skillsCommand,
    mcpCommand,
    sessionsCommand,
    scheduleCommand,
    usageCommand,
    permissionsCommand,
    credentialsCommand,
    auditCommand,
    migrateCommand,
    adapterCommand,
  ],
};
