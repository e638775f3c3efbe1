import assert from "node:assert/strict";
import { join } from "node:path";
import { denoRunArgs, permissionFlags } from "../sandbox/flags.ts";
import { parseManifest } from "./manifest_text.ts";
import {
  GrantError,
  manifestGrantProblems,
  resolveServer,
  type ResolveServerOptions,
} from "./resolve.ts";

const tmp = Deno.realPathSync(Deno.makeTempDirSync({ prefix: "mcp-run-resolve-" }));
const home = join(tmp, "home");
const data = join(tmp, "data");
Deno.mkdirSync(join(home, ".ssh"), { recursive: true });
Deno.mkdirSync(data, { recursive: true });
Deno.mkdirSync(join(tmp, "data2"), { recursive: true });
globalThis.addEventListener("unload", () => Deno.removeSync(tmp, { recursive: true }));
const opts: ResolveServerOptions = { home, cacheRoot: join(home, ".cache/mcp-run"), cwd: tmp };

function manifest(extra: Record<string, unknown>) {
  return parseManifest(JSON.stringify({
    name: "demo",
    description: "d",
    package: "npm:demo@1.0.0",
    ...extra,
  }));
}

const fsManifest = manifest({
  args: ["--root", "${dirs}"],
  parameters: { dirs: { type: "path[]", description: "folders", required: true } },
  permissions: { read: ["${dirs}"], write: ["${dirs}"] },
});

function grantError(fn: () => unknown, field: RegExp, message: RegExp) {
  assert.throws(fn, (e: Error) => {
    assert.ok(e instanceof GrantError, String(e));
    assert.match(e.field, field);
    assert.match(e.message, message);
    return true;
  });
}

Deno.test("resolveServer() expands list parameters into args and canonical grants", () => {
  const s = resolveServer(fsManifest, {
    ...opts,
    params: { dirs: ["data", `${tmp}/data2/../data2`] },
  });
  assert.deepEqual(s.args, ["--root", data, join(tmp, "data2")]);
  assert.deepEqual(s.read, [data, join(tmp, "data2")]);
  assert.deepEqual(s.write, s.read);
  assert.deepEqual(s.net, []);
  assert.ok(s.denyNet.includes("127.0.0.0/8"));
});

Deno.test("resolveServer() resolves symlinked parameter paths to their targets", () => {
  Deno.symlinkSync(data, join(tmp, "link-to-data"));
  const s = resolveServer(fsManifest, { ...opts, params: { dirs: "link-to-data" } });
  assert.deepEqual(s.read, [data]);
});

Deno.test("resolveServer() names missing and unknown parameters", () => {
  grantError(() => resolveServer(fsManifest, opts), /-p dirs/, /needs a parameter:\n\s+-p dirs=/);
  grantError(
    () => resolveServer(fsManifest, { ...opts, params: { dirs: "data", dir: "x" } }),
    /-p dir/,
    /no parameter "dir"; its parameters are dirs/,
  );
});

Deno.test("resolveServer() refuses dangerous paths from parameters", () => {
  grantError(
    () => resolveServer(fsManifest, { ...opts, params: { dirs: "/" } }),
    /permissions.read\[0\]/,
    /Cannot grant read access to "\/": the whole file system is never granted/,
  );
  grantError(
    () => resolveServer(fsManifest, { ...opts, params: { dirs: "~" } }),
    /permissions.read/,
    /home directory itself/,
  );
  grantError(
    () => resolveServer(fsManifest, { ...opts, params: { dirs: `${home}/.ssh` } }),
    /permissions.read/,
    /credentials/,
  );
  grantError(
    () => resolveServer(fsManifest, { ...opts, params: { dirs: "/proc/self" } }),
    /permissions.read/,
    /\/proc/,
  );
});

Deno.test("resolveServer() refuses a path through a symlink into a forbidden folder", () => {
  Deno.symlinkSync(join(home, ".ssh"), join(tmp, "innocent"));
  grantError(
    () => resolveServer(fsManifest, { ...opts, params: { dirs: "innocent" } }),
    /permissions.read/,
    /\.ssh.*credentials/,
  );
});

Deno.test("resolveServer() refuses granted folders holding links that lead outside", () => {
  const tree = join(tmp, "tree");
  Deno.mkdirSync(join(tree, "sub"), { recursive: true });
  Deno.symlinkSync("/etc", join(tree, "sub", "escape"));
  grantError(
    () => resolveServer(fsManifest, { ...opts, params: { dirs: tree } }),
    /permissions/,
    /leads to "\/etc", outside every granted folder/,
  );
  // A link to another granted folder is fine.
  const ok = join(tmp, "tree-ok");
  Deno.mkdirSync(ok);
  Deno.symlinkSync(data, join(ok, "to-data"));
  const s = resolveServer(fsManifest, { ...opts, params: { dirs: [ok, data] } });
  assert.deepEqual(s.read, [data, ok].sort());
});

Deno.test("resolveServer() accepts a file that does not exist yet inside an existing folder", () => {
  const m = manifest({
    parameters: { file: { type: "path", description: "f", required: true } },
    permissions: { write: ["${file}"] },
  });
  assert.deepEqual(resolveServer(m, { ...opts, params: { file: "data/new.json" } }).write, [
    join(data, "new.json"),
  ]);
  grantError(
    () => resolveServer(m, { ...opts, params: { file: "nowhere/new.json" } }),
    /-p file/,
    /Create the folder first/,
  );
});

Deno.test("resolveServer() refuses private addresses written in a manifest", () => {
  for (const host of ["127.0.0.1:5432", "localhost", "169.254.169.254", "10.0.0.0/8", "[::1]"]) {
    grantError(
      () => resolveServer(manifest({ permissions: { net: [host] } }), opts),
      /permissions.net\[0\]/,
      /granted only by the user through a host parameter/,
    );
  }
});

Deno.test("resolveServer() lets the user grant one private address, keeping the rest denied", () => {
  const m = manifest({
    parameters: { db: { type: "host", description: "database", required: true } },
    permissions: { net: ["api.example.com:443", "${db}"] },
  });
  const s = resolveServer(m, { ...opts, params: { db: "127.0.0.1:5432" } });
  assert.deepEqual(s.net, ["127.0.0.1:5432", "api.example.com:443"]);
  assert.ok(!s.denyNet.includes("127.0.0.0/8"));
  assert.ok(s.denyNet.includes("127.0.0.2/31"));
  assert.ok(s.denyNet.includes("10.0.0.0/8"));
  grantError(
    () => resolveServer(m, { ...opts, params: { db: "127.1" } }),
    /-p db/,
    /short forms/,
  );
});

Deno.test("resolveServer() refuses run and ffi natively and without trust", () => {
  const m = manifest({ permissions: { run: ["git"] } });
  grantError(() => resolveServer(m, opts), /permissions.run/, /native mode.*--isolation docker/);
  grantError(
    () => resolveServer(m, { ...opts, isolation: "docker" }),
    /permissions.run/,
    /pass --trust/,
  );
  const s = resolveServer(m, { ...opts, isolation: "docker", trust: true });
  assert.deepEqual(s.run, ["git"]);
  assert.ok(permissionFlags(s).includes("--allow-run=git"));
});

Deno.test("resolveServer() collects env names, secrets and launcher-set values", () => {
  const m = manifest({
    parameters: { dir: { type: "path", description: "d", required: true } },
    permissions: { env: ["LOG_LEVEL", "APP_*"] },
    env: { STORE: { description: "s", required: true, value: "${dir}/store.json" } },
    secrets: { API_TOKEN: { description: "t", required: true } },
  });
  const s = resolveServer(m, { ...opts, params: { dir: "data" } });
  assert.deepEqual(s.env, ["API_TOKEN", "APP_*", "LOG_LEVEL", "STORE"]);
  assert.deepEqual(s.secrets, ["API_TOKEN"]);
  assert.deepEqual(s.requiredEnv, ["API_TOKEN"]);
  assert.deepEqual(s.envValues, { STORE: join(data, "store.json") });
});

Deno.test("resolveServer() makes local packages absolute relative to the manifest", () => {
  Deno.writeTextFileSync(join(data, "server.ts"), "");
  const s = resolveServer(manifest({ package: "./server.ts" }), { ...opts, manifestDir: data });
  assert.equal(s.specifier, join(data, "server.ts"));
  assert.equal(s.localDir, data);
  assert.ok(denoRunArgs(s, { lockFile: "/l" }).includes(join(data, "server.ts")));
});

Deno.test("permissionFlags() output for a resolved server is minimal and ordered", () => {
  const m = manifest({
    parameters: { dirs: { type: "path[]", description: "d", required: true } },
    permissions: {
      read: ["${dirs}"],
      net: ["api.example.com"],
      env: ["B", "A"],
      sys: ["hostname"],
    },
  });
  const flags = permissionFlags(resolveServer(m, { ...opts, params: { dirs: "data" } }));
  assert.equal(flags[0], `--allow-read=${data}`);
  assert.equal(flags[1], "--allow-net=api.example.com");
  assert.match(flags[2], /^--deny-net=0\.0\.0\.0\/8,10\.0\.0\.0\/8,/);
  assert.equal(flags[3], "--allow-env=A,B");
  assert.equal(flags[4], "--allow-sys=hostname");
  assert.equal(flags[5], "--ignore-env");
  assert.equal(flags.length, 6);
  for (const f of flags) {
    assert.doesNotMatch(f, /^(-A|--allow-all|--allow-(read|write|net|env|run|ffi))$/);
  }
});

Deno.test("resolveServer() grants ${package_dir} as the package's own folder in its cache", () => {
  const m = manifest({
    package: "npm:@demo/server@1.2.3/bin",
    permissions: { read: ["${package_dir}"] },
  });
  const s = resolveServer(m, opts);
  assert.equal(s.read.length, 1);
  assert.match(
    s.read[0],
    /\/\.cache\/mcp-run\/servers\/demo\/[^/]+\/deno_dir\/npm\/registry\.npmjs\.org\/@demo\/server\/1\.2\.3$/,
  );
  const mirrored = resolveServer(m, { ...opts, npmRegistry: "https://npm.corp.example/" });
  assert.match(mirrored.read[0], /\/npm\/npm\.corp\.example\/@demo\/server\/1\.2\.3$/);
  // Only in read, alone, and only for npm packages.
  for (const bad of [{ write: ["${package_dir}"] }, { read: ["${package_dir}/x"] }]) {
    assert.throws(
      () => manifest({ permissions: bad }),
      /may only stand alone in permissions\.read/,
    );
  }
  grantError(
    () =>
      resolveServer(
        manifest({ package: "jsr:@demo/x@1.0.0", permissions: { read: ["${package_dir}"] } }),
        opts,
      ),
    /permissions\.read\[0\]/,
    /only npm:name@version packages/,
  );
});

Deno.test("resolveServer() refuses a folder too large to scan for escaping links", () => {
  const big = join(tmp, "big");
  Deno.mkdirSync(big);
  for (let i = 0; i < 12; i++) Deno.writeTextFileSync(join(big, `f${i}`), "");
  grantError(
    () => resolveServer(fsManifest, { ...opts, params: { dirs: big }, symlinkScanLimit: 10 }),
    /permissions/,
    /more than 10 entries.*narrower folder/,
  );
  assert.deepEqual(
    resolveServer(fsManifest, { ...opts, params: { dirs: big }, symlinkScanLimit: 12 }).read,
    [big],
  );
});

Deno.test("resolveServer() grants a private address from the user's value, never from a parameter's default", () => {
  const db = manifest({
    parameters: { db: { type: "host", description: "database", default: "127.0.0.1:5432" } },
    permissions: { net: ["${db}"] },
  });
  grantError(
    () => resolveServer(db, opts),
    /permissions\.net\[0\]/,
    /from the default of parameter "db".*Pass -p db=127\.0\.0\.1:5432/,
  );
  const server = resolveServer(db, { ...opts, params: { db: "127.0.0.1:5432" } });
  assert.deepEqual(server.net, ["127.0.0.1:5432"]);
  assert.ok(!server.denyNet.includes("127.0.0.0/8"));
  const publicDefault = manifest({
    parameters: { api: { type: "host", description: "api", default: "api.example.com" } },
    permissions: { net: ["${api}"] },
  });
  assert.deepEqual(resolveServer(publicDefault, opts).net, ["api.example.com"]);
});

Deno.test("manifestGrantProblems() reports what resolveServer() refuses from the manifest alone", () => {
  const cases: [Record<string, unknown>, string[]][] = [
    [{ permissions: { net: ["api.example.com", "*.example.org:443", "8.8.8.8"] } }, []],
    [{ permissions: { net: ["10.0.0.5", "api.example.com", "[::1]", "1.0.0.0/1"] } }, [
      "permissions.net[0]",
      "permissions.net[2]",
      "permissions.net[3]",
    ]],
    [{ permissions: { net: ["http://example.com", "127.1"] } }, [
      "permissions.net[0]",
      "permissions.net[1]",
    ]],
    [{ permissions: { read: ["/", "~/.ssh/id_rsa", "/proc/cpuinfo", data] } }, [
      "permissions.read[0]",
      "permissions.read[1]",
      "permissions.read[2]",
    ]],
    [{ permissions: { write: ["~/", "~/.cache/mcp-run/servers", "~/.claude.json"] } }, [
      "permissions.write[0]",
      "permissions.write[1]",
      "permissions.write[2]",
    ]],
    [{ permissions: { run: ["git"], ffi: ["x.so"] } }, ["permissions.run", "permissions.ffi"]],
    // Entries that use a parameter wait for the user's value...
    [{
      parameters: { h: { type: "host", description: "h" }, d: { type: "path", description: "d" } },
      permissions: { net: ["${h}"], read: ["${d}"] },
    }, []],
    // ...but a default is the manifest's own choice.
    [{
      parameters: {
        h: { type: "host[]", description: "h", default: ["example.com", "192.168.1.1"] },
        d: { type: "path", description: "d", default: "/" },
        unused: { type: "host", description: "u", default: "10.0.0.1" },
      },
      permissions: { net: ["${h}"], read: ["${d}"] },
    }, ["parameters.h.default[1]", "parameters.d.default"]],
    [{ package: "jsr:@demo/x@1.0.0", permissions: { read: ["${package_dir}"] } }, [
      "permissions.read[0]",
    ]],
  ];
  for (const [extra, paths] of cases) {
    const problems = manifestGrantProblems(manifest(extra), opts);
    assert.deepEqual(problems.map((p) => p.path), paths, JSON.stringify(extra));
    for (const p of problems) assert.match(p.message, /^Cannot |^Cannot find|^"demo" asks/);
  }
  const docker = manifest({ permissions: { run: ["git"] } });
  assert.deepEqual(
    manifestGrantProblems(docker, { ...opts, isolation: "docker", trust: true }),
    [],
  );
  assert.deepEqual(
    manifestGrantProblems(docker, { ...opts, isolation: "docker" }).map((p) => p.path),
    ["permissions.run"],
  );
});

Deno.test("resolveServer() names a parameter with no value used inside an entry, and appends extra args", () => {
  const m = manifest({
    args: ["--port=${port}", "--verbose"],
    parameters: { port: { type: "number", description: "port" } },
  });
  grantError(() => resolveServer(m, opts), /^args\[0\]$/, /which has no value: pass -p port=VALUE/);
  const s = resolveServer(m, { ...opts, params: { port: "8080" }, extraArgs: ["--x", "${port}"] });
  assert.deepEqual(s.args, ["--port=8080", "--verbose", "--x", "${port}"]);
});

Deno.test("resolveServer() in docker grants ${package_dir} in the container; mounts are the backend's to refuse", () => {
  const m = manifest({
    package: "npm:@demo/server@1.2.3",
    permissions: { read: ["${package_dir}"] },
  });
  const s = resolveServer(m, { ...opts, isolation: "docker" });
  assert.deepEqual(s.read, ["/deno-dir/npm/registry.npmjs.org/@demo/server/1.2.3"]);
  const odd = join(tmp, "a,b");
  Deno.mkdirSync(odd, { recursive: true });
  const dirs = manifest({
    parameters: { dir: { type: "path", description: "d", required: true } },
    permissions: { read: ["${dir}"] },
  });
  assert.deepEqual(resolveServer(dirs, { ...opts, params: { dir: odd } }).read, [odd]);
  // A path docker cannot mount is refused by the docker sandbox's plan (checkDockerMounts), not
  // by the policy, which knows no backend.
  const inDocker = { ...opts, params: { dir: odd }, isolation: "docker" as const };
  assert.deepEqual(resolveServer(dirs, inDocker).read, [odd]);
  Deno.writeTextFileSync(join(odd, "server.ts"), "");
  const local = parseManifest(
    JSON.stringify({ name: "local", description: "d", package: "./server.ts" }),
  );
  const s2 = resolveServer(local, { ...opts, manifestDir: odd, isolation: "docker" });
  assert.equal(s2.localDir, odd);
});

Deno.test("resolveServer() dedupes and sorts grants, env names and sys names", () => {
  const m = manifest({
    parameters: { dirs: { type: "path[]", description: "d" } },
    permissions: {
      read: ["${dirs}"],
      net: ["b.example.com", "a.example.com", "b.example.com"],
      env: ["Z_VAR", "A_VAR"],
      sys: ["uid", "hostname", "uid"],
    },
    env: { A_VAR: { description: "a" } },
    secrets: { TOKEN: { description: "t", required: true } },
  });
  const s = resolveServer(m, { ...opts, params: { dirs: [join(data, "x"), data, data] } });
  assert.deepEqual(s.read, [data]);
  assert.deepEqual(s.net, ["a.example.com", "b.example.com"]);
  assert.deepEqual(s.env, ["A_VAR", "TOKEN", "Z_VAR"]);
  assert.deepEqual(s.sys, ["hostname", "uid"]);
  assert.deepEqual(s.requiredEnv, ["TOKEN"]);
});

Deno.test("resolveServer() keeps a pypi: or oci: package as written, with no local folder", () => {
  for (
    const pkg of ["pypi:mcp-server-time[x]@2026.10.19/t", `oci:acme/srv@sha256:${"c".repeat(64)}`]
  ) {
    const server = resolveServer(manifest({ package: pkg }), { ...opts, isolation: "docker" });
    assert.equal(server.specifier, pkg);
    assert.equal(server.localDir, undefined);
  }
});
