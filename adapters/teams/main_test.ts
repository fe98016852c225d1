import { assertEquals } from "../../tests/assert.ts";
import { senderIdOf, settingsFromEnv } from "./main.ts";

const env = (o: Record<string, string>) => ({ get: (n: string) => o[n] });

Deno.test("teams settings: defaults, emulator override on the allow-list, group mode", () => {
  const d = settingsFromEnv(env({}));
  assertEquals([d.port, d.hostname, d.serviceHosts, d.groupMode], [
    3978,
    "127.0.0.1",
    ["smba.trafficmanager.net:443"],
    "mention",
  ]);
  const t = settingsFromEnv(env({
    TEAMS_LISTEN_PORT: "4000",
    TEAMS_SERVICE_URL: "http://127.0.0.1:9000",
    TEAMS_GROUP_MODE: "all",
  }));
  assertEquals([t.port, t.serviceHosts, t.groupMode], [
    4000,
    ["smba.trafficmanager.net:443", "127.0.0.1:9000"],
    "all",
  ]);
  assertEquals(senderIdOf({ from: { id: "29:x", aadObjectId: "aad" } }), "aad");
  assertEquals(senderIdOf({ from: { id: "29:x" } }), "29:x");
});
