/**
 * `wirken skills ...`: SKILL.md skills, the signed registry and Wasm skills.
 *
 * @module
 */
import { notYet } from "./not_yet.ts";
import { printFailure, printJson } from "./output.ts";
import type { CommandContext, CommandSpec } from "./spec.ts";

const ISSUE = "issue 12, skills and MCP";
const NAME_ARG = { name: "name", description: "Skill name.", required: true } as const;

/** The `skills` command group. */
export const skillsCommand: CommandSpec = {
  name: "skills",
  summary: "Search, install, sign and verify skills.",
  examples: ["wirken skills list", "wirken skills install weather"],
  subcommands: [
    {
      name: "inspect",
      summary: "Show what wirken parsed from a SKILL.md (JSON), or the precise error.",
      examples: ["wirken skills inspect ./my-skill", "wirken skills inspect ./my-skill/SKILL.md"],
      args: [{ name: "path", description: "Skill folder or SKILL.md file.", required: true }],
      json: true,
      run: inspectBody,
    },
    {
      name: "search",
      summary: "Search the skill registry.",
      examples: ["wirken skills search calendar"],
      args: [{
        name: "query",
        description: "Words to search for.",
        required: true,
        variadic: true,
      }],
      json: true,
      run: notYet("skills search", ISSUE),
    },
    {
      name: "install",
      summary: "Install a skill after checking its registry signature (asks for approval).",
      examples: ["wirken skills install weather"],
      args: [{ name: "source", description: "Registry name, folder or archive.", required: true }],
      run: notYet("skills install", ISSUE),
    },
    {
      name: "list",
      summary: "List installed and bundled skills, with why any is unavailable.",
      examples: ["wirken skills list", "wirken skills list --json"],
      json: true,
      run: notYet("skills list", ISSUE),
    },
    {
      name: "sign",
      summary: "Sign a skill folder with your Ed25519 publisher key.",
      examples: ["wirken skills sign ./my-skill"],
      args: [{ name: "dir", description: "Skill folder.", required: true }],
      run: notYet("skills sign", ISSUE),
    },
    {
      name: "verify",
      summary: "Verify a skill's signature against the registry key.",
      examples: ["wirken skills verify weather"],
      args: [NAME_ARG],
      json: true,
      run: notYet("skills verify", ISSUE),
    },
    {
      name: "remove",
      summary: "Remove an installed skill.",
      examples: ["wirken skills remove weather"],
      args: [NAME_ARG],
      run: notYet("skills remove", ISSUE),
    },
  ],
};

async function inspectBody(ctx: CommandContext): Promise<number> {
  const { inspectSkill } = await import("../skills/inspect.ts");
  const { defaultEligibilityContext } = await import("../skills/eligibility.ts");
  try {
    printJson(await inspectSkill(String(ctx.args.path), defaultEligibilityContext()));
    return 0;
  } catch (e) {
    // The precise error (file:line: field: reason) goes to stderr; exit 1 either way.
    printFailure(e, ctx.verbose);
    return 1;
  }
}
