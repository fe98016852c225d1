import { assert, assertEquals } from "../../tests/assert.ts";
import { Secret } from "../secret.ts";
import {
  type AdapterBundle,
  bundleFromJson,
  bundleToJson,
  type ByteSource,
  encodeBundle,
  groupModesToSend,
  MAX_BUNDLE_BYTES,
  MAX_GROUP_MODES,
  readBundle,
} from "./bundle.ts";
import { parseConfig } from "../config/load.ts";
import { ConfigError } from "../errors.ts";
import { IpcError } from "./errors.ts";

function source(bytes: Uint8Array, chunk = 5): ByteSource & { consumed(): number } {
  let pos = 0;
  return {
    read(p) {
      if (pos >= bytes.length) return Promise.resolve(null);
      const n = Math.min(chunk, p.length, bytes.length - pos);
      p.set(bytes.subarray(pos, pos + n));
      pos += n;
      return Promise.resolve(n);
    },
    consumed: () => pos,
  };
}

const bundle = (): AdapterBundle => ({
  version: 1,
  channel: "slack",
  socketPath: "/d/sockets/gateway.sock",
  gatewayKey: "A".repeat(43) + "=",
  adapterKey: new Secret("a2V5"),
  credentials: new Map([["channel.slack.bot_token", new Secret("xoxb-1")]]),
  isolation: "process",
  grants: { net: ["slack.com:443"], read: ["/d/sockets"], write: ["/d/sockets"], env: [] },
  driver: "channel",
});

async function rejects(bytes: Uint8Array, includes: string): Promise<void> {
  try {
    await readBundle(source(bytes));
  } catch (e) {
    assert(e instanceof IpcError, String(e));
    assert(e.message.includes(includes), e.message);
    return;
  }
  throw new Error(`expected "${includes}"`);
}

Deno.test("bundle: round trip, and nothing after it is consumed", async () => {
  const bytes = encodeBundle(bundle());
  const src = source(new Uint8Array([...bytes, 1, 2, 3]), 1000);
  const got = await readBundle(src);
  assertEquals(src.consumed(), bytes.length);
  assertEquals(got.channel, "slack");
  assertEquals(got.adapterKey.reveal(), "a2V5");
  assertEquals(got.credentials.get("channel.slack.bot_token")?.reveal(), "xoxb-1");
  assertEquals(got.grants.net, ["slack.com:443"]);
  // The credentials never print.
  assert(!JSON.stringify([...got.credentials]).includes("xoxb"));
});

Deno.test("bundle: bad magic, version, oversize length, truncation, bad JSON, extra keys", async () => {
  const good = encodeBundle(bundle());
  await rejects(new Uint8Array([0x58, ...good.subarray(1)]), "not an adapter bundle");
  const v2 = good.slice();
  v2[4] = 2;
  await rejects(v2, "version 2");
  const huge = good.slice(0, 9);
  new DataView(huge.buffer).setUint32(5, MAX_BUNDLE_BYTES + 1, false);
  await rejects(huge, "exceeds");
  await rejects(good.subarray(0, good.length - 1), "stdin ended");
  const junk = new TextEncoder().encode("{not json");
  const framed = new Uint8Array([...good.subarray(0, 5), 0, 0, 0, junk.length, ...junk]);
  await rejects(framed, "not JSON");
  const extra = new TextEncoder().encode(JSON.stringify({ version: 1, evil: true }));
  await rejects(
    new Uint8Array([...good.subarray(0, 5), 0, 0, 0, extra.length, ...extra]),
    "invalid adapter bundle",
  );
});

Deno.test("bundle: encoding refuses more than the cap", () => {
  const b = bundle();
  for (let i = 0; i < 8; i++) {
    b.credentials.set(`channel.slack.x${i}`, new Secret("y".repeat(9000)));
  }
  let threw = false;
  try {
    encodeBundle(b);
  } catch (e) {
    threw = e instanceof IpcError;
  }
  assert(threw);
});

Deno.test("bundle: group mention rules travel to the adapter (and through the Worker JSON)", async () => {
  const withModes = { ...bundle(), groupModes: { C01: "all", "C02/17": "mention" } } as const;
  const read = await readBundle(source(encodeBundle(withModes)));
  assertEquals(read.groupModes, { C01: "all", "C02/17": "mention" });
  assertEquals(bundleFromJson(bundleToJson(read)).groupModes, read.groupModes);
  // Absent stays absent; a mode that is not a mode is refused.
  assertEquals((await readBundle(source(encodeBundle(bundle())))).groupModes, undefined);
  let refused = "";
  try {
    bundleFromJson({ ...bundleToJson(read), groupModes: { C01: "everything" } });
  } catch (e) {
    refused = String(e);
  }
  assert(refused.includes("invalid adapter bundle"), refused);
});

Deno.test("bundle: rules equal to what the adapter falls back to are not sent", () => {
  const conv = (conversation: string, groupMode?: "mention" | "all", channel = "telegram") => ({
    channel,
    conversation,
    ...(groupMode ? { groupMode } : {}),
  });
  // Only the default: nothing to send.
  assertEquals(
    groupModesToSend(
      [conv("-1", "mention"), conv("-2"), conv("-3", "all", "slack")],
      "telegram",
      undefined,
    ),
    {},
  );
  // A thread equal to its chat's rule is left out; one that differs is kept.
  assertEquals(
    groupModesToSend(
      [conv("-1", "all"), conv("-1/7", "all"), conv("-1/8", "mention"), conv("-2/9", "mention")],
      "telegram",
      undefined,
    ),
    { "-1": "all", "-1/8": "mention" },
  );
  // With <CHANNEL>_GROUP_MODE=all an explicit mention is an override and is sent; all is not.
  assertEquals(groupModesToSend([conv("-1", "mention")], "telegram", "all"), { "-1": "mention" });
  assertEquals(groupModesToSend([conv("-1", "all")], "telegram", "all"), {});
  // When some entry sets the other mode, a default-valued id without a thread part is kept:
  // it may be a Discord thread overriding its parent channel.
  assertEquals(
    groupModesToSend(
      [conv("100", "all", "discord"), conv("101", "mention", "discord")],
      "discord",
      undefined,
    ),
    { "100": "all", "101": "mention" },
  );
});

Deno.test("bundle: every config that loads carries its group rules to the adapter; more is refused at load", async () => {
  const load = (n: number, id: (i: number) => string) =>
    parseConfig(
      JSON.stringify({
        conversations: Array.from({ length: n }, (_, i) => ({
          channel: "discord",
          conversation: id(i),
          groupMode: "all",
        })),
      }),
      "config.json",
    );
  const carried = async (config: ReturnType<typeof load>) => {
    const modes = groupModesToSend(config.conversations, "discord", undefined);
    const read = await readBundle(
      source(encodeBundle({ ...bundle(), channel: "discord", groupModes: modes }), 4096),
    );
    return Object.keys(read.groupModes ?? {}).length;
  };
  // The most the config allows, with ids as long as the byte budget lets 1000 of them be.
  const longest = (i: number) => "g" + String(i).padStart(39, "0");
  assertEquals(await carried(load(MAX_GROUP_MODES, longest)), MAX_GROUP_MODES);
  // One more, or fewer rules with ids too long to fit: refused when config loads, saying why.
  for (
    const [n, id] of [[MAX_GROUP_MODES + 1, longest], [
      600,
      (i: number) => longest(i).repeat(3),
    ]] as const
  ) {
    let message = "";
    try {
      load(n, id);
    } catch (e) {
      assert(e instanceof ConfigError, String(e));
      message = e.message;
    }
    assert(message.includes(`discord has ${n} conversations with a groupMode`), message);
    assert(message.includes("DISCORD_GROUP_MODE=all"), message);
  }
  // An id longer than the bundle accepts as a key.
  let refused = "";
  try {
    load(1, () => "x".repeat(513));
  } catch (e) {
    refused = String(e);
  }
  assert(refused.includes("at most 512 characters"), refused);
});
