/**
 * `wirken channel add` for Matrix, Teams and WhatsApp: the live credential checks against the
 * fakes (wrong credentials refused with a clear message, right ones accepted), and the real CLI
 * adding WhatsApp (four values on stdin) and Matrix (homeserver recorded in config).
 */
import { assert, assertEquals, assertStringIncludes } from "../assert.ts";
import { verifyChannel } from "../../src/channels/verify.ts";
import { Secret } from "../../src/secret.ts";
import { fakeBotFramework } from "../fakes/botframework.ts";
import { fakeHomeserver } from "../fakes/matrix_homeserver.ts";
import { fakeGraph } from "../fakes/whatsapp_graph.ts";
import { tempDataDir, wirken } from "../cli/helpers.ts";

const secrets = (o: Record<string, string>) =>
  new Map(Object.entries(o).map(([k, v]) => [k, new Secret(v)]));
const envOf = (o: Record<string, string>) => ({ get: (n: string) => o[n] });

Deno.test("channel add checks: Matrix whoami, Teams client credentials, WhatsApp phone number", async () => {
  const hs = fakeHomeserver({ userId: "@bot:fake.test", accessToken: "mx-good" });
  const bf = await fakeBotFramework({ appId: "app-1", appPassword: "pw-good" });
  const graph = fakeGraph({ id: "PN9", accessToken: "wa-good" });
  try {
    const mxEnv = { env: envOf({ MATRIX_HOMESERVER_URL: hs.url }) };
    const mx = await verifyChannel(
      "matrix",
      secrets({
        "channel.matrix.access_token": "mx-good",
        "channel.matrix.user_id": "@bot:fake.test",
      }),
      mxEnv,
    );
    assertEquals(mx?.id, "@bot:fake.test");
    const badMx = await verifyChannel(
      "matrix",
      secrets({
        "channel.matrix.access_token": "mx-bad",
        "channel.matrix.user_id": "@bot:fake.test",
      }),
      mxEnv,
    ).catch((e) => e);
    assertStringIncludes(String(badMx), "refused the access token");
    const other = await verifyChannel(
      "matrix",
      secrets({
        "channel.matrix.access_token": "mx-good",
        "channel.matrix.user_id": "@eve:fake.test",
      }),
      mxEnv,
    ).catch((e) => e);
    assertStringIncludes(String(other), "belongs to @bot:fake.test");
    const insecure = await verifyChannel(
      "matrix",
      secrets({ "channel.matrix.access_token": "x", "channel.matrix.user_id": "@b:x" }),
      { env: envOf({ MATRIX_HOMESERVER_URL: "http://matrix.example.org" }) },
    ).catch((e) => e);
    assertStringIncludes(String(insecure), "Refusing to use the Matrix homeserver");

    const teamsEnv = { env: envOf({ TEAMS_AUTH_URL: bf.authUrl }) };
    const tm = await verifyChannel(
      "teams",
      secrets({ "channel.teams.app_id": "app-1", "channel.teams.app_password": "pw-good" }),
      teamsEnv,
    );
    assertEquals(tm?.id, "app-1");
    const badTm = await verifyChannel(
      "teams",
      secrets({ "channel.teams.app_id": "app-1", "channel.teams.app_password": "pw-bad" }),
      teamsEnv,
    ).catch((e) => e);
    assertStringIncludes(
      String(badTm),
      "Microsoft refused the app id and password (invalid_client)",
    );
    assert(!String(badTm).includes("pw-bad"));

    const waEnv = { env: envOf({ WHATSAPP_GRAPH_URL: graph.url }) };
    const wa = (token: string) =>
      verifyChannel(
        "whatsapp",
        secrets({
          "channel.whatsapp.access_token": token,
          "channel.whatsapp.app_secret": "s",
          "channel.whatsapp.verify_token": "v",
          "channel.whatsapp.phone_number_id": "PN9",
        }),
        waEnv,
      );
    assertEquals((await wa("wa-good"))?.name, "Wirken Test");
    assertStringIncludes(String(await wa("wa-bad").catch((e) => e)), "WhatsApp refused");
  } finally {
    await hs.close();
    await bf.close();
    await graph.close();
  }
});

Deno.test("wirken channel add whatsapp and matrix through the CLI", async () => {
  const graph = fakeGraph({ id: "PN9", accessToken: "wa-good" });
  const hs = fakeHomeserver({ userId: "@bot:fake.test", accessToken: "mx-good" });
  const dataDir = await tempDataDir();
  const env = {
    WIRKEN_VAULT_BACKEND: "passphrase",
    WIRKEN_VAULT_PASSPHRASE: "channel-add-part2",
    HOME: Deno.env.get("HOME") ?? "/tmp",
    WHATSAPP_GRAPH_URL: graph.url,
    MATRIX_HOMESERVER_URL: hs.url,
  };
  try {
    // Access token, app secret, verify token, phone number id: the manifest's order.
    const wa = await wirken(["channel", "add", "whatsapp", "--owner", "4915112345678", "--json"], {
      dataDir,
      env,
      stdin: "wa-good\nwa-app-secret\nwa-verify\nPN9\n",
    });
    assertEquals(wa.code, 0, wa.stderr);
    const added = JSON.parse(wa.stdout);
    assertEquals(added.bot.name, "Wirken Test");
    assertEquals(added.stored.length, 5);
    const mx = await wirken(["channel", "add", "matrix", "--owner", "@ann:fake.test", "--json"], {
      dataDir,
      env,
      stdin: "mx-good\n@bot:fake.test\n",
    });
    assertEquals(mx.code, 0, mx.stderr);
    const config = JSON.parse(await Deno.readTextFile(`${dataDir}/config.json`));
    assertEquals(config.channels.matrix.homeserver, hs.url);
    assertEquals(config.channels.matrix.allowFrom, ["@ann:fake.test"]);
    assertEquals(config.channels.whatsapp.allowFrom, ["4915112345678"]);
    assert(
      !JSON.stringify(config).includes("wa-good") && !JSON.stringify(config).includes("mx-good"),
    );
  } finally {
    await graph.close();
    await hs.close();
    await Deno.remove(dataDir.replace(/\/data$/, ""), { recursive: true }).catch(() => {});
  }
});
