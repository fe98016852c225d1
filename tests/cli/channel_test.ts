/**
 * `wirken channel add|list|remove` through the real CLI against a fake Telegram Bot API, then
 * `wirken run` with the channel it configured: the adapter authenticates with the key `add`
 * generated and answers the owner's DM.
 */
import { assert, assertEquals, assertStringIncludes } from "../assert.ts";
import { dm, fakeTelegram } from "../fakes/telegram.ts";
import { fakeChat } from "../fakes/openai_chat.ts";
import { startGateway, tempDataDir, wirken } from "./helpers.ts";
import { waitFor } from "../ipc/helpers.ts";

const VAULT = { WIRKEN_VAULT_BACKEND: "passphrase", WIRKEN_VAULT_PASSPHRASE: "channel-cli-test" };

Deno.test("channel add checks the token, stores key and token, routes; list and remove", async () => {
  const tg = fakeTelegram();
  const model = fakeChat(() => ({ text: "Hello from **wirken**." }));
  const dataDir = await tempDataDir();
  const env = { ...VAULT, TELEGRAM_API_ROOT: tg.url, HOME: Deno.env.get("HOME") ?? "/tmp" };
  try {
    // A wrong token: a clear error and nothing written.
    const bad = await wirken(["channel", "add", "telegram", "--owner", "4242"], {
      dataDir,
      env,
      stdin: "999:wrong-token\n",
    });
    assertEquals(bad.code, 1, bad.stderr);
    assertStringIncludes(bad.stderr, "Telegram refused the bot token");
    assert(!bad.stderr.includes("wrong-token"), "the token is never printed");
    const none = await wirken(["channel", "list", "--json"], { dataDir, env });
    assertEquals(JSON.parse(none.stdout).channels, []);

    await Deno.writeTextFile(
      `${dataDir}/config.json`,
      JSON.stringify({ provider: { kind: "custom", model: "m", baseUrl: model.baseUrl } }),
    );
    const ok = await wirken(["channel", "add", "telegram", "--owner", "4242", "--json"], {
      dataDir,
      env,
      stdin: `${tg.token}\n`,
    });
    assertEquals(ok.code, 0, ok.stderr);
    const added = JSON.parse(ok.stdout);
    assertEquals(added.bot.name, "@wirken_test_bot");
    assertEquals(added.allowFrom, ["4242"]);
    assertEquals(added.stored, ["channel.telegram.token", "channel.telegram.adapter_key"]);
    const config = JSON.parse(await Deno.readTextFile(`${dataDir}/config.json`));
    assertEquals(config.channels.telegram.publicKey, added.publicKey);
    assertEquals(config.routes, [{ channel: "telegram", agent: "default" }]);
    assert(!JSON.stringify(config).includes(tg.token), "no token in config");

    const listed = await wirken(["channel", "list", "--json"], { dataDir, env });
    const row = JSON.parse(listed.stdout).channels[0];
    assertEquals([row.channel, row.enabled, row.keyed, row.missing], ["telegram", true, true, []]);

    // The channel as configured by `add` runs under `wirken run`.
    const gw = await startGateway({ dataDir, env });
    try {
      await waitFor(() => tg.polls() > 0, 30_000, "adapter polling");
      tg.push(dm(4242, "hi"));
      await waitFor(() => tg.sent("sendMessage").length > 0, 20_000, "answer");
      assertEquals(tg.sent("sendMessage")[0].params.text, "Hello from <b>wirken</b>.");
      const text = await wirken(["channel", "list"], { dataDir, env });
      assertStringIncludes(text.stdout, "running");
    } finally {
      assertEquals(await gw.stop(), 0, gw.output().slice(-2000));
    }

    const removed = await wirken(["channel", "remove", "telegram", "--json"], { dataDir, env });
    assertEquals(removed.code, 0, removed.stderr);
    const r = JSON.parse(removed.stdout);
    assertEquals(r.credentials.sort(), ["channel.telegram.adapter_key", "channel.telegram.token"]);
    assertEquals([r.configured, r.routes], [true, 1]);
    const after = JSON.parse(await Deno.readTextFile(`${dataDir}/config.json`));
    assertEquals([after.channels, after.routes], [{}, []]);
    const creds = await wirken(["credentials", "list", "--json"], { dataDir, env });
    assert(!creds.stdout.includes("channel.telegram"), creds.stdout);
  } finally {
    await tg.close();
    await model.close();
    await Deno.remove(dataDir.replace(/\/data$/, ""), { recursive: true }).catch(() => {});
  }
});

Deno.test("setup --channel telegram --telegram-token-env: checked first, then the same add", async () => {
  const tg = fakeTelegram();
  const model = fakeChat(() => ({ text: "ok" }));
  const dataDir = await tempDataDir();
  const base = { ...VAULT, TELEGRAM_API_ROOT: tg.url, HOME: Deno.env.get("HOME") ?? "/tmp" };
  const args = [
    "setup",
    "--provider",
    "custom",
    "--base-url",
    model.baseUrl,
    "--model",
    "fake-model",
    "--channel",
    "telegram",
    "--telegram-token-env",
    "TG",
    "--owner",
    "4242",
  ];
  try {
    const bad = await wirken(args, { dataDir, env: { ...base, TG: "1:bad" } });
    assertEquals(bad.code, 1, bad.stderr);
    assertStringIncludes(bad.stderr, "Telegram refused the bot token");
    let exists = true;
    await Deno.stat(`${dataDir}/config.json`).catch(() => (exists = false));
    assert(!exists, "nothing written when a channel token is wrong");

    const ok = await wirken(args, { dataDir, env: { ...base, TG: tg.token } });
    assertEquals(ok.code, 0, ok.stderr);
    assertStringIncludes(ok.stdout, "Channel telegram: token checked");
    const config = JSON.parse(await Deno.readTextFile(`${dataDir}/config.json`));
    assertEquals(config.provider.kind, "custom");
    assertEquals(config.channels.telegram.allowFrom, ["4242"]);
    assertEquals(config.routes, [{ channel: "telegram", agent: "default" }]);
  } finally {
    await tg.close();
    await model.close();
    await Deno.remove(dataDir.replace(/\/data$/, ""), { recursive: true }).catch(() => {});
  }
});
