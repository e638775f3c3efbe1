/**
 * End to end: the registry commands through the CLI, registry sources (a folder, and a URL
 * whose index carries sha256 digests), and the catalogue rules every manifest must follow.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { listManifests, loadManifest } from "../runtime/registry/load.ts";
import { cli, ROOT, tempDir } from "./_helpers.ts";

Deno.test("catalogue: every manifest validates, pins an exact version and has its test", async () => {
  const all = await listManifests();
  assert.ok(all.length >= 20, `only ${all.length} manifests`);
  const tests = await Promise.all(
    [
      "tests/registry_servers_test.ts",
      "tests/catalogue_api_test.ts",
      "tests/catalogue_local_test.ts",
      "tests/catalogue_pypi_test.ts",
      "tests/catalogue_oci_test.ts",
    ].map((f) => Deno.readTextFile(join(ROOT, f))),
  );
  for (const { manifest } of all) {
    assert.match(
      manifest.package,
      /^(?:(npm|jsr):(@[^/]+\/)?[^@/]+@\d+\.\d+\.\d+(\/.*)?|pypi:[A-Za-z0-9._-]+@[0-9][0-9A-Za-z.+!-]*(\/.*)?|oci:[^@]+@sha256:[0-9a-f]{64})$/,
    );
    assert.ok(
      tests.some((t) => t.includes(`"${manifest.name}"`) || t.includes(`${manifest.name}:`)),
      `manifest "${manifest.name}" has no end-to-end test`,
    );
  }
  const check = await cli(["check", ...all.map((l) => l.file)]);
  assert.equal(check.code, 0, check.stderr);
});

Deno.test("mcp-run search and show describe entries in plain words", async () => {
  const search = await cli(["search", "sql", "--format", "json"]);
  assert.equal(search.code, 0, search.stderr);
  const names = JSON.parse(search.stdout).map((e: { name: string }) => e.name);
  assert.deepEqual(names.sort(), ["dbhub", "postgres"]);
  const none = await cli(["search", "no-such-thing-anywhere"]);
  assert.equal(none.code, 1);
  assert.match(none.stderr, /No server matches/);

  const show = await cli(["show", "github"]);
  assert.equal(show.code, 0, show.stderr);
  assert.match(show.stdout, /Reaches: api\.github\.com/);
  assert.match(show.stdout, /Receives secrets: GITHUB_PERSONAL_ACCESS_TOKEN/);
  assert.match(show.stdout, /Reads no files/);
  const json = JSON.parse((await cli(["show", "time", "--format", "json"])).stdout);
  assert.deepEqual(json.label, ["Reads no files", "Writes no files", "No network access"]);
});

Deno.test("mcp-run diff reports widening in words and exits 1", async () => {
  const dir = tempDir();
  const v1 = join(dir, "v1.jsonc");
  const v2 = join(dir, "v2.jsonc");
  const base = {
    name: "weather",
    description: "Weather",
    permissions: { net: ["api.weather.example"] },
  };
  await Deno.writeTextFile(v1, JSON.stringify({ ...base, package: "npm:weather-mcp@1.0.0" }));
  await Deno.writeTextFile(
    v2,
    JSON.stringify({
      ...base,
      package: "npm:weather-mcp@2.0.0",
      permissions: { net: ["api.weather.example", "collect.tracker.example"] },
    }),
  );
  const wider = await cli(["diff", v1, v2]);
  assert.equal(wider.code, 1);
  assert.match(wider.stdout, /\+ may now reach collect\.tracker\.example/);
  const narrower = await cli(["diff", v2, v1, "--format", "json"]);
  assert.equal(narrower.code, 0);
  assert.equal(JSON.parse(narrower.stdout).widens, false);
});

Deno.test("mcp-run pull refuses a new version that widens access until --yes", async () => {
  const dir = tempDir();
  const cache = join(dir, "cache");
  const entry = join(dir, "server.ts");
  await Deno.writeTextFile(entry, "console.log('never runs during pull');\n");
  const file = join(dir, "local.jsonc");
  const write = (net: string[]) =>
    Deno.writeTextFile(
      file,
      JSON.stringify({
        name: "local",
        description: "d",
        package: "./server.ts",
        permissions: { net },
      }),
    );
  await write(["api.one.example"]);
  const first = await cli(["pull", file, "--cache", cache]);
  assert.equal(first.code, 0, first.stderr);
  await write(["api.one.example", "api.two.example"]);
  const refused = await cli(["pull", file, "--cache", cache]);
  assert.equal(refused.code, 3);
  assert.match(refused.stderr, /asks for more access[\s\S]*\+ may now reach api\.two\.example/);
  assert.match(refused.stderr, /--yes/);
  const accepted = await cli(["pull", file, "--cache", cache, "--yes"]);
  assert.equal(accepted.code, 0, accepted.stderr);
  // Narrowing needs no confirmation.
  await write([]);
  const narrowed = await cli(["pull", file, "--cache", cache]);
  assert.equal(narrowed.code, 0, narrowed.stderr);
  assert.match(narrowed.stderr, /- no longer reaches api\.one\.example/);
});

Deno.test("mcp-run export and import round-trip; a bare server.json imports as a draft", async () => {
  const dir = tempDir();
  const exported = await cli(["export", "notion"]);
  assert.equal(exported.code, 0, exported.stderr);
  const serverJson = join(dir, "server.json");
  await Deno.writeTextFile(serverJson, exported.stdout);
  const back = await cli(["import", serverJson]);
  assert.equal(back.code, 0, back.stderr);
  const manifestFile = join(dir, "notion.jsonc");
  await Deno.writeTextFile(manifestFile, back.stdout);
  assert.equal((await cli(["check", manifestFile])).code, 0);
  assert.equal(
    (await cli(["diff", "notion", manifestFile])).stdout.trim().split("\n")[1].trim(),
    "No change in what it may touch",
  );

  const bare = JSON.parse(exported.stdout);
  delete bare._meta;
  await Deno.writeTextFile(serverJson, JSON.stringify(bare));
  const draft = await cli(["import", serverJson]);
  assert.equal(draft.code, 3);
  assert.match(draft.stderr, /says nothing about permissions/);
  const draftFile = join(dir, "draft.jsonc");
  await Deno.writeTextFile(draftFile, draft.stdout);
  const check = await cli(["check", draftFile]);
  assert.equal(check.code, 3, "a draft must not validate");
});

Deno.test("registry sources: a folder, and a URL whose index digests are checked", async () => {
  const dir = tempDir();
  const site = join(dir, "site");
  await Deno.mkdir(site);
  const entry = JSON.stringify(
    {
      name: "acme-notes",
      description: "Notes from the ACME intranet",
      package: "npm:acme-notes-mcp@1.0.0",
      permissions: { net: ["notes.acme.example"] },
    },
    null,
    2,
  );
  await Deno.writeTextFile(join(site, "acme-notes.jsonc"), entry);
  // A folder source.
  const fromFolder = await cli(["show", "acme-notes", "--registry", site]);
  assert.equal(fromFolder.code, 0, fromFolder.stderr);
  assert.match(fromFolder.stdout, /Reaches: notes\.acme\.example/);

  const index = await cli(["index", site]);
  assert.equal(index.code, 0, index.stderr);
  await Deno.writeTextFile(join(site, "index.json"), index.stdout);
  let served = entry;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    const path = new URL(req.url).pathname;
    if (path === "/reg/index.json") return new Response(index.stdout);
    if (path === "/reg/acme-notes.jsonc") return new Response(served);
    return new Response("not found", { status: 404 });
  });
  const url = `http://127.0.0.1:${server.addr.port}/reg/`;
  try {
    const listed = await cli(["list", "--registry", url, "--format", "json"]);
    assert.equal(listed.code, 0, listed.stderr);
    assert.ok(listed.stdout.includes('"acme-notes"'));
    const ok = await cli(["show", "acme-notes", "--registry", url]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /notes\.acme\.example/);
    // The server now hands out a widened manifest: its digest no longer matches the index.
    served = entry.replace('"notes.acme.example"', '"notes.acme.example", "exfil.example"');
    const tampered = await cli(["show", "acme-notes", "--registry", url]);
    assert.equal(tampered.code, 1);
    assert.match(tampered.stderr, /does not match|the registry index says/);
    assert.doesNotMatch(tampered.stdout, /exfil/);
  } finally {
    await server.shutdown();
  }
});

Deno.test("mcp-run check and run name a folder passed as a manifest, exit 3", async () => {
  for (const args of [["check", "manifests/"], ["check", "manifests"], ["run", "manifests/"]]) {
    const r = await cli(args, { cwd: ROOT });
    assert.equal(r.code, 3, `${args.join(" ")}: ${r.stderr}`);
    assert.ok(r.stderr.includes(`Invalid "${join(ROOT, "manifests")}"`), r.stderr);
    assert.match(
      r.stderr,
      /is a folder, not a manifest file: give the path of a manifest file, such as "[^"]+\.jsonc"/,
    );
    assert.doesNotMatch(r.stderr, /os error|\n\s+at /);
  }
  // Positive control: a file in that folder checks.
  const ok = await cli(["check", "manifests/time.jsonc"], { cwd: ROOT });
  assert.equal(ok.code, 0, ok.stderr);
});

Deno.test("mcp-run list --registry refuses a folder that does not exist, exit 2", async () => {
  const dir = tempDir();
  const missing = join(dir, "nonexistent");
  for (const command of [["list"], ["search", "time"], ["show", "time"]]) {
    const r = await cli([...command, "--registry", missing]);
    assert.equal(r.code, 2, r.stderr);
    assert.ok(
      r.stderr.includes(
        `--registry: Cannot use the registry folder "${missing}": it does not exist`,
      ),
      r.stderr,
    );
    assert.equal(r.stdout, "");
  }
  const file = join(dir, "file.jsonc");
  await Deno.writeTextFile(file, "{}");
  const notFolder = await cli(["list", "--registry", file]);
  assert.equal(notFolder.code, 2);
  assert.match(notFolder.stderr, /is a file, not a folder/);
  // Positive control: an existing (empty) folder is a registry source.
  const empty = await cli(["list", "--registry", dir, "--format", "json"]);
  assert.equal(empty.code, 0, empty.stderr);
});

Deno.test("mcp-run check accepts a byte order mark and reports duplicate keys and deep nesting", async () => {
  const dir = tempDir();
  const text = JSON.stringify({ name: "bom", description: "d", package: "npm:x@1.0.0" }, null, 2);
  const bom = join(dir, "bom.jsonc");
  await Deno.writeTextFile(bom, "\uFEFF" + text);
  const accepted = await cli(["check", bom]);
  assert.equal(accepted.code, 0, accepted.stderr);

  const dup = join(dir, "dup.jsonc");
  await Deno.writeTextFile(dup, text.replace('"description"', '"name": "again",\n  "description"'));
  const duplicate = await cli(["check", dup]);
  assert.equal(duplicate.code, 3);
  assert.ok(
    duplicate.stderr.includes(`${dup}:3:3 name: duplicate key: "name" is also at line 2, column 3`),
    duplicate.stderr,
  );

  const deep = join(dir, "deep.jsonc");
  await Deno.writeTextFile(deep, "[".repeat(5000) + "]".repeat(5000));
  const nested = await cli(["check", deep, bom, "--format", "json"]);
  assert.equal(nested.code, 3);
  assert.doesNotMatch(nested.stderr, /call stack/);
  const results = JSON.parse(nested.stdout);
  assert.deepEqual(results.map((r: { ok: boolean }) => r.ok), [false, true]);
  assert.match(results[0].problems[0].message, /nested more than \d+ levels deep/);
});

Deno.test("mcp-run list --registry skips a bad file, saying which and why, and lists the rest", async () => {
  const dir = tempDir();
  const good = { description: "A fine server", package: "npm:x@1.0.0" };
  await Deno.writeTextFile(
    join(dir, "good-one.jsonc"),
    JSON.stringify({ name: "good-one", ...good }),
  );
  await Deno.writeTextFile(join(dir, "deep.jsonc"), "[".repeat(5000) + "]".repeat(5000));
  await Deno.writeTextFile(join(dir, "broken.jsonc"), "{ not json");
  for (const command of [["list"], ["search", "fine"]]) {
    const r = await cli([...command, "--registry", dir, "--format", "json"]);
    assert.equal(r.code, 0, r.stderr);
    const names = JSON.parse(r.stdout).map((e: { name: string }) => e.name);
    assert.ok(names.includes("good-one"), r.stdout);
    if (command[0] === "list") assert.ok(names.includes("time"), "built-in entries still listed");
    assert.ok(
      r.stderr.includes(`Skipped registry entry "deep": Invalid "${join(dir, "deep.jsonc")}"`),
      r.stderr,
    );
    assert.match(r.stderr, /nested more than \d+ levels deep/);
    assert.ok(
      r.stderr.includes(`Skipped registry entry "broken": Invalid "${join(dir, "broken.jsonc")}"`),
    );
    assert.doesNotMatch(r.stderr, /call stack/);
  }
  // show still refuses the bad entry itself, exit 3.
  const show = await cli(["show", "deep", "--registry", dir]);
  assert.equal(show.code, 3, show.stderr);
});

Deno.test("manifests/index.json indexes the built-in registry, so a published mcp-run finds servers by name", async () => {
  // Published on JSR, the built-in registry is a URL source: names are found through its index.
  const index = await cli(["index", join(ROOT, "manifests")]);
  assert.equal(index.code, 0, index.stderr);
  const shipped = await Deno.readTextFile(join(ROOT, "manifests", "index.json"));
  assert.deepEqual(
    JSON.parse(shipped),
    JSON.parse(index.stdout),
    "manifests/index.json is out of date: run ./mcp-run index manifests > manifests/index.json",
  );
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const name = new URL(req.url).pathname.replace(/^\/manifests\//, "");
    if (!/^[a-z0-9.-]+\.jsonc?$/.test(name)) return new Response("not found", { status: 404 });
    try {
      return new Response(await Deno.readFile(join(ROOT, "manifests", name)));
    } catch {
      return new Response("not found", { status: 404 });
    }
  });
  const url = `http://127.0.0.1:${server.addr.port}/manifests/`;
  try {
    const remote = await listManifests({ sources: [url] });
    const local = await listManifests();
    assert.deepEqual(remote.map((m) => m.manifest), local.map((m) => m.manifest));
    const memory = await loadManifest("memory", { sources: [url] });
    assert.equal(memory.file, `${url}memory.jsonc`);
  } finally {
    await server.shutdown();
  }
});
