/**
 * A fake organisation policy server on loopback, with a real Ed25519 key.
 *
 * @module
 */
import type { Policy } from "../../src/policy/schema.ts";
import { fingerprint, signPolicy } from "../../src/policy/signature.ts";

/** A signing identity for tests. */
export interface OrgKey {
  privateKey: CryptoKey;
  publicRaw: Uint8Array<ArrayBuffer>;
  fingerprint: string;
}

/** A fresh Ed25519 org key. */
export async function newOrgKey(): Promise<OrgKey> {
  const pair = await crypto.subtle.generateKey({ name: "Ed25519" }, true, [
    "sign",
    "verify",
  ]) as CryptoKeyPair;
  const publicRaw = new Uint8Array(await crypto.subtle.exportKey("raw", pair.publicKey));
  return { privateKey: pair.privateKey, publicRaw, fingerprint: await fingerprint(publicRaw) };
}

/** A minimal valid policy. */
export function basePolicy(serial: number, extra: Partial<Policy> = {}): Policy {
  return { version: 1, org: "Example Corp", serial, issuedAt: "2026-11-01T00:00:00Z", ...extra };
}

/** A running fake org server. */
export interface FakeOrgServer {
  /** What the server answers; tests edit it to tamper. */
  state: { body: string; status: number };
  url: string;
  publish(policy: Policy, key: OrgKey): Promise<void>;
  close(): Promise<void>;
}

/** Serves whatever `state` holds. */
export function fakeOrgServer(): FakeOrgServer {
  const state = { body: "", status: 200 };
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () =>
      new Response(state.body, {
        status: state.status,
        headers: { "content-type": "application/json" },
      }),
  );
  return {
    state,
    url: `http://127.0.0.1:${server.addr.port}/policy.json`,
    /** Signs `policy` with `key` and serves it. */
    async publish(policy: Policy, key: OrgKey) {
      state.body = JSON.stringify(await signPolicy(policy, key.privateKey, key.publicRaw));
      state.status = 200;
    },
    close: () => server.shutdown(),
  };
}
