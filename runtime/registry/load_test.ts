import assert from "node:assert/strict";
import { join } from "node:path";
import { ManifestError } from "../policy/manifest.ts";
import {
  buildRegistryIndex,
  checkRegistrySource,
  listManifestNames,
  listManifests,
  loadManifest,
  type SkippedManifest,
} from "./load.ts";

function entry(name: string): string {
  return JSON.stringify({ name, description: `The ${name} server`, package: "npm:x@1.0.0" });
}

/** A registry folder with two good entries and three bad ones. */
function registryFolder(): string {
  const dir = Deno.realPathSync(Deno.makeTempDirSync({ prefix: "mcp-run-registry-" }));
  Deno.writeTextFileSync(join(dir, "alpha.jsonc"), entry("alpha"));
  Deno.writeTextFileSync(join(dir, "omega.jsonc"), "\uFEFF" + entry("omega"));
  Deno.writeTextFileSync(join(dir, "deep.jsonc"), "[".repeat(5000) + "]".repeat(5000));
  Deno.writeTextFileSync(join(dir, "dup.jsonc"), entry("dup").replace("{", '{"name": "x",'));
  Deno.writeTextFileSync(join(dir, "broken.jsonc"), "{");
  return dir;
}

Deno.test("loadManifest() names a folder passed as a manifest and suggests a file in it", async () => {
  const dir = registryFolder();
  try {
    for (const path of [dir, `${dir}/`]) {
      await assert.rejects(
        () => loadManifest(path),
        (error: Error) => {
          assert.ok(error instanceof ManifestError, String(error));
          assert.equal(error.file, dir);
          assert.match(error.message, /is a folder, not a manifest file/);
          assert.ok(error.message.includes(`such as "${join(dir, "alpha.jsonc")}"`), error.message);
          assert.doesNotMatch(error.message, /os error/);
          return true;
        },
      );
    }
    // Positive control: a file in the same folder loads.
    assert.equal((await loadManifest(join(dir, "alpha.jsonc"))).manifest.name, "alpha");
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("listManifests() skips an entry it cannot load, saying which file and why", async () => {
  const dir = registryFolder();
  try {
    const skipped: SkippedManifest[] = [];
    const listed = await listManifests({ sources: [dir], onSkip: (s) => skipped.push(s) });
    assert.deepEqual(listed.map((l) => l.manifest.name), ["alpha", "omega"]);
    assert.deepEqual(skipped.map((s) => s.name), ["broken", "deep", "dup"]);
    for (const { name, error } of skipped) {
      assert.ok(error instanceof ManifestError, name);
      assert.equal(error.file, join(dir, `${name}.jsonc`));
    }
    assert.match(skipped[1].error.message, /nested more than \d+ levels deep/);
    assert.match(skipped[2].error.message, /duplicate key: "name"/);
    // Without onSkip, the first bad entry throws, naming its file.
    await assert.rejects(
      () => listManifests({ sources: [dir] }),
      (error: Error) => error instanceof ManifestError && error.file === join(dir, "broken.jsonc"),
    );
    // index refuses to vouch for a folder with a bad entry, naming it.
    await assert.rejects(() => buildRegistryIndex(dir), ManifestError);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("checkRegistrySource() refuses a missing folder or a file, naming it", async () => {
  const dir = Deno.realPathSync(Deno.makeTempDirSync());
  try {
    const missing = join(dir, "nonexistent");
    await assert.rejects(
      () => checkRegistrySource(missing),
      (error: Error) =>
        error instanceof Deno.errors.NotFound &&
        error.message.includes(`"${missing}": it does not exist`) &&
        /give a folder of <name>\.jsonc manifests/.test(error.message),
    );
    Deno.writeTextFileSync(join(dir, "file.jsonc"), entry("file"));
    await assert.rejects(
      () => checkRegistrySource(join(dir, "file.jsonc")),
      (error: Error) => error instanceof TypeError && /is a file, not a folder/.test(error.message),
    );
    await assert.rejects(() => checkRegistrySource("ftp://example.com/x/"), TypeError);
    // Positive controls: a folder and an http(s) URL are fine.
    await checkRegistrySource(dir);
    await checkRegistrySource("https://registry.example/manifests/");
    // Listing through a missing folder fails the same way instead of listing nothing from it.
    await assert.rejects(() => listManifestNames({ sources: [missing] }), Deno.errors.NotFound);
    await assert.rejects(() => buildRegistryIndex(missing), Deno.errors.NotFound);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("listManifestNames() reads a folder whose path needs escaping in a URL", async () => {
  const dir = Deno.realPathSync(Deno.makeTempDirSync({ prefix: "mcp-run reg #1 %20-" }));
  try {
    Deno.writeTextFileSync(join(dir, "alpha.jsonc"), entry("alpha"));
    assert.deepEqual(await listManifestNames({ sources: [dir] }), ["alpha"]);
    assert.equal((await loadManifest("alpha", { sources: [dir] })).file, join(dir, "alpha.jsonc"));
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("listManifestNames() names a registry URL it cannot reach", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const url = `http://127.0.0.1:${listener.addr.port}/reg/`;
  listener.close(); // nothing listens there any more
  await assert.rejects(
    () => listManifestNames({ sources: [url] }),
    (error: Error) =>
      error.message.startsWith(`Cannot read ${url}index.json: `) &&
      /check the registry URL and that it is reachable/.test(error.message),
  );
});

Deno.test("listManifests() reads a registry URL's index once for every entry", async () => {
  const manifests: Record<string, string> = { alpha: entry("alpha"), beta: entry("beta") };
  const sha = async (text: string) =>
    Array.from(
      new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text))),
      (b) => b.toString(16).padStart(2, "0"),
    ).join("");
  const index = JSON.stringify({
    servers: await Promise.all(
      Object.entries(manifests).map(async ([name, text]) => ({ name, sha256: await sha(text) })),
    ),
  });
  const requests: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (request) => {
    const path = new URL(request.url).pathname;
    requests.push(path);
    if (path === "/reg/index.json") return new Response(index);
    const name = /^\/reg\/([a-z]+)\.jsonc$/.exec(path)?.[1];
    return name && manifests[name]
      ? new Response(manifests[name])
      : new Response("", { status: 404 });
  });
  try {
    const url = `http://127.0.0.1:${server.addr.port}/reg/`;
    const loaded = await listManifests({ sources: [url] });
    assert.deepEqual(loaded.map((l) => l.manifest.name), ["alpha", "beta"]);
    assert.deepEqual(requests.filter((p) => p.endsWith("index.json")), ["/reg/index.json"]);
    // Positive control: each loadManifest() call reads the index afresh.
    await loadManifest("alpha", { sources: [url] });
    assert.equal(requests.filter((p) => p.endsWith("index.json")).length, 2);
  } finally {
    await server.shutdown();
  }
});

Deno.test("a registry entry whose name is not its file name is refused by name and skipped by list", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const entry = (name: string) =>
      JSON.stringify({ name, description: "d", package: "npm:x@1.0.0" });
    await Deno.writeTextFile(join(dir, "memory-wide.jsonc"), entry("memory"));
    await Deno.writeTextFile(join(dir, "plain.jsonc"), entry("plain")); // positive control
    await assert.rejects(
      () => loadManifest("memory-wide", { sources: [dir] }),
      (e: unknown) =>
        e instanceof ManifestError &&
        e.message.includes('"memory" is not this registry entry\'s name') &&
        e.message.includes("memory-wide.jsonc"),
    );
    assert.equal((await loadManifest("plain", { sources: [dir] })).manifest.name, "plain");
    const skipped: string[] = [];
    const listed = await listManifests({
      sources: [dir],
      onSkip: ({ name }) => skipped.push(name),
    });
    assert.deepEqual(skipped, ["memory-wide"]);
    assert.deepEqual(listed.map((l) => l.manifest.name), ["plain"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
