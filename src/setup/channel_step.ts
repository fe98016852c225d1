/**
 * Step 2 of the wizard, "Pick your channels": a multi-select of the six channels, then for each
 * picked one its credentials at no-echo prompts, the same live check `wirken channel add` makes
 * (a refused token is asked again), and the owner's user id. Nothing is stored here: the
 * answers go to `commitSetup`, which writes everything at the end.
 *
 * @module
 */
import * as p from "@clack/prompts";
import { MANIFESTS } from "../../adapters/shared/manifests.ts";
import { checkChannelInput, OWNER_HINT, ownerIdProblem } from "../channels/add.ts";
import { type BotIdentity, verifyChannel } from "../channels/verify.ts";
import { type Channel, CHANNELS, type Config } from "../config/schema.ts";
import { WirkenError } from "../errors.ts";
import { Secret } from "../secret.ts";
import type { ChannelChoice } from "./apply.ts";
import { answered, spin } from "./cancel.ts";

type Env = { get(name: string): string | undefined };

/** Asks which channels to set up and their credentials; returns the checked ones. */
export async function channelStep(existing: Config, env: Env): Promise<ChannelChoice[]> {
  const configured = CHANNELS.filter((c) => existing.channels[c] !== undefined);
  const picked = answered(
    await p.multiselect<Channel>({
      message: configured.length
        ? "Channels (ticked: configured now; unticking one does not remove it, " +
          "`wirken channel remove` does)"
        : "Channels (none is fine: add one later with `wirken channel add`)",
      options: CHANNELS.map((c) => ({
        value: c,
        label: MANIFESTS[c].displayName,
        hint: existing.channels[c] ? "configured" : undefined,
      })),
      initialValues: configured,
      required: false,
    }),
  );
  const out: ChannelChoice[] = [];
  for (const channel of picked) {
    const choice = await askChannel(channel, existing.channels[channel] !== undefined, env);
    if (choice) out.push(choice);
  }
  return out;
}

/** A credential's prompt label, e.g. "Telegram token (Bot token from @BotFather.)". */
function label(channel: Channel, name: string, description: string): string {
  const what = name.slice(`channel.${channel}.`.length).replaceAll("_", " ");
  return `${MANIFESTS[channel].displayName} ${what} (${description.replace(/\.$/, "")})`;
}

/** One channel: credentials until the check passes (or the user skips), then the owner. */
async function askChannel(
  channel: Channel,
  configured: boolean,
  env: Env,
): Promise<ChannelChoice | undefined> {
  const name = MANIFESTS[channel].displayName;
  const required = MANIFESTS[channel].credentials.filter((c) => c.required);
  for (;;) {
    const secrets = new Map<string, Secret>();
    for (const [i, c] of required.entries()) {
      // Only the first prompt offers to keep: a half-replaced set of tokens would not match.
      const mayKeep = configured && i === 0;
      for (;;) {
        const typed = answered(
          await p.password({
            message: `${label(channel, c.name, c.description)}${
              mayKeep ? " [Enter keeps the stored one]" : ""
            }`,
            mask: "*",
          }),
        ).trim();
        if (typed) {
          secrets.set(c.name, new Secret(typed));
          break;
        }
        if (mayKeep) {
          p.log.info(`${channel}: kept as it is.`);
          return undefined;
        }
        p.log.warn(`${name} needs this to connect; paste it, or press Ctrl+C to stop.`);
      }
    }
    const check = await spin(
      `Checking the ${name} credentials`,
      () => checkCredentials(channel, secrets, env),
      (r) => (r.ok ? `${name} accepted them${r.bot ? ` (bot ${r.bot.name})` : ""}.` : r.message),
    );
    if (check.ok) {
      const owner = answered(
        await p.text({
          message: `Owner: ${OWNER_HINT[channel]} (Enter to add later)`,
          validate: (v) => (v?.trim() ? ownerIdProblem(channel, v.trim()) : undefined),
        }),
      ).trim();
      return { channel, secrets, owners: owner ? [owner] : [], bot: check.bot };
    }
    if (check.fix) p.log.warn(check.fix);
    const next = answered(
      await p.select<"again" | "skip">({
        message: `What now with ${name}?`,
        options: [
          { value: "again", label: "Enter the credentials again" },
          { value: "skip", label: `Skip ${name} (nothing is saved for it)` },
        ],
      }),
    );
    if (next === "skip") return undefined;
  }
}

type CheckOutcome =
  | { ok: true; bot: BotIdentity | null }
  | { ok: false; message: string; fix: string | undefined };

/** The checks of `addChannel`, turned into an outcome (never throws a check failure). */
async function checkCredentials(
  channel: Channel,
  secrets: ReadonlyMap<string, Secret>,
  env: Env,
): Promise<CheckOutcome> {
  try {
    checkChannelInput(channel, secrets, []);
    return { ok: true, bot: await verifyChannel(channel, secrets, { env }) };
  } catch (e) {
    if (e instanceof WirkenError) {
      return { ok: false, message: e.message, fix: e.fix };
    }
    throw e;
  }
}
