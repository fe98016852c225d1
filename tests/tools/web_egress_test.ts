/**
 * web_fetch under an egress allow-list, against a real HTTPS server on loopback: an explicit
 * IP or CIDR entry allows exactly that range (so a server on 127.0.0.1 the user listed is
 * reachable), while a name entry alone never reaches a private address after DNS, and a range
 * that does not contain the address allows nothing.
 */
import { assertEquals, assertStringIncludes } from "../assert.ts";
import { commandAvailable } from "../skip.ts";
import { EgressPolicy } from "../../src/guard/egress.ts";
import { webTools } from "../../src/tools/web.ts";
import type { ToolContext } from "../../src/tools/types.ts";
import { makeTestCerts, recordingServer, tableResolver } from "../guard/helpers.ts";

const hasOpenssl = await commandAvailable("openssl", "apt-get install openssl", ["version"]);

const ctx: ToolContext = {
  agentId: "main",
  sessionId: "s",
  channel: "webchat",
  sender: "u",
  signal: new AbortController().signal,
};

function fetchTool(allow: string[], ca: string) {
  const [, tool] = webTools({
    maxBytes: 10_000,
    timeoutMs: 5_000,
    egress: () => ({
      policy: new EgressPolicy(allow),
      resolve: tableResolver({ "intranet.test": ["127.0.0.1"] }),
      caCerts: [ca],
    }),
  });
  return (url: string) => tool.run(tool.inputSchema.parse({ url }), ctx);
}

Deno.test({
  name: "web_fetch: an explicit IP or CIDR entry allows loopback; a name entry alone never does",
  ignore: !hasOpenssl,
  async fn() {
    const certs = await makeTestCerts("intranet.test");
    const server = recordingServer(() => new Response("internal page"), certs);
    const url = `https://intranet.test:${server.port}/status`;
    try {
      // The name is listed, and so is the address it resolves to: allowed.
      const byIp = await fetchTool(["intranet.test", "127.0.0.1"], certs.ca)(url);
      assertEquals(byIp.isError, false, byIp.content);
      assertStringIncludes(byIp.content, "internal page");
      // A range containing it: allowed.
      const byRange = await fetchTool(["intranet.test", "127.0.0.0/8"], certs.ca)(url);
      assertStringIncludes(byRange.content, "internal page");
      assertEquals(server.requests.length, 2);

      // The name alone: it resolves to loopback, which no entry names. Refused, no request.
      const nameOnly = await fetchTool(["intranet.test"], certs.ca)(url);
      assertEquals(nameOnly.isError, true);
      assertStringIncludes(nameOnly.content, "Refused to connect to intranet.test");
      assertStringIncludes(nameOnly.content, "127.0.0.1");
      // `*` is any public name, never a private address.
      const star = await fetchTool(["*"], certs.ca)(url);
      assertStringIncludes(star.content, "Refused");
      // A range that does not contain the address, or the address on another port.
      const otherRange = await fetchTool(["intranet.test", "10.0.0.0/8"], certs.ca)(url);
      assertStringIncludes(otherRange.content, "Refused");
      const otherPort = await fetchTool(
        ["intranet.test", `127.0.0.1:${server.port + 1}`],
        certs.ca,
      )(url);
      assertStringIncludes(otherPort.content, "Refused");
      assertEquals(server.requests.length, 2, "no refused fetch reached the server");
      // The owner's fix (edit config) is not handed to the model.
      assertEquals(nameOnly.content.includes("config.json"), false);
    } finally {
      await server.close();
    }
  },
});

Deno.test("web_fetch: an IP literal is allowed only by an entry naming it", async () => {
  const server = recordingServer(() => new Response("never"));
  try {
    const url = `https://127.0.0.1:${server.port}/`;
    const refused = await fetchTool(["example.com"], "")(url);
    assertStringIncludes(refused.content, "Refused to connect to 127.0.0.1");
    // Listed: the policy lets the connection through (this plain-HTTP server then fails the TLS
    // handshake, which shows the request was attempted rather than refused).
    const listed = await fetchTool([`127.0.0.1:${server.port}`], "")(url);
    assertEquals(listed.isError, true);
    assertStringIncludes(listed.content, "Could not fetch");
  } finally {
    await server.close();
  }
});
