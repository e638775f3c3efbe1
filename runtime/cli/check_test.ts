import assert from "node:assert/strict";
import { join } from "node:path";
import { checkCommand } from "./check.ts";
import type { CliContext } from "./context.ts";

/** The part of the context `check` reads; the rest is never touched. */
function context(home: string, json = false, docker = false) {
  const out: string[] = [];
  const err: string[] = [];
  const ctx = {
    json,
    print: (t: string) => out.push(t),
    printError: (t: string) => err.push(t),
    target: {
      home,
      cacheRoot: join(home, ".cache", "mcp-run"),
      isolation: docker ? "docker" : "deno",
      trust: docker,
    },
  } as unknown as CliContext;
  return { ctx, out, err };
}

async function withFiles(fn: (dir: string, files: Record<string, string>) => Promise<void>) {
  const dir = await Deno.realPath(await Deno.makeTempDir());
  const files: Record<string, string> = {};
  const write = async (name: string, permissions: Record<string, string[]>) => {
    files[name] = join(dir, `${name}.jsonc`);
    await Deno.writeTextFile(
      files[name],
      JSON.stringify({ name, description: "A server", package: "npm:x@1.0.0", permissions }),
    );
  };
  await write("clean", { net: ["api.example.com:443"] });
  await write("private", { net: ["10.0.0.1"], read: ["/"] });
  await write("runner", { run: ["git"] });
  try {
    await fn(dir, files);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("checkCommand() passes a clean manifest and says ok", async () => {
  await withFiles(async (dir, files) => {
    const { ctx, out, err } = context(dir);
    assert.equal(await checkCommand(ctx, { rest: [files.clean], serverArgs: [] }), 0);
    assert.deepEqual(out, [`${files.clean}: ok`]);
    assert.deepEqual(err, []);
  });
});

Deno.test("checkCommand() checks every file, reports each refusal and exits 3", async () => {
  await withFiles(async (dir, files) => {
    const { ctx, out } = context(dir, true);
    const code = await checkCommand(ctx, {
      rest: [files.private, files.clean, files.runner],
      serverArgs: [],
    });
    assert.equal(code, 3);
    const results = JSON.parse(out[0]);
    assert.deepEqual(results.map((r: { ok: boolean }) => r.ok), [false, true, false]);
    assert.deepEqual(
      results[0].problems.map((p: { path: string }) => p.path).sort(),
      ["permissions.net[0]", "permissions.read[0]"],
    );
  });
});

Deno.test("checkCommand() accepts run under trusted docker only", async () => {
  await withFiles(async (dir, files) => {
    const line = { rest: [files.runner], serverArgs: [] };
    assert.equal(await checkCommand(context(dir).ctx, line), 3);
    assert.equal(await checkCommand(context(dir, false, true).ctx, line), 0);
  });
});

Deno.test("checkCommand() reads a bare name as a file here, never as a registry entry", async () => {
  await withFiles(async (dir) => {
    // "fetch" is in the built-in registry; check must not validate that instead.
    await assert.rejects(
      checkCommand(context(dir).ctx, { rest: ["fetch"], serverArgs: [] }),
      (error: unknown) => {
        assert.ok(error instanceof Deno.errors.NotFound);
        assert.equal(
          error.message,
          `Cannot read manifest "${join(Deno.cwd(), "fetch")}": no such file`,
        );
        return true;
      },
    );
  });
});

Deno.test("checkCommand() wants at least one file", async () => {
  await assert.rejects(checkCommand(context("/h").ctx, { rest: [], serverArgs: [] }), {
    name: "UsageError",
  });
});
