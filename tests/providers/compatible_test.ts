import { assert, assertEquals, assertThrows } from "../assert.ts";
import { Secret } from "../../src/secret.ts";
import {
  createCustomProvider,
  createPrivatemodeProvider,
  createTinfoilProvider,
  PRIVATEMODE_BASE_URL,
  TINFOIL_BASE_URL,
} from "../../src/providers/compatible.ts";
import { ProviderError } from "../../src/providers/errors.ts";
import { createProvider, parseIni, resolveProviderSettings } from "../../src/providers/registry.ts";
import type { CredentialInfo, CredentialStore } from "../../src/vault/types.ts";
import { KEY, providerSuite } from "./harness.ts";
import { openaiFixture } from "./openai_fixture.ts";

// The three OpenAI-compatible providers run the whole suite against the same wire format.
providerSuite({
  ...openaiFixture,
  name: "custom",
  make: (url, http) =>
    createCustomProvider({ baseUrl: url + "/v1", apiKey: new Secret(KEY), http }),
});
providerSuite({
  ...openaiFixture,
  name: "tinfoil",
  make: (url, http) =>
    createTinfoilProvider({ baseUrl: url + "/v1", apiKey: new Secret(KEY), http }),
});
providerSuite({
  ...openaiFixture,
  name: "privatemode",
  make: (url, http) =>
    createPrivatemodeProvider({ baseUrl: url + "/v1", apiKey: new Secret(KEY), http }),
});

Deno.test("compatible: defaults and required settings", () => {
  assertEquals(TINFOIL_BASE_URL, "https://inference.tinfoil.sh/v1");
  assertEquals(PRIVATEMODE_BASE_URL, "http://127.0.0.1:8080/v1");
  assertEquals(createPrivatemodeProvider({}).baseUrl, PRIVATEMODE_BASE_URL);
  assertEquals(createTinfoilProvider({ apiKey: new Secret("k") }).baseUrl, TINFOIL_BASE_URL);
  assertThrows(() => createCustomProvider({}), ProviderError, "base URL");
  assertThrows(() => createTinfoilProvider({}), ProviderError, "API key");
  const insecure = assertThrows(
    () => createCustomProvider({ baseUrl: "http://10.0.0.5:8000/v1" }),
    ProviderError,
    "Refusing",
  );
  assertEquals(insecure.kind, "insecure_url");
  // Loopback http is fine, including IPv6 and localhost.
  createCustomProvider({ baseUrl: "http://[::1]:8000/v1" });
  createCustomProvider({ baseUrl: "http://localhost:8000/v1" });
  assertThrows(
    () => createCustomProvider({ baseUrl: "https://user:pw@example.com/v1" }),
    ProviderError,
    "credentials",
  );
});

class MemStore implements CredentialStore {
  constructor(readonly map: Map<string, Secret>) {}
  get(name: string) {
    return this.map.get(name);
  }
  set(name: string, value: Secret) {
    this.map.set(name, value);
  }
  remove(name: string) {
    return this.map.delete(name);
  }
  list(): CredentialInfo[] {
    return [];
  }
}

const env = (o: Record<string, string>) => ({ get: (k: string) => o[k] });

Deno.test("registry: key from vault first, then env; missing key says how to fix", () => {
  const vault = new MemStore(new Map([["provider.openai.api_key", new Secret("from-vault")]]));
  const s = resolveProviderSettings({ kind: "openai" }, {
    credentials: vault,
    env: env({ OPENAI_API_KEY: "from-env" }),
  });
  assertEquals(s.apiKey?.reveal(), "from-vault");
  const e = resolveProviderSettings({ kind: "anthropic" }, {
    credentials: vault,
    env: env({ ANTHROPIC_API_KEY: "a-env" }),
  });
  assertEquals(e.apiKey?.reveal(), "a-env");
  const g = resolveProviderSettings({ kind: "gemini" }, { env: env({ GOOGLE_API_KEY: "g" }) });
  assertEquals(g.apiKey?.reveal(), "g");
  const err = assertThrows(
    () => createProvider(resolveProviderSettings({ kind: "openai" }, { env: env({}) })),
    ProviderError,
    "No API key",
  );
  assert(err.fix?.includes("wirken credentials add provider.openai.api_key"));
  // Ollama needs no key and defaults to loopback.
  assertEquals(
    createProvider(resolveProviderSettings({ kind: "ollama" }, { env: env({}) })).baseUrl,
    "http://127.0.0.1:11434",
  );
});

Deno.test("registry: AWS credentials from env, then the shared credentials profile", () => {
  const s = resolveProviderSettings({ kind: "bedrock" }, {
    env: env({ AWS_ACCESS_KEY_ID: "AKID", AWS_SECRET_ACCESS_KEY: "sec", AWS_REGION: "eu-west-1" }),
  });
  assertEquals(s.aws?.region, "eu-west-1");
  assertEquals(s.aws?.credentials?.accessKeyId, "AKID");
  assertEquals(s.aws?.credentials?.secretAccessKey.reveal(), "sec");
  const p = resolveProviderSettings({ kind: "bedrock" }, {
    env: env({ AWS_PROFILE: "work" }),
    awsCredentialsFile:
      "[default]\naws_access_key_id = D\naws_secret_access_key = d\n\n[work]\naws_access_key_id = W\naws_secret_access_key = w\naws_session_token = t\n",
    awsConfigFile: "[profile work]\nregion = ap-southeast-2\n",
  });
  assertEquals(p.aws?.credentials?.accessKeyId, "W");
  assertEquals(p.aws?.credentials?.sessionToken?.reveal(), "t");
  assertEquals(p.aws?.region, "ap-southeast-2");
  assertEquals(parseIni("[a]\nx=1\n; c\n[profile b]\ny = 2"), { a: { x: "1" }, b: { y: "2" } });
  assertThrows(
    () => createProvider({ kind: "bedrock", aws: { region: "us-east-1" } }),
    ProviderError,
    "credentials",
  );
});
