import assert from "node:assert/strict";
import { Sealer } from "./_sealed.ts";

Deno.test("Sealer.open() returns what seal() sealed, and nothing altered or foreign", async () => {
  const sealer = new Sealer();
  const sealed = await sealer.seal({ clientId: "c", state: "s" });
  assert.deepEqual(await sealer.open(sealed), { clientId: "c", state: "s" });
  const [payload, mac] = sealed.split(".");
  const altered = btoa(JSON.stringify({ clientId: "evil", state: "s" }))
    .replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
  for (
    const bad of [
      `${altered}.${mac}`,
      `${payload}.${mac.slice(0, -2)}AA`,
      `${payload}.`,
      payload,
      `${payload}.${mac}.x`,
      "",
      await new Sealer().seal({ clientId: "c", state: "s" }), // another process's key
    ]
  ) assert.equal(await sealer.open(bad), undefined, bad);
});
