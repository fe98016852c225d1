/**
 * Network for sandboxed commands only through the gateway's egress proxy, against a real
 * bubblewrap sandbox and real `curl`: an allowed local host works (plain HTTP forwarded, HTTPS
 * tunnelled with TLS end to end), a host not on the list and the metadata address are refused
 * by the proxy and audited, a direct connection that skips the proxy finds no network, and
 * without a grant there is no network at all. The exec tool wires it per agent.
 */
import { dirname, join } from "node:path";
import type { AuditEventInput, AuditSink } from "../../src/audit/types.ts";
import { EgressPolicy } from "../../src/guard/egress.ts";
import { execNetwork, startSandboxEgress } from "../../src/guard/sandbox_egress.ts";
import { BwrapSandbox } from "../../src/sandbox/bwrap.ts";
import { DEFAULT_LIMITS, type SandboxLimits } from "../../src/sandbox/types.ts";
import { execTool } from "../../src/tools/exec.ts";
import { assert, assertEquals, assertStringIncludes } from "../assert.ts";
import { makeTestCerts, recordingServer, tableResolver } from "../guard/helpers.ts";
import { commandAvailable } from "../skip.ts";
import { announceSkip, type DataDirFixture, dataDirFixture, removeFixture } from "./helpers.ts";

const bwrap = await BwrapSandbox.available();
if (!bwrap) announceSkip("sandbox egress tests", "bwrap is missing or cannot create namespaces");
const curl = bwrap && await commandAvailable("curl", "apt-get install curl");
const openssl = curl && await commandAvailable("openssl", "apt-get install openssl", ["version"]);
const perl = curl && await Deno.stat("/usr/bin/perl").then(() => true, () => false);
if (curl && !perl) announceSkip("sandbox egress tests", "/usr/bin/perl (perl-base) is missing");
const usable = bwrap && curl && perl;

const LIMITS: SandboxLimits = { ...DEFAULT_LIMITS, timeoutMs: 30_000 };

class MemAudit implements AuditSink {
  events: AuditEventInput[] = [];
  append(e: AuditEventInput): Promise<number> {
    this.events.push(structuredClone(e));
    return Promise.resolve(this.events.length);
  }
}

function test(name: string, fn: (f: DataDirFixture) => Promise<void>, needs = usable): void {
  Deno.test({
    name: needs ? `sandbox egress: ${name}` : `sandbox egress: ${name} [SKIPPED]`,
    ignore: !needs,
    sanitizeResources: false,
    sanitizeOps: false,
    fn: async () => {
      const f = await dataDirFixture();
      try {
        await fn(f);
      } finally {
        await removeFixture(f);
      }
    },
  });
}

const CURL = "curl -sS --max-time 10";

test("an allowed host works through the proxy; others and the metadata address are refused and audited", async (f) => {
  const allowed = recordingServer((req) => new Response(`hello ${new URL(req.url).pathname}`));
  const other = recordingServer(() => new Response("must not be reached"));
  const audit = new MemAudit();
  const network = execNetwork({
    policyFor: () => new EgressPolicy([`127.0.0.1:${allowed.port}`, "private.test"]),
    resolve: tableResolver({ "private.test": ["10.0.0.1"], "evil.test": ["127.0.0.1"] }),
    audit,
  });
  const ctx = {
    agentId: "main",
    sessionId: "s1",
    channel: "cli",
    sender: "local",
    signal: new AbortController().signal,
  };
  const lease = await network(ctx);
  const sb = new BwrapSandbox({ workspace: f.workspace });
  const run = async (cmd: string) =>
    await sb.run({ argv: ["sh", "-c", cmd], egress: lease.egress }, LIMITS);
  try {
    const ok = await run(`${CURL} -f ${allowed.origin}/ok`);
    assertEquals(ok.exitCode, 0, ok.stderr);
    assertEquals(ok.stdout, "hello /ok");
    assertEquals(allowed.requests.length, 1);

    // Another port of the same machine is not on the list.
    const port = await run(`${CURL} -f -o /dev/null -w '%{http_code}' ${other.origin}/x`);
    assertEquals(port.stdout, "403");
    const meta = await run(`${CURL} http://169.254.169.254/latest/meta-data/`);
    assertStringIncludes(meta.stdout, "cloud metadata");
    // A name on the list that resolves to a private address is still refused (after DNS).
    const named = await run(
      `${CURL} -f -o /dev/null -w '%{http_code}' http://private.test/`,
    );
    assertEquals(named.stdout, "403");
    const https = await run(`${CURL} https://evil.test:${other.port}/ 2>&1`);
    assert(https.exitCode !== 0, "a CONNECT to a host not on the list fails");
    assertEquals(other.requests.length, 0, "nothing reached the other server");

    // Skipping the proxy: the sandbox has no network of its own.
    const direct = await run(`${CURL} --noproxy '*' ${allowed.origin}/direct`);
    assertEquals(direct.exitCode, 7, direct.stderr);
    const outside = await run(`${CURL} --noproxy '*' http://1.1.1.1/`);
    assert(outside.exitCode !== 0);
    assertEquals(allowed.requests.length, 1, "no direct request arrived");

    // Every refusal is audited with the agent, the session and the reason, never silently.
    const denied = audit.events.filter((e) => e.kind === "tool.denied");
    const reasons = denied.map((e) => `${e.payload?.host}:${e.payload?.reason}`);
    assert(reasons.includes("127.0.0.1:address"), reasons.join());
    assert(reasons.includes("169.254.169.254:address"), reasons.join());
    assert(reasons.includes("private.test:address"), reasons.join());
    assert(reasons.includes("evil.test:not-allowed"), reasons.join());
    for (const e of denied) {
      assertEquals(e.agent, "main");
      assertEquals(e.session, "s1");
      assertEquals(e.payload?.tool, "exec");
      assertEquals(e.payload?.guard, "egress");
    }
  } finally {
    await lease.close();
    await allowed.close();
    await other.close();
  }
});

test("the proxy needs its credentials, and its folder is gone after the run", async (f) => {
  const allowed = recordingServer(() => new Response("hi"));
  const lease = await startSandboxEgress({
    policy: new EgressPolicy([`127.0.0.1:${allowed.port}`]),
  });
  const sb = new BwrapSandbox({ workspace: f.workspace });
  try {
    const r = await sb.run({
      argv: [
        "sh",
        "-c",
        `${CURL} -o /dev/null -w '%{http_code}' --proxy http://127.0.0.1:3128 ${allowed.origin}/`,
      ],
      egress: lease.egress,
    }, LIMITS);
    assertEquals(r.stdout, "407");
    assertEquals(allowed.requests.length, 0);
    // Only the gateway's user reaches the socket's folder, and the sandbox cannot write in it.
    const dir = await Deno.stat(dirname(lease.egress.socket));
    assertEquals(dir.mode! & 0o777, 0o700);
    const write = await sb.run({
      argv: ["sh", "-c", "touch /run/wirken-egress/x"],
      egress: lease.egress,
    }, LIMITS);
    assert(write.exitCode !== 0, "the proxy folder is read-only inside");
  } finally {
    await lease.close();
    await allowed.close();
  }
  const gone = await Deno.stat(lease.egress.socket).then(() => false, () => true);
  assert(gone, "the socket folder is removed");
});

test("HTTPS to an allowed name is tunnelled with TLS verified end to end", async (f) => {
  const certs = await makeTestCerts("secure.test");
  const server = recordingServer(() => new Response("tls through the proxy"), certs);
  await Deno.writeTextFile(join(f.workspace, "ca.pem"), certs.ca);
  const lease = await startSandboxEgress({
    policy: new EgressPolicy([`secure.test:${server.port}`, `127.0.0.1:${server.port}`]),
    resolve: tableResolver({ "secure.test": ["127.0.0.1"] }),
  });
  const sb = new BwrapSandbox({ workspace: f.workspace });
  try {
    const r = await sb.run({
      argv: ["sh", "-c", `${CURL} --cacert ca.pem https://secure.test:${server.port}/`],
      egress: lease.egress,
    }, LIMITS);
    assertEquals(r.exitCode, 0, r.stderr);
    assertEquals(r.stdout, "tls through the proxy");
  } finally {
    await lease.close();
    await server.close();
  }
}, usable && openssl);

test("exec without a network grant has no network, with one it reaches only the list", async (f) => {
  const allowed = recordingServer(() => new Response("from exec"));
  const audit = new MemAudit();
  const sandboxFor = () => Promise.resolve(new BwrapSandbox({ workspace: f.workspace }));
  const ctx = {
    agentId: "research",
    sessionId: "s2",
    channel: "cli",
    sender: "local",
    workspace: f.workspace,
    signal: new AbortController().signal,
  };
  const cmd = { command: `${CURL} -f ${allowed.origin}/` };
  try {
    const off = await execTool({ sandboxFor, limits: LIMITS }).run(cmd, ctx);
    assert(off.isError, off.content);
    assertEquals(allowed.requests.length, 0);
    const on = execTool({
      sandboxFor,
      limits: LIMITS,
      network: execNetwork({
        policyFor: (agent) =>
          new EgressPolicy(agent === "research" ? [`127.0.0.1:${allowed.port}`] : []),
        audit,
      }),
    });
    const r = await on.run(cmd, ctx);
    assert(!r.isError, r.content);
    assertStringIncludes(r.content, "from exec");
    const other = await on.run(cmd, { ...ctx, agentId: "main" });
    assert(other.isError, "another agent's list does not carry over");
    assertEquals(allowed.requests.length, 1);
  } finally {
    await allowed.close();
  }
});
