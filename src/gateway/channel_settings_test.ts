import { assertEquals } from "../../tests/assert.ts";
import { childEnv } from "./supervisor.ts";
import { adapterGrants } from "../../adapters/shared/manifests.ts";
import { ConfigSchema } from "../config/schema.ts";
import { channelSettingsEnv, supervisorEnv } from "./channel_settings.ts";

Deno.test("channel settings reach only their own adapter, and the homeserver its grant", () => {
  const config = ConfigSchema.parse({
    channels: {
      matrix: { homeserver: "https://matrix.example.org", allowFrom: ["@a:x", "@b:y"] },
      teams: { listenPort: 4000 },
      whatsapp: {},
    },
  });
  assertEquals(channelSettingsEnv(config), {
    MATRIX_HOMESERVER_URL: "https://matrix.example.org",
    MATRIX_ALLOWED_INVITERS: "@a:x,@b:y",
    TEAMS_LISTEN_PORT: "4000",
  });
  const env = supervisorEnv(config, { PATH: "/bin", MATRIX_HOMESERVER_URL: "https://old.example" });
  assertEquals(childEnv(env, "matrix").MATRIX_HOMESERVER_URL, "https://matrix.example.org");
  assertEquals(childEnv(env, "matrix").MATRIX_ALLOWED_INVITERS, "@a:x,@b:y");
  assertEquals(childEnv(env, "teams").MATRIX_ALLOWED_INVITERS, undefined);
  assertEquals(childEnv(env, "teams").TEAMS_LISTEN_PORT, "4000");
  const grants = adapterGrants("matrix", "/run/s.sock", { get: (n) => env[n] });
  assertEquals(grants.net.includes("matrix.example.org:443"), true);
  assertEquals(grants.net.includes("matrix-client.matrix.org:443"), false);
  const t = adapterGrants("teams", "/run/s.sock", { get: (n) => env[n] });
  assertEquals(t.net.includes("127.0.0.1:4000"), true);
});
