/**
 * The parts of an OpenClaw `openclaw.json` that `wirken migrate openclaw` reads, as zod schemas.
 *
 * The file is untrusted input (JSON5, hand-edited, from any OpenClaw release), so every schema
 * is loose: unknown keys pass through and are listed by the planner as "not imported", and a
 * field of the wrong type fails only that field (`.catch(undefined)`), never the whole file.
 * Credential values are never part of these schemas: the planner only asks whether a
 * secret-looking key is present, so a token cannot leak into a typed value by accident.
 *
 * Layouts covered: `agents.list[]` (2025-2026 releases), `agents.entries{}` (newer), the legacy
 * single `agent` block, `bindings[]`, `channels.<id>` with `allowFrom`, `dm.allowFrom` and
 * `groupAllowFrom`, `models.providers`, `auth.profiles` (metadata only), `skills.load.extraDirs`.
 *
 * @module
 */
import { z } from "zod";

/** A field that is dropped (undefined) when it has the wrong type, instead of failing the file. */
function lenient<T extends z.ZodType>(schema: T) {
  return schema.optional().catch(undefined);
}

const stringList = z.array(z.union([z.string(), z.number()])).transform((v) => v.map(String));

/** `model: "provider/model"` or `{ primary: "provider/model", fallbacks: [...] }`. */
export const OcModelSchema = z.union([
  z.string().min(1),
  z.looseObject({ primary: z.string().min(1) }).transform((m) => m.primary),
]);

/** One OpenClaw agent (`agents.list[]` or a value of `agents.entries`). */
export const OcAgentSchema = z.looseObject({
  id: lenient(z.string().min(1)),
  default: lenient(z.boolean()),
  name: lenient(z.string().min(1)),
  workspace: lenient(z.string().min(1)),
  model: lenient(OcModelSchema),
  identity: lenient(z.looseObject({ name: lenient(z.string().min(1)) })),
});

/** The agents block. */
export const OcAgentsSchema = z.looseObject({
  defaults: lenient(z.looseObject({
    workspace: lenient(z.string().min(1)),
    model: lenient(OcModelSchema),
  })),
  list: lenient(z.array(z.unknown())),
  entries: lenient(z.record(z.string(), z.unknown())),
});

/** One `bindings[]` entry: which agent answers a channel, account or peer. */
export const OcBindingSchema = z.looseObject({
  agentId: z.string().min(1),
  type: lenient(z.string()),
  match: z.looseObject({
    channel: z.string().min(1),
    accountId: lenient(z.string()),
    peer: lenient(
      z.looseObject({ kind: lenient(z.string()), id: z.union([z.string(), z.number()]) }),
    ),
    guildId: lenient(z.union([z.string(), z.number()])),
    teamId: lenient(z.union([z.string(), z.number()])),
  }),
});

/** The allow-list fields of one channel (secrets are looked for separately, by key name). */
export const OcChannelSchema = z.looseObject({
  enabled: lenient(z.boolean()),
  allowFrom: lenient(stringList),
  groupAllowFrom: lenient(stringList),
  dm: lenient(z.looseObject({ allowFrom: lenient(stringList) })),
});

/** A custom provider under `models.providers` (its `apiKey` is never read). */
export const OcProviderSchema = z.looseObject({
  baseUrl: lenient(z.string().min(1)),
  api: lenient(z.string()),
});

/** The top level (only what is read; everything else is reported by key name). */
export const OcConfigSchema = z.looseObject({
  agent: lenient(z.looseObject({
    workspace: lenient(z.string().min(1)),
    model: lenient(OcModelSchema),
  })),
  agents: lenient(OcAgentsSchema),
  identity: lenient(z.looseObject({ name: lenient(z.string().min(1)) })),
  bindings: lenient(z.array(z.unknown())),
  channels: lenient(z.record(z.string(), z.unknown())),
  models: lenient(z.looseObject({
    providers: lenient(z.record(z.string(), z.unknown())),
  })),
  auth: lenient(z.looseObject({
    profiles: lenient(z.record(
      z.string(),
      z.looseObject({ provider: lenient(z.string()), mode: lenient(z.string()) }),
    )),
  })),
  skills: lenient(z.looseObject({
    load: lenient(z.looseObject({ extraDirs: lenient(z.array(z.string().min(1))) })),
  })),
});

/** What the planner reads from `openclaw.json`. */
export type OcConfig = z.infer<typeof OcConfigSchema>;
/** One agent entry. */
export type OcAgent = z.infer<typeof OcAgentSchema>;
