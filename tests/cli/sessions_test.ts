import { assert, assertEquals, assertStringIncludes } from "../assert.ts";
import { fakeChat } from "../fakes/openai_chat.ts";
import { tempDataDir, wirken } from "./helpers.ts";

Deno.test("sessions: list, show and clear a conversation made by ask", async () => {
  const model = fakeChat(() => ({ text: "forty-two" }));
  const dataDir = await tempDataDir();
  try {
    const flags = ["--provider", "custom", "--base-url", model.baseUrl, "--model", "m"];
    const asked = await wirken(["ask", ...flags, "what is the answer?"], {
      dataDir,
      env: { WIRKEN_API_KEY: "k" },
    });
    assertEquals(asked.code, 0, asked.stderr);
    const list = await wirken(["sessions", "list", "--json"], { dataDir });
    assertEquals(list.code, 0, list.stderr);
    const sessions = JSON.parse(list.stdout);
    assertEquals(sessions.map((s: { id: string }) => s.id), ["cli:terminal:default"]);
    const show = await wirken(["sessions", "show", "cli:terminal:default"], { dataDir });
    assertStringIncludes(show.stdout, "user: what is the answer?");
    assertStringIncludes(show.stdout, "assistant: forty-two");
    const clear = await wirken(["sessions", "clear", "cli:terminal:default"], { dataDir });
    assertEquals(clear.code, 0);
    const after = JSON.parse((await wirken(["sessions", "list", "--json"], { dataDir })).stdout);
    assertEquals(after, []);
    const missing = await wirken(["sessions", "show", "cli:terminal:default"], { dataDir });
    assertEquals(missing.code, 1);
    assertStringIncludes(missing.stderr, "There is no session cli:terminal:default");
    assert(!missing.stderr.includes("    at "));
  } finally {
    await model.close();
  }
});
