/**
 * The agent loop against all eight providers' wire formats (fake HTTP servers): the same
 * 3-round conversation with parallel calls, real zod tools, audit and permission in the path.
 */
import { z } from "zod";
import { assertEquals } from "../assert.ts";
import { runTurn } from "../../src/agent/loop.ts";
import { Secret } from "../../src/secret.ts";
import {
  createCustomProvider,
  createPrivatemodeProvider,
  createTinfoilProvider,
} from "../../src/providers/compatible.ts";
import { defineTool } from "../../src/tools/types.ts";
import { startFakeServer } from "../providers/fake_server.ts";
import { FAST, FINAL_TEXT, type Fixture, KEY } from "../providers/harness.ts";
import { openaiFixture } from "../providers/openai_fixture.ts";
import { anthropicFixture } from "../providers/anthropic_fixture.ts";
import { geminiFixture } from "../providers/gemini_fixture.ts";
import { ollamaFixture } from "../providers/ollama_fixture.ts";
import { bedrockFixture } from "../providers/bedrock_fixture.ts";
import { RecordingAudit } from "./fakes.ts";

const fixtures: Fixture[] = [
  openaiFixture,
  anthropicFixture,
  geminiFixture,
  bedrockFixture,
  ollamaFixture,
  {
    ...openaiFixture,
    name: "custom",
    make: (u, h) => createCustomProvider({ baseUrl: u + "/v1", apiKey: new Secret(KEY), http: h }),
  },
  {
    ...openaiFixture,
    name: "tinfoil",
    make: (u, h) => createTinfoilProvider({ baseUrl: u + "/v1", apiKey: new Secret(KEY), http: h }),
  },
  {
    ...openaiFixture,
    name: "privatemode",
    make: (u, h) =>
      createPrivatemodeProvider({ baseUrl: u + "/v1", apiKey: new Secret(KEY), http: h }),
  },
];

for (const fx of fixtures) {
  Deno.test({
    name: `agent + ${fx.name}: three rounds, parallel calls, tools run, final answer`,
    sanitizeOps: false,
    sanitizeResources: false,
    fn: async () => {
      const server = startFakeServer((r) => fx.checkRequest(r));
      const ran: string[] = [];
      const tools = [
        defineTool({
          name: "get_weather",
          description: "Weather of a city.",
          tier: 1,
          inputSchema: z.object({ city: z.string() }),
          run: (i) => (ran.push(`weather:${i.city}`), Promise.resolve({ content: "18" })),
        }),
        defineTool({
          name: "get_time",
          description: "Time in a zone.",
          tier: 1,
          inputSchema: z.object({ tz: z.string() }),
          run: (i) => (ran.push(`time:${i.tz}`), Promise.resolve({ content: "12:00" })),
        }),
      ];
      try {
        server.push(...fx.toolRounds());
        const audit = new RecordingAudit();
        const r = await runTurn({
          provider: fx.make(server.url, FAST),
          agent: { id: "default", model: fx.model },
          tools,
          history: [],
          message: "Weather in Paris and Berlin?",
          audit,
          permit: () => Promise.resolve("allow"),
          session: { id: "s", channel: "webchat", sender: "local" },
        });
        assertEquals(ran, ["weather:Paris", "time:Europe/Paris", "weather:Berlin"]);
        assertEquals(r.rounds, 2);
        assertEquals(r.text, "Checking." + FINAL_TEXT);
        assertEquals(server.requests.length, 3);
        assertEquals(audit.events.filter((e) => e.kind === "tool.requested").length, 3);
      } finally {
        await server.close();
      }
    },
  });
}
