import assert from "node:assert/strict";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import {
  diffCommand,
  importCommand,
  indexCommand,
  listCommand,
  type RegistryCommandContext,
  searchCommand,
  showCommand,
} from "./registry.ts";

/** A registry folder with two servers and one broken file. */
async function registry(): Promise<string> {
  const dir = await Deno.makeTempDir();
  const write = (name: string, fields: Record<string, unknown>) =>
    Deno.writeTextFile(
      join(dir, `${name}.jsonc`),
      JSON.stringify({ name, description: `The ${name} server`, ...fields }),
    );
  await write("alpha", {
    package: "npm:alpha-server@1.0.0",
    permissions: { net: ["api.alpha.example:443"] },
  });
  await write("beta-long-name", {
    package: "npm:beta-server@2.0.0",
    secrets: { BETA_TOKEN: { description: "Token", required: true } },
    permissions: { read: ["/srv/beta"] },
  });
  await Deno.writeTextFile(join(dir, "broken.jsonc"), "{ not json");
  return dir;
}

function context(dir: string, json = false) {
  const out: string[] = [];
  const err: string[] = [];
  const ctx: RegistryCommandContext = {
    target: { sources: [pathToFileURL(dir + "/")] },
    print: (t) => out.push(t),
    printError: (t) => err.push(t),
    json,
  };
  return { ctx, out, err };
}

async function withRegistry(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await registry();
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("listCommand() lists every loadable entry and names the file it skipped", async () => {
  await withRegistry(async (dir) => {
    const { ctx, out, err } = context(dir);
    assert.equal(await listCommand(ctx), 0);
    assert.equal(out.length, 2);
    assert.ok(out[0].startsWith("alpha           The alpha server\n"), out[0]);
    assert.ok(out[1].startsWith("beta-long-name  The beta-long-name server\n"), out[1]);
    assert.equal(err.length, 1);
    assert.match(err[0], /^Skipped registry entry "broken": /);
  });
});

Deno.test("listCommand() prints JSON entries with a permission summary", async () => {
  await withRegistry(async (dir) => {
    const { ctx, out } = context(dir, true);
    await listCommand(ctx);
    const entries = JSON.parse(out[0]);
    assert.deepEqual(entries.map((e: { name: string }) => e.name), ["alpha", "beta-long-name"]);
    assert.deepEqual(Object.keys(entries[0]), ["name", "description", "package", "permissions"]);
    assert.equal(typeof entries[0].permissions, "string");
  });
});

Deno.test("searchCommand() exits 1 and says so when nothing matches", async () => {
  await withRegistry(async (dir) => {
    const text = context(dir);
    assert.equal(await searchCommand(text.ctx, ["nothing-like-this"]), 1);
    assert.ok(text.err.some((l) => l.startsWith('No server matches "nothing-like-this"')));
    const json = context(dir, true);
    assert.equal(await searchCommand(json.ctx, ["nothing-like-this"]), 1);
    assert.deepEqual(JSON.parse(json.out[0]), [], "JSON output stays parseable");
    const found = context(dir, true);
    assert.equal(await searchCommand(found.ctx, ["alpha"]), 0);
    assert.equal(JSON.parse(found.out[0]).length, 1);
  });
});

Deno.test("showCommand() shows the secrets a server needs and what it may touch", async () => {
  await withRegistry(async (dir) => {
    const { ctx, out } = context(dir);
    assert.equal(await showCommand(ctx, "beta-long-name"), 0);
    assert.match(
      out[0],
      /^beta-long-name — The beta-long-name server\npackage: npm:beta-server@2\.0\.0/,
    );
    assert.match(
      out[0],
      /secrets \(set in the environment\):\n {2}BETA_TOKEN \(required\) {2}Token/,
    );
    assert.match(out[0], /it may:\n {2}.*\/srv\/beta/);
  });
});

Deno.test("showCommand() refuses a name the registry does not have, listing the known ones", async () => {
  await withRegistry(async (dir) => {
    const { ctx } = context(dir);
    await assert.rejects(showCommand(ctx, "gamma"), (error: unknown) => {
      assert.ok(error instanceof Deno.errors.NotFound);
      assert.match(error.message, /No server named "gamma".*alpha/);
      return true;
    });
  });
});

Deno.test("diffCommand() exits 1 only when the new manifest may touch more", async () => {
  await withRegistry(async (dir) => {
    const wider = join(dir, "alpha-wider.json");
    await Deno.writeTextFile(
      wider,
      JSON.stringify({
        name: "alpha",
        description: "The alpha server",
        package: "npm:alpha-server@1.1.0",
        permissions: { net: ["api.alpha.example:443", "evil.example:443"] },
      }),
    );
    const widening = context(dir, true);
    assert.equal(await diffCommand(widening.ctx, "alpha", wider), 1);
    assert.equal(JSON.parse(widening.out[0]).widens, true);
    const narrowing = context(dir);
    assert.equal(await diffCommand(narrowing.ctx, wider, "alpha"), 0);
    assert.match(narrowing.out[0], /^npm:alpha-server@1\.1\.0 -> npm:alpha-server@1\.0\.0:/);
  });
});

Deno.test("importCommand() prints a draft for a server.json without permissions and exits 3", async () => {
  await withRegistry(async (dir) => {
    const file = join(dir, "server.json");
    await Deno.writeTextFile(
      file,
      JSON.stringify({
        name: "io.github.example/thing",
        description: "A thing",
        version: "1.0.0",
        packages: [{ registryType: "npm", identifier: "thing-mcp", version: "1.0.0" }],
      }),
    );
    const { ctx, out, err } = context(dir);
    assert.equal(await importCommand(ctx, file), 3);
    assert.ok(out[0].length > 0);
    assert.match(err[0], /draft/);
    assert.match(err[0], /TODO/);
  });
});

Deno.test("importCommand() refuses a file that is not JSON", async () => {
  await withRegistry(async (dir) => {
    const { ctx } = context(dir);
    await assert.rejects(importCommand(ctx, join(dir, "broken.jsonc")), {
      name: "SyntaxError",
      message: `Cannot import "${join(dir, "broken.jsonc")}": not JSON`,
    });
  });
});

Deno.test("indexCommand() prints a sha256 digest for each manifest of a folder", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const text = JSON.stringify({
      name: "solo",
      description: "Alone",
      package: "npm:solo@1.0.0",
      permissions: {},
    });
    await Deno.writeTextFile(join(dir, "solo.jsonc"), text);
    const { ctx, out } = context(dir);
    assert.equal(await indexCommand(ctx, dir), 0);
    const digest = Array.from(
      new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text))),
      (b) => b.toString(16).padStart(2, "0"),
    ).join("");
    assert.ok(out[0].includes(digest), out[0]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
