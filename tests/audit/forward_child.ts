/**
 * Child process of the forwarding crash test: appends `count` events, then forwards to the
 * webhook at `url` until it is killed.
 *
 * Usage: deno run -A tests/audit/forward_child.ts <audit.db> <url> <count>  (secret in HOOK_SECRET)
 */
import { openAuditLog } from "../../src/audit/log.ts";
import { startSiemForwarder } from "../../src/siem/forwarder.ts";
import { MemoryCredentials } from "./helpers.ts";

const [path, url, count] = Deno.args;
const log = openAuditLog(path);
const credentials = new MemoryCredentials({
  "siem.hook.hmac_secret": Deno.env.get("HOOK_SECRET") ?? "",
});
startSiemForwarder({
  log,
  destinations: [{ name: "hook", kind: "webhook", url, batchSize: 3 }],
  credentials,
  tuning: { baseDelayMs: 5, maxDelayMs: 20, pollMs: 20, lingerMs: 0 },
});
for (let i = 0; i < Number(count); i++) await log.append({ kind: "message.out", actor: `c${i}` });
Deno.stdout.writeSync(new TextEncoder().encode("ready\n"));
await new Promise(() => {}); // forward until killed
