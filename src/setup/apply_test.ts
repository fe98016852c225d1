import { assert, assertEquals, assertRejects } from "../../tests/assert.ts";
import { importSigner, toBase64 } from "../ipc/keys.ts";
import { Secret } from "../secret.ts";
import { openVault, VaultError } from "../vault/mod.ts";
import { commitSetup, summary } from "./apply.ts";

const envOf = (passphrase: string) => {
  const vars: Record<string, string> = {
    WIRKEN_VAULT_BACKEND: "passphrase",
    WIRKEN_VAULT_PASSPHRASE: passphrase,
  };
  return { get: (k: string) => vars[k] };
};

async function tempData(): Promise<string> {
  return `${await Deno.makeTempDir({ prefix: "wirken-apply-" })}/data`;
}

Deno.test("commitSetup: provider key, two channels' tokens and key pairs land together; public keys match the vault", async () => {
  const dataDir = await tempData();
  const env = envOf("pw-apply-1");
  const saved = await commitSetup(dataDir, {
    provider: { kind: "openai", model: "gpt-4o" },
    apiKey: new Secret("sk-apply-test"),
    channels: [
      {
        channel: "telegram",
        secrets: new Map([["channel.telegram.token", new Secret("1:tg")]]),
        owners: ["4242"],
        bot: null,
      },
      {
        channel: "discord",
        secrets: new Map([["channel.discord.token", new Secret("dc-token")]]),
        owners: [],
        bot: null,
      },
    ],
  }, env);
  assertEquals(saved.channels.map((c) => c.channel), ["telegram", "discord"]);
  assertEquals(summary(saved.config).split("\n").slice(1), [
    "Provider: openai (gpt-4o)",
    "Channels: telegram, discord",
  ]);
  const onDisk = JSON.parse(await Deno.readTextFile(`${dataDir}/config.json`));
  assertEquals(onDisk.provider.credential, "provider.openai.api_key");
  assertEquals(onDisk.channels.telegram.allowFrom, ["4242"]);
  assertEquals(
    onDisk.routes.map((r: { channel: string }) => r.channel).sort(),
    ["discord", "telegram"],
  );
  const vault = await openVault({ dataDir, env, create: false });
  try {
    assertEquals(vault.get("provider.openai.api_key")?.reveal(), "sk-apply-test");
    assertEquals(vault.get("channel.discord.token")?.reveal(), "dc-token");
    for (const ch of ["telegram", "discord"] as const) {
      const seed = vault.get(`channel.${ch}.adapter_key`);
      assert(seed, `${ch} adapter key stored`);
      assertEquals(toBase64((await importSigner(seed)).publicKey), onDisk.channels[ch].publicKey);
    }
    // The two channels got different key pairs.
    assert(onDisk.channels.telegram.publicKey !== onDisk.channels.discord.publicKey);
  } finally {
    vault.close();
  }
});

Deno.test("commitSetup: when the vault cannot be opened, config.json is left byte for byte", async () => {
  const dataDir = await tempData();
  await commitSetup(dataDir, {
    provider: { kind: "openai", model: "gpt-4o" },
    apiKey: new Secret("sk-first"),
  }, envOf("pw-right"));
  const before = await Deno.readTextFile(`${dataDir}/config.json`);
  await assertRejects(() =>
    commitSetup(dataDir, {
      provider: { kind: "anthropic", model: "claude-sonnet-4-5" },
      apiKey: new Secret("sk-second"),
      channels: [{
        channel: "telegram",
        secrets: new Map([["channel.telegram.token", new Secret("1:tg")]]),
        owners: [],
        bot: null,
      }],
    }, envOf("pw-wrong")), VaultError);
  assertEquals(await Deno.readTextFile(`${dataDir}/config.json`), before);
  const vault = await openVault({ dataDir, env: envOf("pw-right"), create: false });
  try {
    assertEquals(vault.list().map((c) => c.name), ["provider.openai.api_key"]);
  } finally {
    vault.close();
  }
});
