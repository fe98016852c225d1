/**
 * The smallest OpenAI-compatible server the setup check needs: `GET /v1/models` behind a key.
 *
 * @module
 */

/** A running fake. */
export interface FakeOpenAI {
  baseUrl: string;
  /** Authorization headers seen, in order. */
  seen: string[];
  close(): Promise<void>;
}

/** Starts a fake accepting only `Bearer <goodKey>`. */
export function fakeOpenAI(goodKey: string): FakeOpenAI {
  const seen: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    const auth = req.headers.get("authorization") ?? "";
    seen.push(auth);
    if (new URL(req.url).pathname !== "/v1/models") {
      return new Response("not found", { status: 404 });
    }
    if (auth !== `Bearer ${goodKey}`) {
      return Response.json({
        error: { message: "Incorrect API key provided", code: "invalid_api_key" },
      }, {
        status: 401,
      });
    }
    return Response.json({ object: "list", data: [{ id: "gpt-4o", object: "model" }] });
  });
  return {
    baseUrl: `http://127.0.0.1:${server.addr.port}/v1`,
    seen,
    close: () => server.shutdown(),
  };
}
