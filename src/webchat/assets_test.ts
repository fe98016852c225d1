import { assertEquals } from "../../tests/assert.ts";
import { renderAssets } from "./embed.ts";

Deno.test("webchat assets.ts matches client/ (run src/webchat/embed.ts after editing)", async () => {
  const current = await Deno.readTextFile(new URL("./assets.ts", import.meta.url));
  assertEquals(current === await renderAssets(), true, "src/webchat/assets.ts is stale");
});
