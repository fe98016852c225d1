/**
 * `wirken skills ...`: SKILL.md skills, the signed registry and Wasm skills.
 *
 * @module
 */
import { notYet } from "./not_yet.ts";
import type { CommandSpec } from "./spec.ts";

const ISSUE = "issue 12, skills and MCP";
const NAME_ARG = { name: "name", description: "Skill name.", required: true } as const;

/** The `skills` command group. */
export const skillsCommand: CommandSpec = {
  name: "skills",
  summary: "Search, install, sign and verify skills.",
  examples: ["wirken skills list", "wirken skills install weather"],
  subcommands: [
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
