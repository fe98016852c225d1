/** The ollama wire-format fixture: scripted streams and request checks. */
import { assertEquals } from "../assert.ts";
import { createOllamaProvider } from "../../src/providers/ollama.ts";
import { cutAt, type Scripted } from "./fake_server.ts";
import { type Fixture } from "./harness.ts";
const nd = (...lines: unknown[]) => lines.map((l) => JSON.stringify(l) + "\n");
const msg = (content: string, tool_calls?: unknown[]) => ({
  model: "llama3.2",
  created_at: "2026-01-01T00:00:00Z",
  message: { role: "assistant", content, ...(tool_calls ? { tool_calls } : {}) },
  done: false,
});
const fin = {
  model: "llama3.2",
  created_at: "2026-01-01T00:00:01Z",
  message: { role: "assistant", content: "" },
  done: true,
  done_reason: "stop",
  prompt_eval_count: 26,
  eval_count: 10,
};

function textStream(text: string): Scripted {
  return { headers: { "content-type": "application/x-ndjson" }, chunks: nd(msg(text), fin) };
}

export const ollamaFixture: Fixture = {
  name: "ollama",
  model: "llama3.2",
  make: (url, http) => createOllamaProvider({ baseUrl: url, http }),
  textStream,
  rawTextStream: (pieces) => ({
    chunks: [...cutAt(pieces, (t) => nd(msg(t))[0]), ...nd(fin)],
  }),
  cutStream: () => ({ chunks: nd(msg("Hal")) }),
  malformedStream: () => ({ chunks: [...nd(msg("a")), '{"message":{"content":\n'] }),
  toolRounds: () => [
    {
      chunks: nd(
        msg("Check"),
        msg("ing."),
        msg("", [
          { function: { name: "get_weather", arguments: { city: "Paris" } } },
          { function: { name: "get_time", arguments: { tz: "Europe/Paris" } } },
        ]),
        fin,
      ),
    },
    {
      chunks: nd(
        msg("", [{ function: { name: "get_weather", arguments: { city: "Berlin" } } }]),
        fin,
      ),
    },
    textStream("Paris 18°C, Berlin 15°C 🌍 完成"),
  ],
  checkRequest: (req) => {
    assertEquals(req.headers.get("authorization"), null);
    if (req.method === "POST") assertEquals(req.url.pathname, "/api/chat");
  },
};
