import assert from "node:assert/strict";
import { serverFixture } from "../policy/_server_fixture.ts";
import { GrantError } from "../policy/grant_error.ts";
import { DenoSandbox } from "./deno_sandbox.ts";

Deno.test("DenoSandbox refuses pypi: and oci: packages, which run only in a container", async () => {
  const sandbox = new DenoSandbox({ cacheRoot: "/nonexistent/c", source: {}, prlimit: null });
  for (
    const specifier of ["pypi:mcp-server-time@2026.10.19", `oci:acme/srv@sha256:${"0".repeat(64)}`]
  ) {
    const server = serverFixture({ name: "t", specifier });
    const refused = (error: Error) => {
      assert.ok(error instanceof GrantError, String(error));
      assert.equal(error.field, "package");
      assert.match(error.message, /runs only in a container: use --isolation docker/);
      return true;
    };
    assert.throws(() => sandbox.plan(server), refused);
    assert.throws(() => sandbox.spawn(server), refused);
    await assert.rejects(() => sandbox.pull(server), refused);
    await assert.rejects(() => sandbox.prepare(server), refused);
  }
  // Positive control: an npm package plans as before.
  assert.equal(sandbox.plan(serverFixture({ specifier: "npm:x@1.0.0" })).args[0], "run");
});
