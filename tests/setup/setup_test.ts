import { assert, assertEquals, assertFalse, assertStringIncludes } from "../assert.ts";
import { tempDataDir, wirken } from "../cli/helpers.ts";
import { fakeOpenAI } from "./fake_openai.ts";

const KEY = "sk-canary-setup-5f1e0c9a7b3d";
const VAULT_ENV = {
  WIRKEN_VAULT_BACKEND: "passphrase",
  WIRKEN_VAULT_PASSPHRASE: "correct horse battery",
};

/** Every file under `dir`, recursively. */
async function allFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    const p = `${dir}/${e.name}`;
    if (e.isDirectory) out.push(...await allFiles(p));
    else if (e.isFile) out.push(p);
  }
  return out;
}

Deno.test("setup (non-interactive): checks the key live, stores it in the vault only, prints the summary", async () => {
  const fake = fakeOpenAI(KEY);
  const dataDir = await tempDataDir();
  try {
    const r = await wirken(
      [
        "setup",
        "--provider",
        "openai",
        "--model",
        "gpt-4o",
        "--api-key-env",
        "MY_KEY",
        "--base-url",
        fake.baseUrl,
        "--verbose",
      ],
      { dataDir, env: { MY_KEY: KEY, ...VAULT_ENV } },
    );
    assertEquals(r.code, 0, r.stderr);
    assertStringIncludes(r.stdout, "Setup complete!\nProvider: openai (gpt-4o)");
    assertEquals(fake.seen.at(-1), `Bearer ${KEY}`);
    const config = JSON.parse(await Deno.readTextFile(`${dataDir}/config.json`));
    assertEquals(config.provider, {
      kind: "openai",
      model: "gpt-4o",
      baseUrl: fake.baseUrl,
      credential: "provider.openai.api_key",
    });
    const list = await wirken(["credentials", "list", "--json"], { dataDir, env: VAULT_ENV });
    assertStringIncludes(list.stdout, "provider.openai.api_key");
    // The key is nowhere in clear: not in output, config, logs or any database file.
    assertFalse((r.stdout + r.stderr + list.stdout + list.stderr).includes(KEY));
    for (const file of await allFiles(dataDir)) {
      const bytes = new TextDecoder("latin1").decode(await Deno.readFile(file));
      assertFalse(bytes.includes(KEY), `key found in ${file}`);
    }
  } finally {
    await fake.close();
  }
});

Deno.test("setup (non-interactive): a refused key writes nothing", async () => {
  const fake = fakeOpenAI(KEY);
  const dataDir = await tempDataDir();
  try {
    const r = await wirken(
      ["setup", "--provider", "openai", "--api-key-env", "MY_KEY", "--base-url", fake.baseUrl],
      { dataDir, env: { MY_KEY: "sk-wrong", ...VAULT_ENV } },
    );
    assertEquals(r.code, 1);
    assertStringIncludes(r.stderr, "rejected the API key");
    assertStringIncludes(r.stderr, "nothing was saved");
    assertFalse(await Deno.stat(`${dataDir}/config.json`).then(() => true, () => false));
    assertFalse(await Deno.stat(`${dataDir}/vault.db`).then(() => true, () => false));
  } finally {
    await fake.close();
  }
});

Deno.test("setup (non-interactive): usage errors for a missing key variable, model or URL", async () => {
  const dataDir = await tempDataDir();
  const unset = await wirken(["setup", "--provider", "openai", "--api-key-env", "NOPE_UNSET"], {
    dataDir,
  });
  assertEquals(unset.code, 2);
  assertStringIncludes(unset.stderr, "NOPE_UNSET is not set");
  const noKey = await wirken(["setup", "--provider", "anthropic"], { dataDir });
  assertEquals(noKey.code, 2);
  assertStringIncludes(noKey.stderr, "--api-key-env");
  const noModel = await wirken(["setup", "--provider", "bedrock"], { dataDir });
  assertEquals(noModel.code, 2);
  assertStringIncludes(noModel.stderr, "--model is required for bedrock");
  const noUrl = await wirken(["setup", "--provider", "custom", "--model", "m"], { dataDir });
  assertEquals(noUrl.code, 2);
  assertStringIncludes(noUrl.stderr, "--base-url is required");
  const noTty = await wirken(["setup"], { dataDir });
  assertEquals(noTty.code, 2);
  assertStringIncludes(noTty.stderr, "needs a terminal");
  assert(!(await Deno.stat(`${dataDir}/config.json`).then(() => true, () => false)));
});
