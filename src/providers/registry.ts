/**
 * Builds a {@linkcode Provider} from settings, and resolves those settings (which key, which
 * AWS credentials) from the vault and the environment. This is the one entry point the gateway
 * and `wirken ask` call; the per-format files stay independent of each other.
 *
 * Key lookup order for a provider: the vault credential named in config (or the conventional
 * `provider.<kind>.api_key`), then the provider's usual environment variable
 * ({@linkcode KEY_ENV}). Bedrock: a vault/env Bedrock API key, else SigV4 credentials from the
 * vault (`provider.bedrock.access_key_id` / `provider.bedrock.secret_access_key`), the
 * standard AWS variables, or the shared credentials file profile (`AWS_PROFILE`, default
 * `default`).
 *
 * @module
 */
import { Secret } from "../secret.ts";
import { credentialNames, type CredentialStore } from "../vault/types.ts";
import { type AwsCredentials, createBedrockProvider } from "./bedrock.ts";
import { createAnthropicProvider } from "./anthropic.ts";
import {
  createCustomProvider,
  createPrivatemodeProvider,
  createTinfoilProvider,
} from "./compatible.ts";
import { ProviderError } from "./errors.ts";
import { createGeminiProvider } from "./gemini.ts";
import type { HttpOptions } from "./http.ts";
import { createOllamaProvider } from "./ollama.ts";
import { createOpenAIProvider } from "./openai.ts";
import type { Provider, ProviderKind } from "./types.ts";

/** Everything needed to build a provider; secrets as `Secret`. */
export interface ProviderSettings {
  kind: ProviderKind;
  baseUrl?: string;
  apiKey?: Secret;
  /** Bedrock only. */
  aws?: { region: string; credentials?: AwsCredentials };
  http?: HttpOptions;
}

/** What runs when nothing is configured: a local Ollama. */
export const DEFAULT_PROVIDER = { kind: "ollama", model: "llama3.2" } as const;

/** Environment variables holding each provider's key, first match wins. */
export const KEY_ENV: Readonly<Record<ProviderKind, readonly string[]>> = {
  openai: ["OPENAI_API_KEY"],
  anthropic: ["ANTHROPIC_API_KEY"],
  gemini: ["GEMINI_API_KEY", "GOOGLE_API_KEY"],
  bedrock: ["AWS_BEARER_TOKEN_BEDROCK"],
  tinfoil: ["TINFOIL_API_KEY"],
  privatemode: ["PRIVATEMODE_API_KEY"],
  ollama: ["OLLAMA_API_KEY"],
  custom: ["WIRKEN_API_KEY", "OPENAI_API_KEY"],
};

/** Display names. */
export const PROVIDER_NAMES: Readonly<Record<ProviderKind, string>> = {
  openai: "OpenAI",
  anthropic: "Anthropic",
  gemini: "Google Gemini",
  bedrock: "AWS Bedrock",
  tinfoil: "Tinfoil",
  privatemode: "Privatemode",
  ollama: "Ollama",
  custom: "Custom (OpenAI-compatible)",
};

function needKey(kind: ProviderKind, key: Secret | undefined): Secret {
  if (key) return key;
  throw new ProviderError("config", `No API key for ${PROVIDER_NAMES[kind]}.`, {
    fix: `Run \`wirken credentials add ${credentialNames.providerKey(kind)}\` or set ${
      KEY_ENV[kind][0]
    }.`,
  });
}

/** Builds the provider described by `s`. Throws `ProviderError` for missing keys or bad URLs. */
export function createProvider(s: ProviderSettings): Provider {
  switch (s.kind) {
    case "openai":
      return createOpenAIProvider({
        baseUrl: s.baseUrl,
        apiKey: needKey("openai", s.apiKey),
        credentialName: credentialNames.providerKey("openai"),
        http: s.http,
      });
    case "anthropic":
      return createAnthropicProvider({
        baseUrl: s.baseUrl,
        apiKey: needKey("anthropic", s.apiKey),
        http: s.http,
      });
    case "gemini":
      return createGeminiProvider({
        baseUrl: s.baseUrl,
        apiKey: needKey("gemini", s.apiKey),
        http: s.http,
      });
    case "bedrock":
      if (!s.aws?.region) {
        throw new ProviderError("config", "Bedrock needs an AWS region.", {
          fix: "Set AWS_REGION (or region in ~/.aws/config).",
        });
      }
      return createBedrockProvider({
        region: s.aws.region,
        credentials: s.aws.credentials,
        apiKey: s.apiKey,
        baseUrl: s.baseUrl,
        http: s.http,
      });
    case "tinfoil":
      return createTinfoilProvider({ baseUrl: s.baseUrl, apiKey: s.apiKey, http: s.http });
    case "privatemode":
      return createPrivatemodeProvider({ baseUrl: s.baseUrl, apiKey: s.apiKey, http: s.http });
    case "ollama":
      return createOllamaProvider({ baseUrl: s.baseUrl, apiKey: s.apiKey, http: s.http });
    case "custom":
      return createCustomProvider({ baseUrl: s.baseUrl, apiKey: s.apiKey, http: s.http });
  }
}

/** Where settings come from. File texts are passed in so this module touches no disk. */
export interface ResolveSources {
  credentials?: Pick<CredentialStore, "get">;
  env: { get(name: string): string | undefined };
  /** Text of `~/.aws/credentials`, when it exists. */
  awsCredentialsFile?: string;
  /** Text of `~/.aws/config`, when it exists. */
  awsConfigFile?: string;
}

/** Parses an INI file into sections of key/value pairs (`[profile x]` becomes `x`). */
export function parseIni(text: string): Record<string, Record<string, string>> {
  const out: Record<string, Record<string, string>> = {};
  let section: Record<string, string> | undefined;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith("#") || line.startsWith(";")) continue;
    const head = line.match(/^\[\s*(?:profile\s+)?([^\]]+?)\s*\]$/);
    if (head) {
      section = out[head[1]] ??= {};
      continue;
    }
    const kv = line.match(/^([^=]+?)\s*=\s*(.*)$/);
    if (kv && section) section[kv[1].toLowerCase()] = kv[2];
  }
  return out;
}

function secretOrUndefined(v: string | undefined): Secret | undefined {
  return v ? new Secret(v) : undefined;
}

/**
 * Resolves the settings of one provider. `credential` is the vault name from config; absent,
 * the conventional name is tried. Nothing here throws for a missing key: `createProvider`
 * reports it, so a keyless local endpoint keeps working.
 */
export function resolveProviderSettings(
  input: { kind: ProviderKind; baseUrl?: string; credential?: string },
  sources: ResolveSources,
): ProviderSettings {
  const { kind } = input;
  const vault = sources.credentials;
  let apiKey = vault?.get(input.credential ?? credentialNames.providerKey(kind));
  if (!apiKey) {
    for (const name of KEY_ENV[kind]) {
      apiKey = secretOrUndefined(sources.env.get(name));
      if (apiKey) break;
    }
  }
  const settings: ProviderSettings = { kind, baseUrl: input.baseUrl, apiKey };
  if (kind !== "bedrock") return settings;

  const profile = sources.env.get("AWS_PROFILE") ?? "default";
  const fileCreds = sources.awsCredentialsFile
    ? parseIni(sources.awsCredentialsFile)[profile]
    : undefined;
  const fileConfig = sources.awsConfigFile ? parseIni(sources.awsConfigFile)[profile] : undefined;
  const region = sources.env.get("AWS_REGION") ?? sources.env.get("AWS_DEFAULT_REGION") ??
    fileConfig?.region ?? "us-east-1";
  let credentials: AwsCredentials | undefined;
  const vaultId = vault?.get("provider.bedrock.access_key_id");
  const vaultSecret = vault?.get("provider.bedrock.secret_access_key");
  if (vaultId && vaultSecret) {
    credentials = {
      accessKeyId: vaultId.reveal(),
      secretAccessKey: vaultSecret,
      sessionToken: vault?.get("provider.bedrock.session_token"),
    };
  } else if (sources.env.get("AWS_ACCESS_KEY_ID") && sources.env.get("AWS_SECRET_ACCESS_KEY")) {
    credentials = {
      accessKeyId: sources.env.get("AWS_ACCESS_KEY_ID")!,
      secretAccessKey: new Secret(sources.env.get("AWS_SECRET_ACCESS_KEY")!),
      sessionToken: secretOrUndefined(sources.env.get("AWS_SESSION_TOKEN")),
    };
  } else if (fileCreds?.aws_access_key_id && fileCreds.aws_secret_access_key) {
    credentials = {
      accessKeyId: fileCreds.aws_access_key_id,
      secretAccessKey: new Secret(fileCreds.aws_secret_access_key),
      sessionToken: secretOrUndefined(fileCreds.aws_session_token),
    };
  }
  settings.aws = { region, credentials };
  return settings;
}
