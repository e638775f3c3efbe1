import assert from "node:assert/strict";
import { join } from "node:path";
import { parseManifest } from "./manifest_text.ts";
import { manifestGrantProblems } from "./manifest_grant_problems.ts";

const HOME = "/home/ada";

function manifest(fields: Record<string, unknown>) {
  return parseManifest(JSON.stringify({
    name: "demo",
    description: "A manifest for the grant policy",
    package: "npm:demo-server@1.0.0",
    ...fields,
  }));
}

/** No path exists: each is checked as written. */
const nothingExists = (path: string): string => {
  throw new Deno.errors.NotFound(path);
};

function problems(fields: Record<string, unknown>, options = {}): string[] {
  return manifestGrantProblems(manifest(fields), {
    home: HOME,
    cacheRoot: "/var/cache/mcp-run",
    realPath: nothingExists,
    ...options,
  }).map((p) => p.path);
}

Deno.test("manifestGrantProblems() accepts a manifest that asks for ordinary access", () => {
  assert.deepEqual(
    problems({
      permissions: { net: ["api.github.com:443"], read: ["/srv/data", "~/notes"], write: ["/tmp"] },
    }),
    [],
  );
});

Deno.test("manifestGrantProblems() reports every refused entry with its JSON path, in order", () => {
  assert.deepEqual(
    problems({
      permissions: {
        read: ["/srv/ok", "/", "~/.ssh/id_rsa"],
        write: ["/var/cache/mcp-run/servers"],
        net: ["example.com", "10.1.2.3", "[::1]:80"],
        run: ["git"],
      },
    }),
    [
      "permissions.read[1]",
      "permissions.read[2]",
      "permissions.write[0]",
      "permissions.net[1]",
      "permissions.net[2]",
      "permissions.run",
    ],
  );
});

Deno.test("manifestGrantProblems() leaves entries that use a parameter to launch time", () => {
  assert.deepEqual(
    problems({
      parameters: {
        dir: { type: "path", description: "Folder" },
        host: { type: "host", description: "Host" },
      },
      permissions: { read: ["${dir}"], net: ["${host}"] },
    }),
    [],
  );
});

Deno.test("manifestGrantProblems() checks a default only where its parameter is used", () => {
  const parameters = {
    dir: { type: "path", description: "Folder", default: "/" },
    host: { type: "host", description: "Host", default: "169.254.169.254" },
  };
  assert.deepEqual(problems({ parameters, permissions: {} }), [], "unused defaults");
  assert.deepEqual(
    problems({ parameters, permissions: { write: ["${dir}"], net: ["${host}"] } }),
    ["parameters.dir.default", "parameters.host.default"],
  );
});

Deno.test("manifestGrantProblems() leaves a relative default to where run is started", () => {
  const parameters = { dir: { type: "path", description: "Folder", default: "./data" } };
  assert.deepEqual(problems({ parameters, permissions: { read: ["${dir}"] } }), []);
});

Deno.test("manifestGrantProblems() follows a symlink to what it reaches", async () => {
  const home = await Deno.realPath(await Deno.makeTempDir());
  try {
    await Deno.mkdir(join(home, ".ssh"));
    await Deno.symlink(join(home, ".ssh"), join(home, "innocent"));
    const found = manifestGrantProblems(
      manifest({ permissions: { read: [join(home, "innocent")] } }),
      { home, cacheRoot: join(home, ".cache", "mcp-run") },
    );
    assert.deepEqual(found.map((p) => p.path), ["permissions.read[0]"]);
    // The positive control: an ordinary folder next to it is fine.
    await Deno.mkdir(join(home, "docs"));
    assert.deepEqual(
      manifestGrantProblems(manifest({ permissions: { read: [join(home, "docs")] } }), {
        home,
        cacheRoot: join(home, ".cache", "mcp-run"),
      }),
      [],
    );
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("manifestGrantProblems() allows run and ffi only in trusted docker", () => {
  const permissions = { run: ["git"], ffi: ["/usr/lib/libx.so"] };
  const both = ["permissions.run", "permissions.ffi"];
  assert.deepEqual(problems({ permissions }), both);
  assert.deepEqual(problems({ permissions }, { isolation: "docker" }), both);
  assert.deepEqual(problems({ permissions }, { isolation: "deno", trust: true }), both);
  assert.deepEqual(problems({ permissions }, { isolation: "docker", trust: true }), []);
});

Deno.test("manifestGrantProblems() refuses ${package_dir} for a package that has no folder", () => {
  const permissions = { read: ["${package_dir}"] };
  assert.deepEqual(problems({ permissions }), []);
  assert.deepEqual(
    problems({ permissions, package: "jsr:@demo/server@1.0.0" }),
    ["permissions.read[0]"],
  );
});

Deno.test("manifestGrantProblems() refuses an oci: image's literal net grants under gvisor only", () => {
  const oci = `oci:ghcr.io/acme/srv@sha256:${"a".repeat(64)}`;
  const net = { permissions: { net: ["api.example.com"] } };
  assert.deepEqual(problems({ package: oci, ...net }, { isolation: "gvisor" }), [
    "permissions.net",
  ]);
  // Positive controls: docker serves it through the sidecar; gVisor serves other kinds; a
  // placeholder is left to launch time.
  assert.deepEqual(problems({ package: oci, ...net }, { isolation: "docker" }), []);
  assert.deepEqual(problems(net, { isolation: "gvisor" }), []);
  assert.deepEqual(problems({ package: oci }, { isolation: "gvisor" }), []);
  const host = { parameters: { host: { type: "host", description: "API host" } } };
  assert.deepEqual(
    problems({ package: oci, ...host, permissions: { net: ["${host}"] } }, { isolation: "gvisor" }),
    [],
  );
});
