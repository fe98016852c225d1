/**
 * The OpenAI-compatible providers: Custom, Tinfoil and Privatemode. They speak exactly the
 * OpenAI Chat Completions format (see `openai.ts`); only their defaults differ.
 *
 * ## Custom
 * Any OpenAI-compatible server (vLLM, llama.cpp server, LM Studio, LiteLLM, OpenRouter, ...).
 * `baseUrl` is required and must end where `/chat/completions` begins (usually `.../v1`).
 * The key is optional (local servers often need none).
 *
 * ## Tinfoil (confidential inference)
 * Default `https://inference.tinfoil.sh/v1`, key sent as `Authorization: Bearer`.
 *
 * What wirken verifies when talking to Tinfoil directly: only ordinary TLS — the server
 * certificate chains to a CA trusted by the system and names the host. That is all.
 *
 * What wirken does NOT verify: Tinfoil's remote attestation. wirken does not fetch or check the
 * enclave's attestation report (AMD SEV-SNP / Intel TDX, NVIDIA GPU attestation), does not
 * compare the enclave's code measurement with the Sigstore-signed release of the published
 * source, and does not pin the TLS key to the attested enclave. So, talking directly, the
 * confidentiality guarantee rests on TLS and on trusting Tinfoil's operators, exactly as with
 * any other hosted API; nothing stops a man-in-the-middle holding a CA-issued certificate, nor
 * proves the enclave runs the published code.
 *
 * To get the attested guarantee, run Tinfoil's own verifying client locally (its proxy /
 * SDK, which performs the attestation and certificate pinning) and point `baseUrl` at it on
 * loopback, e.g. `http://127.0.0.1:<port>/v1`; wirken then talks plain OpenAI to a process on
 * the same machine, and the attestation is done by Tinfoil's verifier, not by wirken.
 *
 * ## Privatemode (confidential inference)
 * Privatemode is reached through its local proxy (`privatemode-proxy`), which verifies the
 * deployment's attestation and encrypts prompts end to end; wirken talks to the proxy on
 * loopback. Default `http://127.0.0.1:8080/v1`. The API key is normally given to the proxy at
 * start; if one is stored for wirken it is forwarded as `Authorization: Bearer` to the proxy.
 * What is attested is decided by the proxy; wirken itself verifies nothing beyond refusing a
 * non-loopback `http://` URL.
 *
 * @module
 */
import type { Secret } from "../secret.ts";
import { ProviderError } from "./errors.ts";
import type { HttpOptions } from "./http.ts";
import { createOpenAIProvider } from "./openai.ts";
import type { Provider } from "./types.ts";

/** Tinfoil's hosted inference endpoint. */
export const TINFOIL_BASE_URL = "https://inference.tinfoil.sh/v1";
/** Where `privatemode-proxy` listens by default. */
export const PRIVATEMODE_BASE_URL = "http://127.0.0.1:8080/v1";

/** Options shared by the compatible providers. */
export interface CompatibleOptions {
  baseUrl?: string;
  apiKey?: Secret;
  http?: HttpOptions;
}

/** Any OpenAI-compatible endpoint; `baseUrl` is required. */
export function createCustomProvider(options: CompatibleOptions): Provider {
  if (!options.baseUrl) {
    throw new ProviderError("config", "The custom provider needs a base URL.", {
      fix: "Set provider.baseUrl (or --base-url), e.g. http://127.0.0.1:8000/v1.",
    });
  }
  return createOpenAIProvider({
    kind: "custom",
    name: `the endpoint at ${new URL(options.baseUrl).host}`,
    baseUrl: options.baseUrl,
    apiKey: options.apiKey,
    credentialName: "provider.custom.api_key",
    http: options.http,
  });
}

/** Tinfoil; see the module documentation for exactly what is and is not verified. */
export function createTinfoilProvider(options: CompatibleOptions): Provider {
  if (!options.apiKey) {
    throw new ProviderError("config", "Tinfoil needs an API key.", {
      fix: "wirken credentials add provider.tinfoil.api_key (or set TINFOIL_API_KEY).",
    });
  }
  return createOpenAIProvider({
    kind: "tinfoil",
    name: "Tinfoil",
    baseUrl: options.baseUrl ?? TINFOIL_BASE_URL,
    apiKey: options.apiKey,
    credentialName: "provider.tinfoil.api_key",
    http: options.http,
  });
}

/** Privatemode through its local proxy. */
export function createPrivatemodeProvider(options: CompatibleOptions): Provider {
  return createOpenAIProvider({
    kind: "privatemode",
    name: "Privatemode (via its local proxy)",
    baseUrl: options.baseUrl ?? PRIVATEMODE_BASE_URL,
    apiKey: options.apiKey,
    credentialName: "provider.privatemode.api_key",
    http: options.http,
  });
}
