import assert from "node:assert/strict";
import { draftName, resolveLearnTarget, scratchArgs, standInArguments } from "./_learn_target.ts";

function registry(docs: Record<string, unknown>): typeof fetch {
  return ((input: URL | string) => {
    const name = decodeURIComponent(new URL(String(input)).pathname.slice(1));
    const doc = docs[name];
    return Promise.resolve(
      doc ? new Response(JSON.stringify(doc)) : new Response("{}", { status: 404 }),
    );
  }) as typeof fetch;
}

const DOCS = {
  "@acme/mcp-thing": {
    "dist-tags": { latest: "2.1.0", next: "3.0.0-rc.1" },
    versions: {
      "2.1.0": { description: "Does things\\nwell", homepage: "https://acme.example" },
      "2.2.0": { description: `${"word ".repeat(39)}abcdefghij klmnop` },
      "2.3.0": { description: "Reads\u202e txt.exe\u2066 files\u001b[2J" },
      "3.0.0-rc.1": {},
      "1.0.0": { homepage: "javascript:alert(1)" },
    },
  },
};

Deno.test("resolveLearnTarget() pins npm names and tags to the exact version", async () => {
  const fetcher = registry(DOCS);
  const cases: [string, string][] = [
    ["npm:@acme/mcp-thing", "npm:@acme/mcp-thing@2.1.0"],
    ["@acme/mcp-thing@latest", "npm:@acme/mcp-thing@2.1.0"],
    ["npm:@acme/mcp-thing@next", "npm:@acme/mcp-thing@3.0.0-rc.1"],
    ["npm:@acme/mcp-thing@1.0.0/bin", "npm:@acme/mcp-thing@1.0.0/bin"],
  ];
  for (const [target, pkg] of cases) {
    const resolved = await resolveLearnTarget(target, "https://registry.example/", fetcher);
    assert.equal(resolved.package, pkg, target);
    assert.equal(resolved.name, "mcp-thing");
  }
  const latest = await resolveLearnTarget("npm:@acme/mcp-thing", undefined, fetcher);
  assert.equal(latest.homepage, "https://acme.example");
  const old = await resolveLearnTarget("npm:@acme/mcp-thing@1.0.0", undefined, fetcher);
  assert.equal(old.homepage, undefined);
});

Deno.test("resolveLearnTarget() says which package or version does not exist", async () => {
  const fetcher = registry(DOCS);
  await assert.rejects(
    () => resolveLearnTarget("npm:nope", undefined, fetcher),
    (e: Error) => e instanceof Deno.errors.NotFound && /has no such package/.test(e.message),
  );
  await assert.rejects(
    () => resolveLearnTarget("npm:@acme/mcp-thing@9.9.9", undefined, fetcher),
    /no such version or tag; the latest is 2\.1\.0/,
  );
  await assert.rejects(() => resolveLearnTarget("jsr:@a/b", undefined, fetcher), TypeError);
  // A module is not a manifest: the error says what to write.
  for (const target of ["./server.ts", "/srv/index.js"]) {
    await assert.rejects(
      () => resolveLearnTarget(target, undefined, fetcher),
      (e: Error) =>
        e instanceof TypeError && /"package": "\.\/(server\.ts|index\.js)"/.test(e.message),
    );
  }
});

Deno.test("resolveLearnTarget() cuts a long description at a word boundary", async () => {
  const long = await resolveLearnTarget("npm:@acme/mcp-thing@2.2.0", undefined, registry(DOCS));
  assert.equal(long.description, `${"word ".repeat(39).trim()}…`);
  const hidden = await resolveLearnTarget("npm:@acme/mcp-thing@2.3.0", undefined, registry(DOCS));
  assert.equal(hidden.description, "Reads txt.exe files [2J");
});

Deno.test("draftName() makes a registry name from a package name", () => {
  assert.equal(draftName("@scope/My_Server.js"), "my-server-js");
  assert.equal(draftName("___"), "server");
  assert.equal(draftName("@hubspot/mcp-server"), "hubspot-mcp-server");
  assert.equal(draftName("@upstash/context7-mcp"), "context7-mcp");
});

Deno.test("scratchArgs() replaces existing paths with parameters and empty stand-ins", async () => {
  const real = Deno.realPathSync(Deno.makeTempDirSync());
  const scratch = Deno.realPathSync(Deno.makeTempDirSync());
  try {
    Deno.mkdirSync(`${real}/a`);
    Deno.mkdirSync(`${real}/b`);
    Deno.writeTextFileSync(`${real}/config.json`, '{"secret": 1}');
    const out = await scratchArgs(
      ["--verbose", `${real}/a`, `${real}/b`, "--config", "config.json", `--root=${real}/a`, "x"],
      scratch,
      real,
    );
    assert.deepEqual(out.args, [
      "--verbose",
      "${dirs}",
      "--config",
      "${config}",
      "--root=${root}",
      "x",
    ]);
    assert.equal(out.parameters.dirs.type, "path[]");
    assert.equal(out.parameters.config.type, "path");
    const file = out.values.config[0];
    assert.ok(file.startsWith(scratch) && file.endsWith("/config.json"));
    // The user's file is never read or copied.
    assert.equal(Deno.readTextFileSync(file), "");
    assert.deepEqual(out.standIns.map(([r]) => r), [
      `${real}/a`,
      `${real}/b`,
      `${real}/config.json`,
      `${real}/a`,
    ]);
    const args = standInArguments(
      { path: `${real}/a/x.txt`, list: [`${real}/b`], n: 1 },
      out.standIns,
    );
    assert.deepEqual(args, {
      path: `${out.values.dirs[0]}/x.txt`,
      list: [out.values.dirs[1]],
      n: 1,
    });
    assert.equal(standInArguments(`${real}/ab`, out.standIns), `${real}/ab`);
    // A path after a switch is positional; after a path-like flag it is that flag's value.
    const stdio = await scratchArgs(["--stdio", `${real}/a`, "--db", "config.json"], scratch, real);
    assert.deepEqual(stdio.args, ["--stdio", "${dir}", "--db", "${db}"]);
  } finally {
    Deno.removeSync(real, { recursive: true });
    Deno.removeSync(scratch, { recursive: true });
  }
});
