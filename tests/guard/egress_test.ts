/**
 * Egress against real loopback servers: every private/loopback/metadata spelling is refused
 * before a connection is made, redirects are re-checked, and allowed hosts work over HTTP and
 * HTTPS (with certificate verification for the real name while connected to the pinned IP).
 */
import { assert, assertEquals, assertRejects, assertStringIncludes } from "../assert.ts";
import { commandAvailable } from "../skip.ts";
import {
  checkEgressHost,
  EgressPolicy,
  EgressRefusedError,
  guardedFetch,
  startEgressProxy,
} from "../../src/guard/egress.ts";
import { fileURLToPath as fromFileUrl } from "node:url";
import { makeTestCerts, recordingServer, tableResolver } from "./helpers.ts";

const hasOpenssl = await commandAvailable("openssl", "apt-get install openssl", ["version"]);

Deno.test("egress: private, loopback and metadata addresses in every spelling are refused", async () => {
  const attacker = recordingServer();
  try {
    // `*` allows any public host; none of these is public.
    const policy = new EgressPolicy(["*"]);
    const port = attacker.port;
    const urls = [
      `http://127.0.0.1:${port}/`,
      `http://10.0.0.1:${port}/`,
      `http://169.254.169.254/latest/meta-data/iam/security-credentials/`,
      `http://0x7f000001:${port}/`,
      `http://2130706433:${port}/`,
      `http://0177.0.0.1:${port}/`,
      `http://127.1:${port}/`,
      `http://[::ffff:127.0.0.1]:${port}/`,
      `http://[::1]:${port}/`,
      `http://[fd00:ec2::254]/`,
      `http://100.100.100.200/`,
      `http://0.0.0.0:${port}/`,
      `http://localhost:${port}/`,
    ];
    const refused: string[] = [];
    for (const url of urls) {
      const e = await assertRejects(
        () => guardedFetch(url, {}, { policy, onRefused: (r) => refused.push(r.host) }),
        EgressRefusedError,
      );
      assert(e.reason === "address", `${url}: ${e.reason} ${e.message}`);
      assertStringIncludes(e.message, "Refused to connect to");
    }
    assertEquals(refused.length, urls.length);
    assertEquals(attacker.requests.length, 0, "nothing reached the server");
  } finally {
    await attacker.close();
  }
});

Deno.test("egress: a name on the allow-list that resolves to loopback is refused", async () => {
  const attacker = recordingServer();
  try {
    const policy = new EgressPolicy(["docs.example.com", "*.example.org"]);
    const resolve = tableResolver({
      "docs.example.com": ["127.0.0.1"],
      "cdn.example.org": ["93.184.216.34", "10.1.2.3"], // one bad answer is enough to refuse
      "meta.example.org": ["::ffff:169.254.169.254"],
    });
    for (
      const [host, address] of [
        ["docs.example.com", "127.0.0.1"],
        ["cdn.example.org", "10.1.2.3"],
        ["meta.example.org", "::ffff:a9fe:a9fe"],
      ]
    ) {
      const e = await assertRejects(
        () => guardedFetch(`http://${host}:${attacker.port}/`, {}, { policy, resolve }),
        EgressRefusedError,
        `Refused to connect to ${host}: it resolves to`,
      );
      assertEquals(e.address, address);
    }
    // The real resolver (hosts file): localhost is loopback too.
    await assertRejects(
      () =>
        guardedFetch(`http://localhost:${attacker.port}/`, {}, {
          policy: new EgressPolicy(["localhost"]),
        }),
      EgressRefusedError,
      "loopback",
    );
    assertEquals(attacker.requests.length, 0);
  } finally {
    await attacker.close();
  }
});

Deno.test("egress: names and addresses not on the list are refused with the reason", async () => {
  const policy = new EgressPolicy(["api.example.com:443", "*.example.org"]);
  const resolve = tableResolver({ "evil.example.net": ["93.184.216.34"] });
  await assertRejects(
    () => guardedFetch("https://evil.example.net/x", {}, { policy, resolve, who: "main" }),
    EgressRefusedError,
    "evil.example.net:443: it is not on the egress allow-list",
  );
  await assertRejects(
    () => guardedFetch("http://api.example.com/", {}, { policy, resolve }),
    EgressRefusedError,
    "api.example.com:80",
  );
  await assertRejects(
    () => guardedFetch("https://example.org/", {}, { policy, resolve }),
    EgressRefusedError,
    "not on the egress allow-list",
  );
  await assertRejects(
    () => guardedFetch("https://93.184.216.34/", {}, { policy, resolve }),
    EgressRefusedError,
    "not on the egress allow-list",
  );
  await assertRejects(
    () => guardedFetch("file:///etc/passwd", {}, { policy, resolve }),
    EgressRefusedError,
    "only http: and https:",
  );
  await assertRejects(
    () => guardedFetch("https://u:p@api.example.com/", {}, { policy, resolve }),
    EgressRefusedError,
    "carries credentials",
  );
});

Deno.test("egress: metadata needs its exact address; a containing range is not enough", async () => {
  const ranged = new EgressPolicy(["169.254.0.0/16"]);
  await assertRejects(
    () => checkEgressHost("169.254.169.254", 80, { policy: ranged }),
    EgressRefusedError,
    "cloud metadata",
  );
  const linkLocal = await checkEgressHost("169.254.10.10", 80, { policy: ranged });
  assertEquals(linkLocal.address, "169.254.10.10");
  const exact = await checkEgressHost("169.254.169.254", 80, {
    policy: new EgressPolicy(["169.254.169.254"]),
  });
  assertEquals(exact.address, "169.254.169.254");
});

Deno.test("egress: an explicitly allowed loopback server works; the connection goes to the checked address", async () => {
  const server = recordingServer((req) => new Response(`hello ${new URL(req.url).pathname}`));
  try {
    // `pinned.test` exists only in this table: if fetch resolved the name again by itself it
    // would fail, so success shows the connection used the checked address.
    const policy = new EgressPolicy([`pinned.test:${server.port}`, "127.0.0.1"]);
    const resolve = tableResolver({ "pinned.test": ["127.0.0.1"] });
    const res = await guardedFetch(`http://pinned.test:${server.port}/page`, {}, {
      policy,
      resolve,
    });
    assertEquals(res.status, 200);
    assertEquals(await res.text(), "hello /page");
    assertEquals(server.requests[0].host, `pinned.test:${server.port}`);
    const direct = await guardedFetch(`${server.origin}/d`, { method: "POST", body: "x=1" }, {
      policy: new EgressPolicy([`127.0.0.1:${server.port}`]),
    });
    assertEquals(await direct.text(), "hello /d");
    assertEquals(server.requests[1].body, "x=1");
  } finally {
    await server.close();
  }
});

Deno.test("egress: every redirect hop is checked; a redirect to a private address is refused", async () => {
  const attacker = recordingServer();
  const redirector = recordingServer((req) => {
    const to = new URL(req.url).searchParams.get("to") ?? "/";
    return new Response(null, { status: 302, headers: { location: to } });
  });
  try {
    const policy = new EgressPolicy([`127.0.0.1:${redirector.port}`]);
    for (
      const to of [
        `http://127.0.0.1:${attacker.port}/steal`,
        "http://10.0.0.1/",
        "http://169.254.169.254/latest/meta-data/",
        `http://[::ffff:127.0.0.1]:${attacker.port}/`,
        `http://localhost:${attacker.port}/`,
      ]
    ) {
      const url = `${redirector.origin}/r?to=${encodeURIComponent(to)}`;
      await assertRejects(() => guardedFetch(url, {}, { policy }), EgressRefusedError);
    }
    assertEquals(attacker.requests.length, 0, "no redirect reached the attacker");
    // Redirect loops end at the hop limit.
    const loop = `${redirector.origin}/r?to=${encodeURIComponent(`${redirector.origin}/r`)}`;
    await assertRejects(
      () => guardedFetch(loop, {}, { policy, maxRedirects: 2 }),
      EgressRefusedError,
      "more than 2 redirects",
    );
  } finally {
    await attacker.close();
    await redirector.close();
  }
});

Deno.test("egress: an allowed redirect is followed; credentials are dropped when it leaves the origin", async () => {
  const target = recordingServer(() => new Response("landed"));
  const redirector = recordingServer(() =>
    new Response(null, { status: 307, headers: { location: `${target.origin}/landing` } })
  );
  try {
    const policy = new EgressPolicy([`127.0.0.1:${redirector.port}`, `127.0.0.1:${target.port}`]);
    const res = await guardedFetch(redirector.origin, {
      method: "POST",
      body: "payload",
      headers: { authorization: "Bearer abc" },
    }, { policy });
    assertEquals(await res.text(), "landed");
    assertEquals(res.url, `${target.origin}/landing`);
    assertEquals(redirector.requests[0].authorization, "Bearer abc");
    assertEquals(target.requests[0].authorization, null);
    assertEquals(target.requests[0].method, "POST");
    assertEquals(target.requests[0].body, "payload");
  } finally {
    await target.close();
    await redirector.close();
  }
});

Deno.test({
  name: "egress: HTTPS to a pinned address keeps SNI and certificate checks for the real name",
  ignore: !hasOpenssl,
  async fn() {
    const certs = await makeTestCerts("secure.test");
    const server = recordingServer(() => new Response("tls ok"), certs);
    try {
      const policy = new EgressPolicy(["secure.test", "other.test", "127.0.0.1"]);
      const resolve = tableResolver({ "secure.test": ["127.0.0.1"], "other.test": ["127.0.0.1"] });
      const res = await guardedFetch(`https://secure.test:${server.port}/x`, {}, {
        policy,
        resolve,
        caCerts: [certs.ca],
      });
      assertEquals(await res.text(), "tls ok");
      // Same address, wrong name: the certificate does not match, so TLS fails.
      await assertRejects(() =>
        guardedFetch(`https://other.test:${server.port}/x`, {}, {
          policy,
          resolve,
          caCerts: [certs.ca],
        }).then((r) => r.text()), Error);
      assertEquals(server.requests.length, 1);
    } finally {
      await server.close();
    }
  },
});

Deno.test({
  name: "egress: the egress proxy tunnels allowed hosts and refuses the rest",
  ignore: !hasOpenssl,
  async fn() {
    const certs = await makeTestCerts("secure.test");
    const server = recordingServer(() => new Response("via proxy"), certs);
    const refused: string[] = [];
    const proxy = startEgressProxy({
      policy: new EgressPolicy([`secure.test:${server.port}`, "127.0.0.1"]),
      resolve: tableResolver({ "secure.test": ["127.0.0.1"] }),
      onRefused: (e) => refused.push(e.host),
    });
    const proxyUrl = new URL(proxy.url);
    const client = Deno.createHttpClient({
      caCerts: [certs.ca],
      proxy: {
        url: `http://127.0.0.1:${proxy.port}`,
        basicAuth: { username: proxyUrl.username, password: proxyUrl.password },
      },
    });
    const stranger = Deno.createHttpClient({
      caCerts: [certs.ca],
      proxy: { url: `http://127.0.0.1:${proxy.port}` },
    });
    try {
      const res = await fetch(`https://secure.test:${server.port}/`, { client });
      assertEquals(await res.text(), "via proxy");
      await assertRejects(() => fetch(`https://evil.test:${server.port}/`, { client }), TypeError);
      assertEquals(refused, ["evil.test"]);
      await assertRejects(
        () => fetch(`https://secure.test:${server.port}/`, { client: stranger }),
        TypeError,
      );
      assertEquals(server.requests.length, 1);
    } finally {
      client.close();
      stranger.close();
      await proxy.close();
      await server.close();
    }
  },
});

Deno.test("egress: the egress proxy forwards plain http to allowed hosts only, body intact", async () => {
  const server = recordingServer((req) => new Response(`got ${req.method}`));
  const refused: string[] = [];
  const proxy = startEgressProxy({
    policy: new EgressPolicy([`127.0.0.1:${server.port}`, "private.test"]),
    resolve: tableResolver({ "private.test": ["10.0.0.1"] }),
    onRefused: (e) => refused.push(`${e.host}:${e.reason}`),
  });
  const client = Deno.createHttpClient({
    proxy: { url: `http://127.0.0.1:${proxy.port}`, basicAuth: proxy.credentials },
  });
  try {
    const body = "x".repeat(20_000);
    const res = await fetch(`${server.origin}/post`, { method: "POST", body, client });
    assertEquals(await res.text(), "got POST");
    assertEquals(server.requests[0].body, body);
    assertEquals(server.requests[0].authorization, null);
    for (
      const url of [
        "http://private.test/",
        "http://169.254.169.254/",
        `http://127.0.0.1:${server.port + 1}/`,
      ]
    ) {
      const r = await fetch(url, { client });
      assertEquals(r.status, 403, url);
      await r.body?.cancel();
    }
    assertEquals(refused, [
      "private.test:address",
      "169.254.169.254:address",
      "127.0.0.1:address",
    ]);
    assertEquals(server.requests.length, 1);
  } finally {
    client.close();
    await proxy.close();
    await server.close();
  }
});

Deno.test("egress: the proxy sends the checked URL's Host, not the client's, and wants its exact credentials", async () => {
  const server = recordingServer();
  const proxy = startEgressProxy({ policy: new EgressPolicy([`127.0.0.1:${server.port}`]) });
  const auth = btoa(`${proxy.credentials.username}:${proxy.credentials.password}`);
  const raw = async (authorization: string) => {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: proxy.port! });
    await conn.write(
      new TextEncoder().encode(
        `GET http://127.0.0.1:${server.port}/x HTTP/1.1\r\nHost: internal-admin.example\r\n` +
          `Proxy-Authorization: ${authorization}\r\n\r\n`,
      ),
    );
    const answer = new TextDecoder().decode(await new Response(conn.readable).arrayBuffer());
    return answer.slice(0, answer.indexOf("\r\n"));
  };
  try {
    assertEquals(await raw(`Basic ${auth}`), "HTTP/1.1 200 OK");
    assertEquals(server.requests.length, 1);
    // Another virtual host on the allowed address is not reachable by naming it.
    assertEquals(server.requests[0].host, `127.0.0.1:${server.port}`);
    // A prefix of the credentials, or the credentials plus a byte, is not the credentials.
    for (const wrong of [`Basic ${auth.slice(0, -1)}`, `Basic ${auth}x`, ""]) {
      assertStringIncludes(await raw(wrong), "407");
    }
    assertEquals(server.requests.length, 1);
  } finally {
    await proxy.close();
    await server.close();
  }
});

Deno.test("egress: the config allow-list is global plus the agent's own; bad entries are named", async () => {
  const { ConfigSchema } = await import("../../src/config/schema.ts");
  const { egressPolicyFor, EgressConfigError } = await import("../../src/guard/egress.ts");
  const config = ConfigSchema.parse({
    egress: { allow: ["api.example.com"] },
    agents: [{ id: "default" }, { id: "research", egress: { allow: ["*.wikipedia.org"] } }],
  });
  assertEquals(config.egress.allow, ["api.example.com"]);
  const research = egressPolicyFor(config, "research");
  assert(research.allowsName("en.wikipedia.org", 443));
  assert(research.allowsName("api.example.com", 443));
  assert(!egressPolicyFor(config, "default").allowsName("en.wikipedia.org", 443));
  assertEquals(ConfigSchema.parse({}).egress.allow, [], "nothing is allowed by default");
  const e = (() => {
    try {
      egressPolicyFor({ egress: { allow: ["exa mple.com"] } }, "x");
    } catch (err) {
      return err;
    }
  })();
  assert(e instanceof EgressConfigError);
  assertStringIncludes(e.message, '"exa mple.com"');
});

const hasIPv6 = (() => {
  try {
    Deno.listen({ hostname: "::1", port: 0 }).close();
    return true;
  } catch {
    return false;
  }
})();

Deno.test({
  name: "egress: IPv6 literals and names resolving to IPv6 connect to the pinned address",
  ignore: !hasIPv6,
  async fn() {
    const s = Deno.serve({ hostname: "::1", port: 0, onListen() {} }, () => new Response("v6"));
    try {
      const port = s.addr.port;
      const direct = await guardedFetch(`http://[::1]:${port}/`, {}, {
        policy: new EgressPolicy([`[::1]:${port}`]),
      });
      assertEquals(await direct.text(), "v6");
      const named = await guardedFetch(`http://six.test:${port}/`, {}, {
        policy: new EgressPolicy(["six.test", "::1"]),
        resolve: tableResolver({ "six.test": ["::1"] }),
      });
      assertEquals(await named.text(), "v6");
      await assertRejects(
        () =>
          guardedFetch(`http://six.test:${port}/`, {}, {
            policy: new EgressPolicy(["six.test"]),
            resolve: tableResolver({ "six.test": ["::1"] }),
          }),
        EgressRefusedError,
        "resolves to ::1, which is a loopback address",
      );
    } finally {
      await s.shutdown();
    }
  },
});

Deno.test("egress: an aborted HTTPS request to an unreachable address ends promptly", async () => {
  const policy = new EgressPolicy(["blackhole.test", "10.255.255.1"]);
  const resolve = tableResolver({ "blackhole.test": ["10.255.255.1"] });
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), 300);
  const t0 = performance.now();
  try {
    await assertRejects(
      () => guardedFetch("https://blackhole.test/", { signal: ac.signal }, { policy, resolve }),
      Error,
    );
  } finally {
    clearTimeout(timer);
  }
  assert(performance.now() - t0 < 5000, "closing the tunnel does not wait for a connect timeout");
});

Deno.test("egress: an abort still ends a streaming body after a garbage collection", async () => {
  // In a child with `--expose-gc`: Deno's own link from the caller's signal to the body is
  // lost in a GC, which hung MCP `close()` under `deno test --coverage`.
  const child = fromFileUrl(new URL("./abort_after_gc_child.ts", import.meta.url));
  const config = fromFileUrl(new URL("../../deno.json", import.meta.url));
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--config", config, "--v8-flags=--expose-gc", child],
    env: { NO_COLOR: "1" },
    stdin: "null",
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  assertEquals(out.code, 0, stderr);
  assertEquals(JSON.parse(new TextDecoder().decode(out.stdout)), {
    read: "rejected AbortError",
    shutdown: "done",
  });
});
