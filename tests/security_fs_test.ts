/**
 * Security proofs, native mode: file access (SECURITY.md invariants 3 and 6). A server reads
 * and writes only inside its grants, whatever path spelling it uses; symlinks leading out of a
 * grant are refused before launch and cannot be made at run time; local modules outside the
 * server's folder are refused before any code runs.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { GrantError, resolveServer } from "../runtime/policy/resolve.ts";
import { cli, ROOT, tempDir, toolEnv } from "./_helpers.ts";
import {
  assertAllowed,
  assertDenied,
  attackerManifest,
  launch,
  type ManifestSpec,
  pullSource,
  removeOnExit,
  writeManifest,
} from "./_security.ts";

const root = removeOnExit(tempDir("mcp-run-sec-fs-"));
const t = removeOnExit(tempDir("mcp-run-sec-fs-tree-"));
const data = join(t, "data");
Deno.mkdirSync(join(data, "sub"), { recursive: true });
Deno.mkdirSync(join(t, "data2"));
Deno.writeTextFileSync(join(data, "inside.txt"), "inside");
Deno.writeTextFileSync(join(t, "secret.txt"), "CANARY-outside");
Deno.writeTextFileSync(join(t, "data2", "secret.txt"), "CANARY-sibling");
Deno.writeTextFileSync(join(t, "secret.json"), JSON.stringify({ secret: "CANARY-json" }));

/** The fixture may read and write one folder, given by the user. */
const withDir: ManifestSpec = {
  parameters: { dir: { type: "path", description: "A folder", required: true } },
  permissions: { read: ["${dir}"], write: ["${dir}"] },
};
const CANARY_ENV = "CANARY_ENV_3b9d";
const toFileUrl = (path: string) => pathToFileURL(path).href;

const outsideReads: [string, string][] = [
  [join(t, "secret.txt"), "CANARY-outside"],
  [`${data}/../secret.txt`, "CANARY-outside"],
  [`${data}/sub/../../secret.txt`, "CANARY-outside"],
  [`${data}/./sub/../../data2/secret.txt`, "CANARY-sibling"],
  [join(t, "data2", "secret.txt"), "CANARY-sibling"],
  ["/proc/self/environ", CANARY_ENV],
];

Deno.test("a sandboxed server reads inside its grant only: absolute, .., sibling prefix, /proc", async () => {
  const source = { [CANARY_ENV]: "1" };
  {
    await using attack = await launch(attackerManifest(withDir), {
      root,
      params: { dir: data },
      source,
    });
    const inside = await attack.call("read", { path: join(data, "inside.txt") });
    assert.equal(assertAllowed(inside.deno, "inside, Deno"), "inside");
    assert.equal(assertAllowed(inside.node, "inside, node:fs"), "inside");
    for (const [path] of outsideReads) {
      const report = await attack.call("read", { path });
      assertDenied(report.deno, `Deno read of ${path}`);
      assertDenied(report.node, `node:fs read of ${path}`);
    }
    const ppid = (await attack.call("pid")).ppid;
    const parent = await attack.call("read", { path: `/proc/${ppid}/environ` });
    assertDenied(parent.deno, "the launcher's environment");
  }
  // Positive control: with no sandbox, every one of those reads returns its canary.
  await using attack = await launch(attackerManifest(withDir), {
    root,
    params: { dir: data },
    source,
    unsandboxed: true,
  });
  for (const [path, canary] of outsideReads) {
    const report = await attack.call("read", { path });
    assert.match(String(assertAllowed(report.deno, path)), new RegExp(canary));
  }
});

Deno.test("resolveServer() refuses a granted folder holding a symlink that leads out; Deno would follow it", async () => {
  const linked = join(t, "linked");
  Deno.mkdirSync(join(linked, "deep"), { recursive: true });
  Deno.symlinkSync(join(t, "secret.txt"), join(linked, "deep", "file-link"));
  Deno.symlinkSync(join(t, "data2"), join(linked, "dir-link"));
  try {
    assert.throws(
      () => resolveServer(attackerManifest(withDir), { params: { dir: linked }, cacheRoot: root }),
      (e: Error) =>
        e instanceof GrantError &&
        /the link ".*-link" leads to ".*", outside every/.test(e.message),
    );
    const cli1 = await cli(["run", writeManifest(t, withDir), "-p", `dir=${linked}`, "--dry-run"]);
    assert.equal(cli1.code, 3, cli1.stderr);
    assert.match(cli1.stderr, /leads to/);

    // Positive control: skip the scan, and the sandboxed server reads both canaries through
    // the links, with only the linking folder granted.
    await using attack = await launch(attackerManifest(withDir), {
      root,
      params: { dir: linked },
      symlinkScanLimit: 0,
    });
    const viaFile = await attack.call("read", { path: join(linked, "deep", "file-link") });
    assert.equal(assertAllowed(viaFile.deno, "read through a file link"), "CANARY-outside");
    const viaDir = await attack.call("read", { path: join(linked, "dir-link", "secret.txt") });
    assert.equal(assertAllowed(viaDir.deno, "read through a folder link"), "CANARY-sibling");
  } finally {
    Deno.removeSync(linked, { recursive: true });
  }
});

Deno.test("a sandboxed server cannot make a link from its grant to a file outside it", async () => {
  const target = join(t, "secret.txt");
  const path = join(data, "escape");
  {
    await using attack = await launch(attackerManifest(withDir), { root, params: { dir: data } });
    const report = await attack.call("link", { target, path });
    assertDenied(report.denoSymlink, "Deno.symlink");
    assertDenied(report.nodeSymlink, "fs.symlinkSync");
    assertDenied(report.denoHardLink, "Deno.link");
  }
  for (const suffix of ["deno", "node", "hard"]) {
    assert.throws(() => Deno.lstatSync(`${path}-${suffix}`), Deno.errors.NotFound, suffix);
  }
  // Positive control: with no sandbox the same calls plant all three links.
  try {
    await using attack = await launch(attackerManifest(withDir), {
      root,
      params: { dir: data },
      unsandboxed: true,
    });
    const report = await attack.call("link", { target, path });
    for (const key of ["denoSymlink", "nodeSymlink", "denoHardLink"]) {
      assertAllowed(report[key], key);
    }
    assert.equal(Deno.readTextFileSync(`${path}-deno`), "CANARY-outside");
  } finally {
    for (const suffix of ["deno", "node", "hard"]) Deno.removeSync(`${path}-${suffix}`);
  }
});

Deno.test("a sandboxed server cannot import() a file outside its grants at run time", async () => {
  const secret = toFileUrl(join(t, "secret.json"));
  const planted = join(data, "planted.ts");
  const plant = `import s from ${JSON.stringify(secret)} with { type: "json" }; export default s;`;
  const cases = [
    { specifier: secret, type: "json" },
    { specifier: toFileUrl(planted) }, // a module it wrote in its own grant, importing the secret
  ];
  try {
    {
      await using attack = await launch(attackerManifest(withDir), {
        root,
        params: { dir: data },
      });
      assertAllowed((await attack.call("write", { path: planted, content: plant })).deno, "plant");
      for (const args of cases) assertDenied(await attack.call("import", args), args.specifier);
    }
    // Positive control: with no sandbox both imports return the canary.
    await using attack = await launch(attackerManifest(withDir), {
      root,
      params: { dir: data },
      unsandboxed: true,
    });
    for (const args of cases) {
      const value = assertAllowed(await attack.call("import", args), args.specifier);
      assert.deepEqual(value, { secret: "CANARY-json" });
    }
  } finally {
    Deno.removeSync(planted);
  }
});

/** Runs a module with plain `deno run` and no permission flags at all; returns its stderr. */
async function plainDenoRun(file: string): Promise<string> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-config", "--no-prompt", file],
    env: { ...toolEnv(), ...pullSource() },
    clearEnv: true,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
    signal: AbortSignal.timeout(60_000),
  }).output();
  return new TextDecoder().decode(out.stderr);
}

for (
  const [kind, fixture] of [
    ["a static import", `${ROOT}/tests/testdata/static_import/server.ts`],
    ["a literal dynamic import()", `${ROOT}/tests/testdata/literal_import/server.ts`],
  ]
) {
  Deno.test(`the module graph check refuses ${kind} of a file outside the server's folder`, async () => {
    await assert.rejects(
      () => launch(attackerManifest({ name: "graph", package: fixture }), { root }),
      (e: Error) =>
        e instanceof GrantError && e.field === "package" &&
        /imports ".*\/tests\/testdata\/canary\/secret\.json", outside its folder/.test(e.message),
    );
    const dir = removeOnExit(tempDir());
    const viaCli = await cli([
      "call",
      writeManifest(dir, { name: "graph", package: fixture }),
      "x",
      "--cache",
      root,
    ]);
    assert.equal(viaCli.code, 3, viaCli.stderr);
    assert.doesNotMatch(viaCli.stdout + viaCli.stderr, /LEAKED/);

    // Positive control: plain deno, with no permission at all, hands the secret to the code.
    assert.match(await plainDenoRun(fixture), /LEAKED CANARY-5f1c-module-graph/);
  });
}

Deno.test("the module graph check follows symlinked modules out of the server's folder", async () => {
  const dir = removeOnExit(tempDir());
  Deno.mkdirSync(join(dir, "server"));
  Deno.mkdirSync(join(dir, "outside"));
  Deno.writeTextFileSync(join(dir, "outside", "lib.ts"), `export const SECRET = "CANARY-lib";\n`);
  Deno.symlinkSync(join(dir, "outside", "lib.ts"), join(dir, "server", "lib.ts"));
  const main = join(dir, "server", "server.ts");
  Deno.writeTextFileSync(main, `import { SECRET } from "./lib.ts";\nconsole.error(SECRET);\n`);
  await assert.rejects(
    () => launch(attackerManifest({ name: "linked-module", package: main }), { root }),
    (e: Error) =>
      e instanceof GrantError && /outside\/lib\.ts", outside its folder/.test(e.message),
  );
  // Positive control: plain deno follows the link and runs the secret into the code.
  assert.match(await plainDenoRun(main), /CANARY-lib/);
});
