import { assert, assertEquals, assertStringIncludes } from "../../tests/assert.ts";
import { Outbox, sendFileTool } from "./send_file.ts";

Deno.test("send_file queues a workspace file for its own session only; escapes are refused", async () => {
  const ws = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${ws}/a.png`, "png!");
    const outbox = new Outbox();
    const tool = sendFileTool(outbox);
    const ctx = {
      agentId: "default",
      sessionId: "telegram:1:default",
      channel: "telegram",
      sender: "1",
      workspace: ws,
      signal: new AbortController().signal,
    };
    const ok = await tool.run({ path: "a.png" }, ctx);
    assert(!ok.isError, ok.content);
    assertEquals(outbox.take("telegram:2:default"), []);
    const [file] = outbox.take("telegram:1:default");
    assertEquals([file.name, file.mimeType, new TextDecoder().decode(file.data)], [
      "a.png",
      "image/png",
      "png!",
    ]);
    assertEquals(outbox.take("telegram:1:default"), [], "taken once");
    const escape = await tool.run({ path: "../../etc/passwd" }, ctx);
    assert(escape.isError);
    assertStringIncludes(escape.content, "Refused");
    const web = await tool.run({ path: "a.png" }, { ...ctx, channel: "webchat" });
    assert(web.isError);
  } finally {
    await Deno.remove(ws, { recursive: true });
  }
});
