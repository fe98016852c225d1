/**
 * The three SIEM wire formats: Datadog logs intake, Splunk HTTP Event Collector, and a generic
 * webhook signed with HMAC-SHA256 over `timestamp.body` (the timestamp defeats replays).
 *
 * Pure functions: the forwarder decides when to send, this file decides what bytes go out.
 *
 * @module
 */
import { hmac } from "@noble/hashes/hmac.js";
import { sha256 } from "@noble/hashes/sha2.js";
import type { SiemDestination } from "../config/schema.ts";
import { credentialNames } from "../vault/types.ts";
import type { Secret } from "../secret.ts";
import type { AuditEvent } from "../audit/chain.ts";
import { requireSecureUrl } from "../net/secure_url.ts";
import { SiemError } from "./errors.ts";

/** Where Datadog logs go when `url` is not set (the US1 site). */
export const DATADOG_DEFAULT_URL = "https://http-intake.logs.datadoghq.com/api/v2/logs";

/** One HTTP request to make. */
export interface SiemRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
}

/** The vault credential a destination's key is read from. */
export function credentialFor(dest: SiemDestination): string {
  if (dest.credential) return dest.credential;
  const what = dest.kind === "datadog"
    ? "api_key"
    : dest.kind === "splunk"
    ? "token"
    : "hmac_secret";
  return credentialNames.siemKey(dest.name, what);
}

/** The endpoint, checked: `https:` anywhere, `http:` only to this machine, no userinfo. */
export function destinationUrl(dest: SiemDestination): URL {
  const raw = dest.url ?? (dest.kind === "datadog" ? DATADOG_DEFAULT_URL : undefined);
  if (!raw) {
    throw new SiemError(`SIEM destination ${dest.name} has no url.`, {
      fix: `Set siem.destinations[].url for ${dest.name} in config.json.`,
    });
  }
  try {
    // The one rule (src/net): audit events name users, tools and arguments, so they never
    // cross a network in clear, and keys never sit in a URL.
    return requireSecureUrl(raw, `SIEM destination ${dest.name}`);
  } catch (e) {
    throw new SiemError((e as Error).message, {
      fix: (e as { fix?: string }).fix ?? "Use an https:// url.",
      cause: e,
    });
  }
}

/** The JSON form of an event sent to every SIEM: the stored fields, seq and hashes included. */
export function wireEvent(e: AuditEvent): Record<string, unknown> {
  return {
    seq: e.seq,
    time: e.time,
    kind: e.kind,
    actor: e.actor,
    session: e.session,
    agent: e.agent,
    channel: e.channel,
    payload: e.payload,
    prevHash: e.prevHash,
    hash: e.hash,
  };
}

/** Options of {@linkcode buildRequest}. */
export interface BuildOptions {
  /** Reported host name. */
  hostname: string;
  /** Now, for the webhook timestamp. */
  now: Date;
}

/** Builds the request carrying `events` (oldest first) to `dest`, authenticated with `key`. */
export function buildRequest(
  dest: SiemDestination,
  events: readonly AuditEvent[],
  key: Secret,
  options: BuildOptions,
): SiemRequest {
  const url = destinationUrl(dest).toString();
  const base = { "content-type": "application/json", "user-agent": "wirken-audit-forwarder" };
  switch (dest.kind) {
    case "datadog":
      return {
        url,
        headers: { ...base, "dd-api-key": key.reveal() },
        body: JSON.stringify(events.map((e) => ({
          ddsource: "wirken",
          service: dest.service,
          hostname: options.hostname,
          ddtags: ["source:wirken", `kind:${e.kind}`, ...dest.tags].join(","),
          message: `${e.kind} by ${e.actor} (seq ${e.seq})`,
          wirken: wireEvent(e),
        }))),
      };
    case "splunk":
      return {
        url,
        headers: { ...base, authorization: `Splunk ${key.reveal()}` },
        // HEC takes several events in one request as concatenated JSON objects.
        body: events.map((e) =>
          JSON.stringify({
            time: Date.parse(e.time) / 1000,
            host: options.hostname,
            source: dest.service,
            sourcetype: "wirken:audit",
            ...(dest.index ? { index: dest.index } : {}),
            event: wireEvent(e),
          })
        ).join("\n"),
      };
    case "webhook": {
      const body = JSON.stringify({
        source: "wirken",
        destination: dest.name,
        events: events.map(wireEvent),
      });
      const timestamp = String(Math.floor(options.now.getTime() / 1000));
      return {
        url,
        headers: {
          ...base,
          "x-wirken-timestamp": timestamp,
          "x-wirken-signature": `v1=${webhookSignature(key, timestamp, body)}`,
          "x-wirken-delivery": `${dest.name}:${events[0]?.seq}-${events[events.length - 1]?.seq}`,
        },
        body,
      };
    }
  }
}

/** Hex HMAC-SHA256 of `timestamp + "." + body` keyed with the destination's secret. */
export function webhookSignature(key: Secret, timestamp: string, body: string): string {
  const enc = new TextEncoder();
  const mac = hmac(sha256, enc.encode(key.reveal()), enc.encode(`${timestamp}.${body}`));
  return [...mac].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Checks a webhook delivery as a receiver should: signature in constant time, timestamp within
 * `toleranceSeconds` of `now`. Exported for receivers written in TypeScript and for tests.
 */
export function verifyWebhook(
  key: Secret,
  headers: Headers,
  body: string,
  now: Date = new Date(),
  toleranceSeconds = 300,
): boolean {
  const ts = headers.get("x-wirken-timestamp") ?? "";
  const sig = headers.get("x-wirken-signature") ?? "";
  if (!/^\d+$/.test(ts) || Math.abs(now.getTime() / 1000 - Number(ts)) > toleranceSeconds) {
    return false;
  }
  const expected = `v1=${webhookSignature(key, ts, body)}`;
  if (expected.length !== sig.length) return false;
  let diff = 0;
  for (let i = 0; i < expected.length; i++) diff |= expected.charCodeAt(i) ^ sig.charCodeAt(i);
  return diff === 0;
}
