import assert from "node:assert/strict";
import { join } from "node:path";

/** Every non-test module below runtime/, with its text. */
function modules(dir: string): [string, string][] {
  const out: [string, string][] = [];
  for (const entry of Deno.readDirSync(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory) out.push(...modules(path));
    else if (entry.name.endsWith(".ts") && !entry.name.endsWith("_test.ts")) {
      out.push([path, Deno.readTextFileSync(path)]);
    }
  }
  return out;
}

Deno.test("every onUse() import names its module's type, so deno cache fetches the module", () => {
  const runtime = new URL(".", import.meta.url).pathname;
  let uses = 0;
  for (const [path, text] of modules(runtime)) {
    for (const m of text.matchAll(/import\(onUse\("([^"]+)", import\.meta\.url\)\)/g)) {
      uses++;
      assert.ok(
        text.includes(`typeof import("${m[1]}")`),
        `${path}: onUse("${m[1]}") without typeof import("${m[1]}")`,
      );
    }
  }
  assert.ok(uses >= 8, `only ${uses} uses found`);
});
