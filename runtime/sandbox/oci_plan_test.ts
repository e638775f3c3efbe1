import assert from "node:assert/strict";
import { serverFixture } from "../policy/_server_fixture.ts";
import type { ResolvedServer } from "../policy/resolve.ts";
import { ociRunArgs } from "./oci_plan.ts";
import { DockerSandbox } from "./docker_sandbox.ts";

const DIGEST = `sha256:${"0123456789abcdef".repeat(4)}`;

function server(overrides: Partial<ResolvedServer> = {}): ResolvedServer {
  return serverFixture({ name: "srv", specifier: `oci:ghcr.io/acme/srv@${DIGEST}`, ...overrides });
}

Deno.test("ociRunArgs() runs the image by digest, hardened, with the manifest's arguments", () => {
  const argv = ociRunArgs(server({ args: ["--stdio"], read: ["/data"] }), {
    nameSuffix: "a1",
    user: "1000:1000",
  });
  assert.deepEqual(argv.slice(-2), [`ghcr.io/acme/srv@${DIGEST}`, "--stdio"]);
  for (const flag of ["--read-only", "--cap-drop", "--security-opt", "--pids-limit", "--memory"]) {
    assert.ok(argv.includes(flag), flag);
  }
  assert.equal(argv[argv.indexOf("--pull") + 1], "never");
  assert.equal(argv[argv.indexOf("--network") + 1], "none");
  assert.equal(argv[argv.indexOf("--user") + 1], "1000:1000");
  assert.ok(argv.includes("type=bind,src=/data,dst=/data,readonly"));
  assert.ok(!argv.includes("--entrypoint"));
});

Deno.test("ociRunArgs() refuses an image tag, with how to pin it by digest", () => {
  for (
    const specifier of [
      "oci:ghcr.io/acme/srv:latest",
      "oci:ghcr.io/acme/srv:1.0",
      `oci:ghcr.io/acme/srv:1.0@${DIGEST}`,
      "oci:ghcr.io/acme/srv",
    ]
  ) {
    assert.throws(
      () => ociRunArgs(server({ specifier })),
      (error: Error) =>
        error instanceof SyntaxError && /@sha256:<64 hex digits>/.test(error.message),
      specifier,
    );
  }
});

Deno.test("ociRunArgs() refuses network grants without the egress proxy", () => {
  assert.throws(() => ociRunArgs(server({ net: ["api.example.com"] })), /egress proxy/);
});

Deno.test("DockerSandbox.plan() plans oci: and pypi: packages in their own containers", () => {
  const sandbox = new DockerSandbox({
    cacheRoot: "/c",
    source: {},
    nameSuffix: "s1",
    user: "1000:1000",
  });
  const oci = sandbox.plan(server());
  assert.equal(oci.program, "docker");
  assert.equal(oci.args.at(-1), `ghcr.io/acme/srv@${DIGEST}`);
  const py = sandbox.plan(server({ specifier: "pypi:mcp-server-time@2026.10.19" }));
  assert.ok(py.args.includes("/mcp-run-code/entry.py"));
  const standalone = sandbox.plan(server(), { standalone: true });
  assert.ok(!standalone.args.some((a) => a.startsWith("mcp-run.launcher")));
});

Deno.test("ociRunArgs() mounts protected paths read-only over a write grant", () => {
  const argv = ociRunArgs(server({ write: ["/w"] }), {
    protectedPaths: ["/w/.git/hooks", "/w/.vscode", "/w"],
  });
  const mounts = argv.filter((_, i) => argv[i - 1] === "--mount");
  assert.deepEqual(mounts, [
    "type=bind,src=/w,dst=/w",
    "type=bind,src=/w/.git/hooks,dst=/w/.git/hooks,readonly",
    "type=bind,src=/w/.vscode,dst=/w/.vscode,readonly",
  ]);
});
