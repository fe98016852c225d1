/**
 * Skills as agent tools: `skill_read` (progressive disclosure: the model reads a skill's
 * instructions only when it needs them) and `skill_run` (runs a skill's `skill.wasm` in the
 * Wasm sandbox with fuel, JSON in on stdin, JSON out on stdout).
 *
 * Both re-verify the skill's signature at the moment of use, so a skill edited on disk after
 * the gateway started is refused.
 *
 * @module
 */
import { z } from "zod";
import type { SandboxLimits, SandboxResult } from "../sandbox/types.ts";
import { defineTool, type Tool } from "../tools/types.ts";
import type { SkillCatalog } from "./load.ts";

/**
 * What `skill_run` needs from the Wasm sandbox: `WasmSandbox` from `src/sandbox/wasm/`
 * satisfies it; tests may pass a fake.
 */
export interface WasmModuleRunner {
  runModule(
    wasm: Uint8Array,
    io: { args?: readonly string[]; stdin?: Uint8Array },
    limits: SandboxLimits,
    signal?: AbortSignal,
  ): Promise<SandboxResult>;
}

/** Limits of one Wasm skill run: 10 s, 64 KiB of output, 64 MiB of memory. */
export const WASM_SKILL_LIMITS: Readonly<SandboxLimits> = Object.freeze({
  timeoutMs: 10_000,
  maxOutputBytes: 64 * 1024,
  memoryBytes: 64 * 1024 * 1024,
  maxProcesses: 1,
});

const JsonValue: z.ZodType<unknown> = z.json();

/** The tools of the skills room; `skill_run` only when a Wasm runner is given. */
export function skillTools(
  catalog: SkillCatalog,
  wasm?: WasmModuleRunner,
  limits: SandboxLimits = WASM_SKILL_LIMITS,
): Tool[] {
  const read = defineTool({
    name: "skill_read",
    description:
      "Read the instructions of one of the skills listed in the system prompt, before doing a task it covers.",
    tier: 1,
    inputSchema: z.strictObject({
      name: z.string().min(1).max(64).describe("The skill's name as listed."),
    }),
    run: async ({ name }) => {
      const r = await catalog.readInstructions(name);
      return { content: `Skill ${r.name} (folder ${r.dir}):\n\n${r.body}` };
    },
  });
  if (!wasm) return [read];
  const run = defineTool({
    name: "skill_run",
    description:
      "Run a Wasm skill (one listed as 'runs as a Wasm tool') with a JSON input; returns its JSON output. It has no file or network access.",
    tier: 1,
    inputSchema: z.strictObject({
      skill: z.string().min(1).max(64).describe("The Wasm skill's name."),
      input: JsonValue.describe("The JSON input its instructions describe."),
    }),
    run: async ({ skill, input }, ctx) => {
      const entry = catalog.get(skill);
      if (!entry?.wasm) {
        return { content: `There is no Wasm skill named ${skill}.`, isError: true };
      }
      const bytes = await catalog.readVerifiedFile(skill, "skill.wasm");
      const result = await wasm.runModule(
        bytes,
        { args: [`${skill}.wasm`], stdin: new TextEncoder().encode(JSON.stringify(input)) },
        limits,
        ctx.signal,
      );
      if (result.exitCode !== 0 && result.exitCode !== null || result.signal) {
        return {
          content: `The Wasm skill ${skill} failed (${
            result.timedOut ? "timed out" : result.signal ?? `exit ${result.exitCode}`
          }): ${result.stderr.trim().slice(0, 2000)}`,
          isError: true,
        };
      }
      // Output must be JSON: a skill that prints something else is reported, not trusted.
      const text = result.stdout.trim();
      try {
        JSON.parse(text);
      } catch {
        return {
          content: `The Wasm skill ${skill} did not print JSON: ${text.slice(0, 500)}`,
          isError: true,
        };
      }
      return { content: text + (result.truncated ? "\n[output truncated]" : "") };
    },
  });
  return [read, run];
}
