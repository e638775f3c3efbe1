import assert from "node:assert/strict";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { checkModuleGraph } from "./module_graph.ts";
import { GrantError } from "../policy/grant_error.ts";
import { serverFixture } from "../policy/_server_fixture.ts";

/** A temporary tree: `<root>/server/` is the server's folder, `<root>/outside.ts` is not. */
async function tree(files: Record<string, string>): Promise<string> {
  const root = await Deno.realPath(await Deno.makeTempDir());
  for (const [path, text] of Object.entries(files)) {
    await Deno.mkdir(join(root, path, ".."), { recursive: true });
    await Deno.writeTextFile(join(root, path), text);
  }
  return root;
}

async function check(root: string, entry = "server/main.ts"): Promise<void> {
  const dir = join(root, "server");
  await checkModuleGraph(
    serverFixture({ specifier: pathToFileURL(join(root, entry)).href, localDir: dir }),
    { deno: Deno.execPath(), env: { DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1" }, cwd: root },
  );
}

Deno.test("checkModuleGraph() accepts a local server that imports only its own files", async () => {
  const root = await tree({
    "server/main.ts": 'import { x } from "./lib/x.ts";\nconsole.log(x);\n',
    "server/lib/x.ts": "export const x = 1;\n",
  });
  try {
    await check(root);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("checkModuleGraph() refuses a static import from outside the server's folder", async () => {
  const root = await tree({
    "server/main.ts": 'import { x } from "./lib/x.ts";\nconsole.log(x);\n',
    "server/lib/x.ts": 'export { y as x } from "../../outside.ts";\n',
    "outside.ts": "export const y = 2;\n",
  });
  try {
    await assert.rejects(check(root), (error: unknown) => {
      assert.ok(error instanceof GrantError);
      assert.equal(error.field, "package");
      assert.ok(error.message.includes(`imports "${join(root, "outside.ts")}"`), error.message);
      assert.ok(error.message.includes(`outside its folder "${join(root, "server")}"`));
      return true;
    });
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("checkModuleGraph() refuses a symlink inside the folder that points outside", async () => {
  const root = await tree({
    "server/main.ts": 'import { y } from "./inner.ts";\nconsole.log(y);\n',
    "outside.ts": "export const y = 2;\n",
  });
  try {
    await Deno.symlink(join(root, "outside.ts"), join(root, "server/inner.ts"));
    await assert.rejects(check(root), GrantError);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("checkModuleGraph() refuses a folder-name prefix that is not the folder", async () => {
  // "/x/server-evil" starts with "/x/server" as text but is not inside it.
  const root = await tree({
    "server/main.ts": 'import { y } from "../server-evil/y.ts";\nconsole.log(y);\n',
    "server-evil/y.ts": "export const y = 3;\n",
  });
  try {
    await assert.rejects(check(root), GrantError);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("checkModuleGraph() says why when deno info fails", async () => {
  const root = await tree({
    "server/main.ts": "export {};\n",
    // Stands in for a Deno that cannot read the graph (deno info itself reports most problems
    // inside its JSON and exits 0).
    "failing-deno": "#!/bin/sh\necho 'error: cannot reach the registry' >&2\nexit 1\n",
  });
  try {
    await Deno.chmod(join(root, "failing-deno"), 0o755);
    const specifier = pathToFileURL(join(root, "server/main.ts")).href;
    await assert.rejects(
      checkModuleGraph(serverFixture({ specifier, localDir: join(root, "server") }), {
        deno: join(root, "failing-deno"),
        env: {},
        cwd: root,
      }),
      (error: unknown) => {
        assert.ok(error instanceof Error && !(error instanceof GrantError));
        assert.equal(
          error.message,
          `Cannot read the module graph of "${specifier}":\nerror: cannot reach the registry`,
        );
        return true;
      },
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("checkModuleGraph() runs nothing for a server that is not local", async () => {
  // A Deno binary that does not exist proves that no process is started.
  await checkModuleGraph(serverFixture({ specifier: "npm:demo@1.0.0" }), {
    deno: "/nonexistent/deno",
    env: {},
    cwd: "/",
  });
});
