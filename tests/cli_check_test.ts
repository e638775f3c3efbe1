/**
 * `check` applies the grant policy `run` applies: every manifest in the table is refused by
 * `run` (exit 3, before anything starts) and by `check` (exit 3, naming the JSON path), and a clean
 * manifest passes both.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { cli, tempDir } from "./_helpers.ts";
import { removeOnExit } from "./_security.ts";

const home = removeOnExit(tempDir("mcp-run-check-home-"));
const cache = join(home, ".cache", "mcp-run");
for (const dir of [".ssh", ".cursor", ".cache/mcp-run"]) {
  Deno.mkdirSync(join(home, dir), { recursive: true });
}
const env = { HOME: home, MCP_RUN_CACHE: cache };

/** Writes a manifest (npm package: nothing is fetched by `run --dry-run` or `check`). */
function manifest(
  name: string,
  permissions: Record<string, string[]>,
  extra: Record<string, unknown> = {},
): string {
  const file = join(home, `${name}.jsonc`);
  Deno.writeTextFileSync(
    file,
    JSON.stringify({
      name,
      description: "A manifest for the check policy test",
      package: "npm:@example/policy-server@1.0.0",
      permissions,
      ...extra,
    }),
  );
  return file;
}

/** Manifests that run refuses, each with the JSON path at fault. */
const REFUSED: {
  name: string;
  permissions: Record<string, string[]>;
  extra?: Record<string, unknown>;
  path: string;
}[] = [
  { name: "private-ipv4", permissions: { net: ["10.0.0.5:5432"] }, path: "permissions.net[0]" },
  {
    name: "loopback",
    permissions: { net: ["api.example.com", "127.0.0.1"] },
    path: "permissions.net[1]",
  },
  { name: "localhost", permissions: { net: ["localhost:8080"] }, path: "permissions.net[0]" },
  { name: "ipv6-loopback", permissions: { net: ["[::1]:80"] }, path: "permissions.net[0]" },
  { name: "private-range", permissions: { net: ["192.168.0.0/16"] }, path: "permissions.net[0]" },
  { name: "half-the-internet", permissions: { net: ["0.0.0.0/1"] }, path: "permissions.net[0]" },
  { name: "metadata", permissions: { net: ["169.254.169.254"] }, path: "permissions.net[0]" },
  { name: "short-ipv4", permissions: { net: ["127.1"] }, path: "permissions.net[0]" },
  { name: "url", permissions: { net: ["https://api.example.com"] }, path: "permissions.net[0]" },
  { name: "tld-wildcard", permissions: { net: ["*.com"] }, path: "permissions.net[0]" },
  { name: "root", permissions: { read: ["/"] }, path: "permissions.read[0]" },
  { name: "ssh", permissions: { read: ["~/.ssh"] }, path: "permissions.read[0]" },
  { name: "ssh-key", permissions: { read: ["~/.ssh/id_ed25519"] }, path: "permissions.read[0]" },
  { name: "home", permissions: { write: ["~/"] }, path: "permissions.write[0]" },
  { name: "proc", permissions: { read: ["/proc/cpuinfo"] }, path: "permissions.read[0]" },
  { name: "etc", permissions: { read: ["/etc"] }, path: "permissions.read[0]" },
  { name: "cache", permissions: { write: ["~/.cache/mcp-run"] }, path: "permissions.write[0]" },
  {
    name: "client-config",
    permissions: { write: ["~/.cursor/mcp.json"] },
    path: "permissions.write[0]",
  },
  { name: "run", permissions: { run: ["git"] }, path: "permissions.run" },
  { name: "ffi", permissions: { ffi: ["/usr/lib/libx.so"] }, path: "permissions.ffi" },
  {
    name: "host-default",
    permissions: { net: ["${db}"] },
    extra: { parameters: { db: { type: "host", description: "DB", default: "10.0.0.5:5432" } } },
    path: "parameters.db.default",
  },
  {
    name: "host-list-default",
    permissions: { net: ["api.example.com", "${hosts}"] },
    extra: {
      parameters: {
        hosts: { type: "host[]", description: "Hosts", default: ["example.org", "localhost"] },
      },
    },
    path: "parameters.hosts.default[1]",
  },
  {
    name: "path-default",
    permissions: { read: ["${dir}"] },
    extra: { parameters: { dir: { type: "path", description: "Folder", default: "~/.ssh" } } },
    path: "parameters.dir.default",
  },
  {
    name: "package-dir",
    permissions: { read: ["${package_dir}"] },
    extra: { package: "jsr:@example/policy-server@1.0.0" },
    path: "permissions.read[0]",
  },
];

Deno.test("mcp-run check refuses, with exit 3 and the JSON path, each manifest run refuses", async () => {
  for (const { name, permissions, extra, path } of REFUSED) {
    const file = manifest(name, permissions, extra);
    const run = await cli(["run", file, "--dry-run"], { env });
    assert.equal(run.code, 3, `run ${name}: ${run.stderr}`);
    const check = await cli(["check", file], { env });
    assert.equal(check.code, 3, `check ${name}: ${check.stdout}${check.stderr}`);
    // The same refusal, word for word.
    const refusal = run.stderr.trim().replace(/^mcp-run: /, "");
    assert.ok(check.stderr.includes(`  - ${path}: ${refusal}`), `${name}: ${check.stderr}`);
    assert.doesNotMatch(check.stdout, /: ok$/m, name);
  }
});

Deno.test("mcp-run check and run both accept a clean manifest, and run/ffi under --isolation docker --trust", async () => {
  const clean = manifest("clean", {
    net: ["api.example.com:443", "8.8.8.8", "*.example.org", "${api}", "${db}"],
    read: [join(home, "notes"), "~/projects", "${dir}"],
    env: ["EXAMPLE_TOKEN"],
  }, {
    parameters: {
      api: { type: "host", description: "API host", default: "api.example.net" },
      // Private addresses and any folder can still come from the user.
      db: { type: "host", description: "Database", required: false },
      dir: { type: "path", description: "Folder", default: "~/projects" },
    },
  });
  const run = await cli(["run", clean, "--dry-run"], { env });
  assert.equal(run.code, 0, run.stderr);
  const user = await cli(["run", clean, "--dry-run", "-p", "db=10.0.0.5:5432"], { env });
  assert.equal(user.code, 0, user.stderr);
  assert.match(user.stdout, /--allow-net=\S*10\.0\.0\.5:5432/);
  const check = await cli(["check", clean], { env });
  assert.equal(check.code, 0, check.stderr);
  assert.equal(check.stdout.trim(), `${clean}: ok`);
  // run/ffi: refused natively (above), accepted where run accepts them.
  const trusted = manifest("trusted", { run: ["git"] });
  const docker = ["--isolation", "docker", "--trust"];
  assert.equal((await cli(["check", trusted, ...docker], { env })).code, 0);
  const untrusted = await cli(["check", trusted, "--isolation", "docker"], { env });
  assert.equal(untrusted.code, 3);
  assert.match(
    untrusted.stderr,
    /permissions\.run: "trusted" asks to start programs \(git\): pass --trust/,
  );
});

Deno.test("mcp-run check reports every refused grant of a manifest at once", async () => {
  const file = manifest("many", {
    net: ["10.1.2.3", "api.example.com"],
    read: ["/", "~/.aws"],
    run: ["sh"],
  });
  const r = await cli(["check", "--format", "json", file], { env });
  assert.equal(r.code, 3);
  assert.deepEqual(
    JSON.parse(r.stdout)[0].problems.map((p: { path: string }) => p.path),
    ["permissions.read[0]", "permissions.read[1]", "permissions.net[0]", "permissions.run"],
  );
});
