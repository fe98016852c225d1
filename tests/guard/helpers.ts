/**
 * Test helpers for the guard: loopback HTTP(S) servers that record every request, and a test
 * CA with a leaf certificate made by openssl (so no private key is committed).
 *
 * @module
 */

/** A recorded request. */
export interface Recorded {
  method: string;
  url: string;
  host: string | null;
  authorization: string | null;
  body: string;
}

/** A loopback server recording requests; `handler` decides the answer. */
export interface RecordingServer {
  port: number;
  origin: string;
  requests: Recorded[];
  close(): Promise<void>;
}

/** Starts a recording server on 127.0.0.1 (TLS when `tls` is given). */
export function recordingServer(
  handler: (req: Request) => Response | Promise<Response> = () => new Response("ok"),
  tls?: { cert: string; key: string },
): RecordingServer {
  const requests: Recorded[] = [];
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {}, ...(tls ?? {}) },
    async (req) => {
      requests.push({
        method: req.method,
        url: req.url,
        host: req.headers.get("host"),
        authorization: req.headers.get("authorization"),
        body: await req.text(),
      });
      return await handler(req);
    },
  );
  const port = server.addr.port;
  return {
    port,
    origin: `${tls ? "https" : "http"}://127.0.0.1:${port}`,
    requests,
    close: () => server.shutdown(),
  };
}

/** PEM strings of a throwaway CA and a leaf for `name`. */
export interface TestCerts {
  ca: string;
  cert: string;
  key: string;
}

async function openssl(dir: string, args: string[]): Promise<void> {
  const out = await new Deno.Command("openssl", { args, cwd: dir, stdout: "null", stderr: "piped" })
    .output();
  if (!out.success) throw new Error(`openssl ${args[0]}: ${new TextDecoder().decode(out.stderr)}`);
}

/** Makes a CA and a leaf certificate for `name` and any `more` names (needs openssl). */
export async function makeTestCerts(name: string, ...more: string[]): Promise<TestCerts> {
  const dir = await Deno.makeTempDir({ prefix: "wirken-guard-certs-" });
  try {
    const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
    await openssl(dir, [
      "req",
      "-x509",
      ...ec,
      "-keyout",
      "ca.key",
      "-out",
      "ca.pem",
      "-days",
      "2",
      "-subj",
      "/CN=wirken guard test CA",
      "-addext",
      "basicConstraints=critical,CA:TRUE",
      "-addext",
      "keyUsage=critical,keyCertSign",
    ]);
    await openssl(dir, [
      "req",
      ...ec,
      "-keyout",
      "leaf.key",
      "-out",
      "leaf.csr",
      "-subj",
      `/CN=${name}`,
    ]);
    await Deno.writeTextFile(
      `${dir}/ext.cnf`,
      `subjectAltName=${
        [name, ...more].map((n) => `DNS:${n}`).join(",")
      }\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n`,
    );
    await openssl(dir, [
      "x509",
      "-req",
      "-in",
      "leaf.csr",
      "-CA",
      "ca.pem",
      "-CAkey",
      "ca.key",
      "-CAcreateserial",
      "-out",
      "leaf.pem",
      "-days",
      "2",
      "-extfile",
      "ext.cnf",
    ]);
    return {
      ca: await Deno.readTextFile(`${dir}/ca.pem`),
      cert: await Deno.readTextFile(`${dir}/leaf.pem`),
      key: await Deno.readTextFile(`${dir}/leaf.key`),
    };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** A resolver answering from a fixed table (no DNS): unknown names resolve to nothing. */
export function tableResolver(
  table: Record<string, string[]>,
): (name: string) => Promise<string[]> {
  return (name) => Promise.resolve(table[name] ?? []);
}
