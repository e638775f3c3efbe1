import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { resolveLauncher } from "./launcher_cache.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url)).replace(/\/$/, "");

Deno.test("resolveLauncher() runs the checkout that runs, with its deno.json", async () => {
  const launcher = await resolveLauncher({ cacheRoot: "/c" });
  assert.equal(launcher.module, `${Deno.realPathSync(ROOT)}/runtime/cli.ts`);
  assert.equal(launcher.config, `${Deno.realPathSync(ROOT)}/deno.json`);
  assert.match(launcher.dir, /^\/c\/launcher\/checkout-[0-9a-f]{12}$/);
  assert.equal(launcher.lockFile, `${launcher.dir}/deno.lock`);
  assert.equal(launcher.denoDir, `${launcher.dir}/deno`);
  assert.equal(launcher.manifests, undefined);
  // A checkout folder means its CLI.
  const byFolder = await resolveLauncher({ cacheRoot: "/c", launcher: ROOT });
  assert.equal(byFolder.module, launcher.module);
});

Deno.test("resolveLauncher() pins the running JSR version, from the registry it runs from", async () => {
  const launcher = await resolveLauncher({
    cacheRoot: "/c",
    self: "http://127.0.0.1:4507/@sandboxed/mcp-run/0.2.1/runtime/clients/launcher_cache.ts",
  });
  assert.equal(launcher.module, "jsr:@sandboxed/mcp-run@0.2.1/cli");
  assert.equal(launcher.config, undefined);
  assert.deepEqual(launcher.registries, {
    JSR_URL: "http://127.0.0.1:4507/",
    NPM_CONFIG_REGISTRY: "https://registry.npmjs.org/",
  });
  assert.match(launcher.dir, /^\/c\/launcher\/mcp-run@0\.2\.1-[0-9a-f]{12}$/);
  assert.equal(launcher.manifests, `${launcher.dir}/manifests`);
});

Deno.test("resolveLauncher() refuses unpinned and foreign launchers", async () => {
  for (const launcher of ["jsr:@sandboxed/mcp-run/cli", "jsr:@sandboxed/mcp-run@^0.1.0/cli"]) {
    await assert.rejects(resolveLauncher({ cacheRoot: "/c", launcher }), /pin an exact version/);
  }
  await assert.rejects(
    resolveLauncher({ cacheRoot: "/c", launcher: "https://example.com/cli.ts" }),
    /give a checkout's folder or CLI file/,
  );
  await assert.rejects(
    resolveLauncher({ cacheRoot: "/c", launcher: "/nonexistent/mcp-run" }),
    Deno.errors.NotFound,
  );
});
