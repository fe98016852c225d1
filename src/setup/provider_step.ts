/**
 * Step 1 of setup, without any terminal UI: what each provider needs, and the live check of a
 * provider and key before anything is saved.
 *
 * @module
 */
import type { ProviderKind } from "../providers/types.ts";
import type { Secret } from "../secret.ts";

/** What the wizard asks for each provider. */
export interface ProviderNeeds {
  /** Suggested model; empty: the user must type one. */
  model: string;
  /** An API key is required (else optional or from the AWS environment). */
  key: "required" | "optional" | "aws";
  /** A base URL must be given (custom) or may be (local servers, proxies). */
  baseUrl: "required" | "optional" | "none";
  /** Shown next to the URL prompt. */
  baseUrlHint?: string;
}

/** Per-provider needs. */
export const PROVIDER_NEEDS: Readonly<Record<ProviderKind, ProviderNeeds>> = {
  openai: { model: "gpt-4o", key: "required", baseUrl: "none" },
  anthropic: { model: "claude-sonnet-4-5", key: "required", baseUrl: "none" },
  gemini: { model: "gemini-2.5-flash", key: "required", baseUrl: "none" },
  bedrock: { model: "", key: "aws", baseUrl: "none" },
  tinfoil: { model: "", key: "required", baseUrl: "none" },
  privatemode: {
    model: "",
    key: "optional",
    baseUrl: "optional",
    baseUrlHint: "the Privatemode proxy, default http://127.0.0.1:8080",
  },
  ollama: {
    model: "llama3.2",
    key: "optional",
    baseUrl: "optional",
    baseUrlHint: "default http://127.0.0.1:11434",
  },
  custom: {
    model: "",
    key: "optional",
    baseUrl: "required",
    baseUrlHint: "any OpenAI-compatible /v1 endpoint",
  },
};

/** Outcome of the live check. */
export interface LiveCheck {
  ok: boolean;
  message: string;
  /** The key was refused: ask for it again. */
  badKey: boolean;
}

/**
 * Asks the provider whether it answers and accepts the key (lists models). Never throws; never
 * puts the key in the message.
 */
export async function liveCheck(
  input: { kind: ProviderKind; baseUrl?: string; apiKey?: Secret },
  env: { get(name: string): string | undefined },
  timeoutMs = 15_000,
): Promise<LiveCheck> {
  const { createProvider, resolveProviderSettings } = await import("../providers/registry.ts");
  try {
    const settings = resolveProviderSettings({ kind: input.kind, baseUrl: input.baseUrl }, { env });
    if (input.apiKey) settings.apiKey = input.apiKey;
    const provider = createProvider(settings);
    const health = await provider.health(AbortSignal.timeout(timeoutMs));
    const badKey = !health.ok && /key|auth|401|403|permission|credential/i.test(health.message);
    return { ok: health.ok, message: health.message, badKey };
  } catch (e) {
    return { ok: false, message: (e as Error).message, badKey: false };
  }
}
