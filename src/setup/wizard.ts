/**
 * The interactive `wirken setup` (arrow-key menus, hidden key entry), built on
 * `@clack/prompts`: step 1 the provider, step 2 the channels (channel_step.ts), step 3 the
 * summary. Ctrl+C at any point leaves the previous setup untouched: nothing is written until
 * every question is answered, then the vault entries and the config are saved together.
 *
 * @module
 */
import * as p from "@clack/prompts";
import { PROVIDER_KINDS } from "../config/schema.ts";
import type { Config } from "../config/schema.ts";
import { loadConfig } from "../config/load.ts";
import { dataPaths } from "../config/paths.ts";
import { PROVIDER_NAMES } from "../providers/registry.ts";
import type { ProviderKind } from "../providers/types.ts";
import { OWNER_HINT } from "../channels/add.ts";
import { Secret } from "../secret.ts";
import { commitSetup, summary } from "./apply.ts";
import { answered, SetupCancelled, spin } from "./cancel.ts";
import { channelStep } from "./channel_step.ts";
import { liveCheck, PROVIDER_NEEDS } from "./provider_step.ts";

export { SetupCancelled };

async function storedKey(
  dataDir: string,
  env: { get(name: string): string | undefined },
  name: string,
): Promise<Secret | undefined> {
  const { openVault } = await import("../vault/mod.ts");
  const vault = await openVault({ dataDir, env, create: false });
  try {
    return vault.get(name);
  } finally {
    vault.close();
  }
}

/** Runs the wizard and returns the saved config. */
export async function runWizard(
  dataDir: string,
  env: { get(name: string): string | undefined },
): Promise<Config> {
  const existing = await loadConfig(dataPaths(dataDir).config);
  p.intro(existing.provider ? "wirken setup (editing your current setup)" : "wirken setup");
  try {
    p.log.step("Step 1: Pick your AI");
    const kind = answered(
      await p.select<ProviderKind>({
        message: "Provider",
        initialValue: existing.provider?.kind ?? "openai",
        options: PROVIDER_KINDS.map((k) => ({
          value: k,
          label: k === "ollama"
            ? "Ollama (local)"
            : k === "custom"
            ? "Custom endpoint"
            : PROVIDER_NAMES[k],
        })),
      }),
    );
    const needs = PROVIDER_NEEDS[kind];
    const same = existing.provider?.kind === kind ? existing.provider : undefined;
    const model = answered(
      await p.text({
        message: "Model",
        initialValue: same?.model ?? needs.model,
        validate: (v) => (v && v.trim() ? undefined : "Type a model name"),
      }),
    ).trim();
    let baseUrl: string | undefined = same?.baseUrl;
    if (needs.baseUrl !== "none") {
      const url = answered(
        await p.text({
          message: `Base URL${needs.baseUrlHint ? ` (${needs.baseUrlHint})` : ""}`,
          initialValue: baseUrl ?? "",
          validate: (v) => {
            if (!v?.trim()) return needs.baseUrl === "required" ? "A URL is required" : undefined;
            return URL.canParse(v.trim()) ? undefined : "Not a URL";
          },
        }),
      ).trim();
      baseUrl = url || undefined;
    }
    let apiKey: Secret | undefined;
    let newKey = false;
    for (;;) {
      if (needs.key === "required" || needs.key === "optional") {
        const keep = same?.credential
          ? " (Enter keeps the stored key)"
          : needs.key === "optional"
          ? " (Enter for none)"
          : "";
        const typed = answered(await p.password({ message: `API key${keep}`, mask: "*" }));
        newKey = Boolean(typed);
        apiKey = typed
          ? new Secret(typed)
          : same?.credential
          ? await storedKey(dataDir, env, same.credential)
          : undefined;
        if (!apiKey && needs.key === "required") {
          p.log.warn("This provider needs an API key.");
          continue;
        }
      }
      const check = await spin(
        `Checking ${PROVIDER_NAMES[kind]}`,
        () => liveCheck({ kind, baseUrl, apiKey }, env),
        (c) => (c.ok ? `${PROVIDER_NAMES[kind]} answered.` : `Check failed: ${c.message}`),
      );
      if (check.ok) break;
      if (check.badKey && needs.key !== "aws") {
        p.log.warn("The key was refused. Enter it again.");
        continue;
      }
      const keepGoing = answered(
        await p.confirm({ message: "Save this provider anyway?", initialValue: false }),
      );
      if (keepGoing) break;
    }

    p.log.step("Step 2: Pick your channels");
    const channels = await channelStep(existing, env);

    p.log.step("Saving");
    const saved = await commitSetup(
      dataDir,
      {
        provider: { kind, model, baseUrl, credential: newKey ? undefined : same?.credential },
        apiKey: newKey ? apiKey : undefined,
        channels,
      },
      env,
    );
    if (newKey) p.log.success("API key encrypted and stored.");
    for (const c of saved.channels) {
      p.log.success(
        `${c.channel}: ${
          c.stored.length > 2 ? "tokens" : "token"
        } encrypted, adapter keypair generated, registered (routed to "${c.agent}").`,
      );
      if (c.allowFrom.length === 0) {
        p.log.warn(
          `Nobody may talk to it yet: wirken channel add ${c.channel} --owner <${
            OWNER_HINT[c.channel]
          }>.`,
        );
      }
    }
    p.outro(summary(saved.config));
    return saved.config;
  } catch (e) {
    if (e instanceof SetupCancelled) p.cancel(e.message);
    throw e;
  }
}
