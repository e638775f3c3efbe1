// End-to-end tests of `mcp-run serve`: the real CLI as a subprocess, a local fixture server
// pulled into a temporary cache, the MCP SDK client over loopback HTTP.
import assert from "node:assert/strict";
import { join } from "node:path";
import { cli, ROOT, tempDir } from "./_helpers.ts";
import { callText, connectClient, isAlive, waitAllExited } from "./_bridge_helpers.ts";
import { startServe } from "./_serve_cli.ts";
import { CLI_DOCKER, dockerProblem } from "./_docker.ts";
import { runDocker } from "../runtime/sandbox/docker_engine.ts";

const MANIFEST = join(ROOT, "tests/testdata/serve_fixture.jsonc");
const cache = tempDir("mcp-run-serve-cache-");
const TOKEN = "serve-cli-token-0123456789abcdef";

Deno.test("mcp-run serve --help documents the HTTP options", async () => {
  const r = await cli(["serve", "--help"]);
  assert.equal(r.code, 0);
  for (
    const flag of [
      "--host",
      "--port",
      "--token-file",
      "--allowed-origin",
      "--allowed-host",
      "--trust-proxy",
      "--max-connections-per-client",
    ]
  ) {
    assert.match(r.stdout, new RegExp(flag));
  }
  assert.match(r.stdout, /--session-mode isolated\|shared/);
});

Deno.test("mcp-run serve refuses to listen beyond loopback without a token", async () => {
  const r = await cli(["serve", MANIFEST, "--host", "0.0.0.0", "--cache", cache]);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /without authentication: pass --auth oauth with --public-url/);
  const bad = await cli(["serve", MANIFEST, "--session-mode", "pooled"]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--session-mode must be isolated or shared/);
  const port = await cli(["serve", MANIFEST, "--port", "99999"]);
  assert.equal(port.code, 2);
});

Deno.test("mcp-run serve explains a missing token file, a bad --trust-proxy and a port in use", async () => {
  const missing = join(tempDir(), "token");
  const r = await cli(["serve", MANIFEST, "--token-file", missing, "--cache", cache]);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, new RegExp(`token file "${missing}": it does not exist`));
  assert.match(r.stderr, /openssl rand -hex 32/);
  assert.doesNotMatch(r.stderr, /^\s+at /m, "no stack trace");
  const proxy = await cli(["serve", MANIFEST, "--trust-proxy", "my-proxy", "--cache", cache]);
  assert.equal(proxy.code, 2, proxy.stderr);
  assert.match(proxy.stderr, /--trust-proxy "my-proxy": expected an IP address or a CIDR range/);
  // A port another program holds.
  const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const port = String((taken.addr as Deno.NetAddr).port);
    const busy = await cli(["serve", MANIFEST, "--port", port, "--cache", cache]);
    assert.equal(busy.code, 1, busy.stderr);
    assert.match(
      busy.stderr,
      new RegExp(`port ${port} of "127.0.0.1": the port is already in use`),
    );
    assert.match(busy.stderr, /choose another port with --port/);
    assert.doesNotMatch(busy.stderr, /^\s+at /m, "no stack trace");
  } finally {
    taken.close();
  }
});

Deno.test("mcp-run serve --dry-run prints the sandboxed command and the address", async () => {
  const r = await cli(["serve", MANIFEST, "--port", "9", "--dry-run", "--cache", cache]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /--no-config --cached-only --frozen/);
  assert.match(r.stdout, /--deny-net=/);
  assert.match(r.stdout, /listen: http:\/\/127\.0\.0\.1:9\/mcp/);
});

Deno.test("mcp-run serve gives each session a sandboxed process and stops them all on SIGTERM", async () => {
  const dir = tempDir();
  const tokenFile = join(dir, "token");
  Deno.writeTextFileSync(tokenFile, `${TOKEN}\n`, { mode: 0o600 });
  Deno.chmodSync(tokenFile, 0o600);
  const served = await startServe([
    MANIFEST,
    "--port",
    "0",
    "--token-file",
    tokenFile,
    "--cache",
    cache,
  ]);
  const pids: number[] = [];
  try {
    const unauthenticated = await fetch(served.url, { method: "POST", body: "{}" });
    assert.equal(unauthenticated.status, 401);
    await unauthenticated.body?.cancel();
    const a = await connectClient({ url: served.url, token: TOKEN });
    const b = await connectClient({ url: served.url, token: TOKEN });
    try {
      assert.equal(await callText(a.client, "echo", { text: "over http" }), "over http");
      pids.push(Number(await callText(a.client, "pid")), Number(await callText(b.client, "pid")));
      assert.notEqual(pids[0], pids[1]);
      assert.ok(pids.every(isAlive));
      // The process runs with the manifest's (empty) permissions: no environment, no token.
      const seen = await callText(a.client, "observe");
      assert.doesNotMatch(seen, new RegExp(TOKEN));
      assert.doesNotMatch(seen, /HOME|PATH/);
      // Positive control: the fixture does report what it is given.
      assert.match(await callText(a.client, "observe", { x: "arg-canary" }), /arg-canary/);
    } finally {
      await a.client.close();
      await b.client.close();
    }
  } finally {
    served.child.kill("SIGTERM");
    const status = await served.child.status;
    assert.equal(status.code, 0, served.stderr());
  }
  await waitAllExited(pids);
  assert.match(served.stderr(), /mcp-run serve: stopped/);
});

const dockerMissing = await dockerProblem();

async function fixtureContainers(): Promise<string[]> {
  const listed = await runDocker([
    "ps",
    "-a",
    "--filter",
    "name=mcp-run-bridge-fixture-",
    "--format",
    "{{.Names}}",
  ]);
  return listed.stdout.split("\n").filter((line) => line.trim() !== "");
}

Deno.test({
  name: "mcp-run serve --isolation docker gives each session its own container and removes them",
  ignore: dockerMissing !== undefined,
  fn: async () => {
    const before = await fixtureContainers();
    const dockerCache = tempDir("mcp-run-serve-docker-");
    const served = await startServe([
      MANIFEST,
      "--port",
      "0",
      "--cache",
      dockerCache,
      ...CLI_DOCKER,
    ]);
    try {
      const a = await connectClient({ url: served.url });
      const b = await connectClient({ url: served.url });
      try {
        assert.equal(await callText(a.client, "count"), "1");
        assert.equal(await callText(a.client, "count"), "2");
        assert.equal(await callText(b.client, "count"), "1", "b runs in another container");
        assert.equal((await fixtureContainers()).length - before.length, 2);
      } finally {
        await a.client.close();
        await b.client.close();
      }
      assert.match(served.stderr(), /one sandboxed container per session/);
    } finally {
      served.child.kill("SIGTERM");
      assert.equal((await served.child.status).code, 0, served.stderr());
    }
    assert.deepEqual(await fixtureContainers(), before, "no container left behind");
  },
});
