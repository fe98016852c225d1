/**
 * Live credential checks of `wirken channel add` for Matrix, Teams and WhatsApp (verify.ts
 * dispatches here): one cheap, read-only call each, so a wrong token fails at add time:
 *
 * - Matrix: `GET /_matrix/client/v3/account/whoami` on the homeserver (`MATRIX_HOMESERVER_URL`,
 *   HTTPS unless loopback), and the token must belong to the given user id.
 * - Teams: the OAuth client-credentials grant the adapter itself uses (app id + password,
 *   tenant or `botframework.com`); `TEAMS_AUTH_URL` overrides the token endpoint.
 * - WhatsApp: `GET /<phone number id>` on the Graph API (`WHATSAPP_GRAPH_URL`) with the token.
 *   The app secret and verify token cannot be checked from here: Meta uses them only when it
 *   calls the webhook.
 *
 * @module
 */
import { z } from "zod";
import type { Channel, Config } from "../config/schema.ts";
import { requireSecureUrl } from "../net/secure_url.ts";
import type { Secret } from "../secret.ts";
import { type BotIdentity, call, ChannelCheckError, type VerifyOptions } from "./verify.ts";

/** The Matrix homeserver `channel add` checks against and records. */
export function matrixHomeserver(env: { get(name: string): string | undefined }): string {
  return (env.get("MATRIX_HOMESERVER_URL") ?? "https://matrix-client.matrix.org").replace(
    /\/+$/,
    "",
  );
}

/** Channel settings `channel add` records from the environment (the Matrix homeserver). */
export function settingsFromEnv(
  channel: string,
  env: { get(name: string): string | undefined },
): Partial<NonNullable<Config["channels"][Channel]>> {
  if (channel === "matrix" && env.get("MATRIX_HOMESERVER_URL")) {
    return { homeserver: matrixHomeserver(env) };
  }
  return {};
}

/** Checks the credentials of `channel`; see the module doc. */
export async function verifyPart2(
  channel: "matrix" | "teams" | "whatsapp",
  secrets: ReadonlyMap<string, Secret>,
  o: VerifyOptions,
): Promise<BotIdentity> {
  const need = (what: string): string => {
    const s = secrets.get(`channel.${channel}.${what}`);
    if (!s) throw new ChannelCheckError(`channel.${channel}.${what} was not given.`);
    return s.reveal();
  };
  switch (channel) {
    case "matrix": {
      const hs = matrixHomeserver(o.env);
      try {
        requireSecureUrl(hs, "Matrix homeserver");
      } catch (e) {
        throw new ChannelCheckError(e instanceof Error ? e.message : String(e), {
          fix: "Use the homeserver's https:// URL in MATRIX_HOMESERVER_URL.",
        });
      }
      const r = await call(o, "the Matrix homeserver", `${hs}/_matrix/client/v3/account/whoami`, {
        headers: { Authorization: `Bearer ${need("access_token")}` },
      });
      const me = z.object({ user_id: z.string().min(1) }).safeParse(r.body);
      if (!me.success) {
        throw new ChannelCheckError(`${hs} refused the access token (HTTP ${r.status}).`, {
          fix: "Copy the bot account's access token again (Element: Settings > Help & About), " +
            "and set MATRIX_HOMESERVER_URL if the bot is not on matrix.org.",
        });
      }
      const userId = need("user_id");
      if (me.data.user_id !== userId) {
        throw new ChannelCheckError(
          `The access token belongs to ${me.data.user_id}, not ${userId}.`,
          { fix: "Give the bot account's own user id and token." },
        );
      }
      return { id: me.data.user_id, name: me.data.user_id };
    }
    case "teams": {
      const tenant = secrets.get("channel.teams.tenant_id")?.reveal() ?? "botframework.com";
      const url = (o.env.get("TEAMS_AUTH_URL") ??
        "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token")
        .replace("{tenant}", encodeURIComponent(tenant));
      const appId = need("app_id");
      const r = await call(o, "Microsoft Entra ID", url, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({
          grant_type: "client_credentials",
          client_id: appId,
          client_secret: need("app_password"),
          scope: "https://api.botframework.com/.default",
        }).toString(),
      });
      const ok = z.object({ access_token: z.string().min(1) }).safeParse(r.body);
      if (!ok.success) {
        const err = z.object({ error: z.string().max(100) }).safeParse(r.body);
        throw new ChannelCheckError(
          `Microsoft refused the app id and password (${
            err.success ? err.data.error : `HTTP ${r.status}`
          }).`,
          {
            fix: "Copy the Microsoft App ID and a client secret of the Azure Bot's app " +
              "registration; single-tenant bots also need tenant_id.",
          },
        );
      }
      return { id: appId, name: `Teams bot ${appId}` };
    }
    case "whatsapp": {
      const graph = (o.env.get("WHATSAPP_GRAPH_URL") ?? "https://graph.facebook.com").replace(
        /\/+$/,
        "",
      );
      const id = need("phone_number_id");
      const r = await call(
        o,
        "the WhatsApp Graph API",
        `${graph}/v21.0/${encodeURIComponent(id)}?fields=display_phone_number,verified_name`,
        { headers: { Authorization: `Bearer ${need("access_token")}` } },
      );
      const phone = z.object({
        display_phone_number: z.string().optional(),
        verified_name: z.string().optional(),
      }).safeParse(r.body);
      if (r.status !== 200 || !phone.success) {
        throw new ChannelCheckError(
          `WhatsApp refused the access token or phone number id (HTTP ${r.status}).`,
          {
            fix: "Use a system user token with whatsapp_business_messaging and the phone " +
              "number id from WhatsApp > API Setup.",
          },
        );
      }
      return {
        id,
        name: phone.data.verified_name ?? phone.data.display_phone_number ?? `number ${id}`,
      };
    }
  }
}
