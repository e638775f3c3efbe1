/**
 * How `inspect` and `call` report a server that fails: one that exits at start-up, one that
 * crashes during a call, one that never answers `initialize`. Real processes from a faulty
 * fixture server (tests/testdata/faulty/server.ts), natively and in docker containers built from
 * the local stand-in image (tools/docker_setup.sh).
 */
import assert from "node:assert/strict";
import { connectServer } from "../runtime/sandbox/connect.ts";
import { ServerExitedError } from "../runtime/sandbox/server_process.ts";
import { cli, ROOT, tempDir, toolEnv } from "./_helpers.ts";
import { CLI_DOCKER, dockerProblem } from "./_docker.ts";
import { attackerManifest, removeOnExit, writeManifest } from "./_security.ts";
import { resolveServer } from "../runtime/policy/resolve.ts";

const FAULTY = `${ROOT}/tests/testdata/faulty/server.ts`;
const cache = removeOnExit(tempDir("mcp-run-errors-cache-"));
const dir = removeOnExit(tempDir("mcp-run-errors-"));

/** A manifest for the faulty server in one of its modes. */
function faulty(
  mode: "exit-at-start" | "crash-in-call" | "silent" | "old-protocol" | "no-resources",
): string {
  return writeManifest(
    dir,
    { name: `faulty-${mode}`, package: FAULTY, args: [mode] },
    `${mode}.jsonc`,
  );
}

Deno.test("mcp-run inspect says which advertised list a server failed to answer, and lists the rest", async () => {
  const manifest = faulty("no-resources");
  const r = await cli(["inspect", manifest, "--cache", cache]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /Tools \(3\):\n {2}echo/);
  assert.match(
    r.stdout,
    /Failed to list resources\/list: MCP error -32601: Method not found/,
  );
  const json = await cli(["inspect", manifest, "--cache", cache, "--format", "json"]);
  assert.equal(json.code, 0, json.stderr);
  assert.equal(JSON.parse(json.stdout).problems.length, 1);
});

const problem = await dockerProblem("cli_errors_test.ts: skipping docker cases");

/** The isolations every case runs under. */
const ISOLATIONS: { name: string; args: string[]; ignore: boolean }[] = [
  { name: "natively", args: [], ignore: false },
  {
    name: "in docker",
    args: CLI_DOCKER,
    ignore: problem !== undefined,
  },
];

for (const isolation of ISOLATIONS) {
  const opts = ["--cache", cache, ...isolation.args];

  Deno.test({
    name: `mcp-run inspect and call report a server that exits at start-up ${isolation.name}: ` +
      "its exit code and stderr",
    ignore: isolation.ignore,
    fn: async () => {
      const manifest = faulty("exit-at-start");
      for (const args of [["inspect", manifest], ["call", manifest, "echo", "{}"]]) {
        const r = await cli([...args, ...opts]);
        assert.equal(r.code, 1, r.stderr);
        assert.match(
          r.stderr,
          /mcp-run: Server "faulty-exit-at-start" exited with code 3:\nboom\n/,
        );
        assert.doesNotMatch(r.stderr, /Broken pipe|Connection closed|\n\s+at /, args[0]);
      }
    },
  });

  Deno.test({
    name: `mcp-run call reports a server that crashes during the call ${isolation.name}: ` +
      "its exit code and stderr",
    ignore: isolation.ignore,
    fn: async () => {
      const manifest = faulty("crash-in-call");
      // Positive control: the same server answers a call that does not crash it.
      const echo = await cli(["call", manifest, "echo", '{"text":"still here"}', ...opts]);
      assert.equal(echo.code, 0, echo.stderr);
      assert.equal(echo.stdout.trim(), "still here");
      const r = await cli(["call", manifest, "crash", "{}", ...opts]);
      assert.equal(r.code, 1, r.stderr);
      assert.match(
        r.stderr,
        /mcp-run: Server "faulty-crash-in-call" exited with code 7:\ncrashing now\n/,
      );
      assert.doesNotMatch(r.stderr, /Connection closed|Tool "crash" failed/);
    },
  });

  Deno.test({
    name: `mcp-run inspect and call name a server that never answers initialize ` +
      `${isolation.name}, and the --timeout option`,
    ignore: isolation.ignore,
    fn: async () => {
      const manifest = faulty("silent");
      for (const args of [["inspect", manifest], ["call", manifest, "echo", "{}"]]) {
        const started = Date.now();
        const r = await cli([...args, ...opts, "--timeout", "1.5"]);
        assert.equal(r.code, 1, r.stderr);
        assert.match(
          r.stderr,
          /mcp-run: Server "faulty-silent" did not answer initialize within 1\.5 s: it may not be an MCP server speaking stdio/,
        );
        assert.match(r.stderr, /Allow more time with --timeout SECONDS\./);
        assert.match(r.stderr, /The end of its stderr:\nwaiting for nothing/);
        assert.doesNotMatch(r.stderr, /Request timed out/);
        // A sanity bound only: the default (30 s) or the SDK's (60 s) was not used.
        assert.ok(Date.now() - started < 25_000, `took ${Date.now() - started} ms`);
      }
    },
  });
}

Deno.test("mcp-run call names a server that does not answer the call in time", async () => {
  const r = await cli([
    "call",
    faulty("crash-in-call"),
    "hang",
    "{}",
    "--cache",
    cache,
    "--timeout",
    "1",
  ]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(
    r.stderr,
    /mcp-run: Server "faulty-crash-in-call" did not answer tools\/call within 1 s\. Allow more time with --timeout SECONDS\.\nThe end of its stderr:\nhanging\n/,
  );
});

Deno.test("mcp-run inspect reports a refused initialize answer as it is, not as the exit it causes", async () => {
  const r = await cli(["inspect", faulty("old-protocol"), "--cache", cache]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /mcp-run: Server's protocol version is not supported: 1999-01-01/);
  assert.doesNotMatch(r.stderr, /exited with code/);
});

Deno.test("mcp-run inspect and call refuse a --timeout that is not a positive number", async () => {
  for (const value of ["0", "-1", "soon", ""]) {
    const r = await cli(["inspect", faulty("silent"), `--timeout=${value}`, "--cache", cache]);
    assert.equal(r.code, 2, value);
    assert.ok(r.stderr.includes(`--timeout must be a positive number of seconds, got "${value}"`));
  }
  const other = await cli(["flags", "time", "--timeout", "5"]);
  assert.equal(other.code, 2);
  assert.match(other.stderr, /--timeout is not an option of flags/);
});

Deno.test("connectServer() request() rejects with the ServerExitedError of a server that crashed", async () => {
  const manifest = attackerManifest({
    name: "faulty-lib",
    package: FAULTY,
    args: ["crash-in-call"],
  });
  const server = resolveServer(manifest, { cacheRoot: cache });
  const connected = await connectServer(server, {
    cacheRoot: cache,
    source: toolEnv(),
    onStderr: () => {},
    progress: () => {},
  });
  try {
    const { client, request } = connected;
    const echoed = await request(
      "tools/call",
      (o) => client.callTool({ name: "echo", arguments: { text: "ok" } }, undefined, o),
    );
    assert.deepEqual((echoed as { content: unknown[] }).content, [{ type: "text", text: "ok" }]);
    const error = await request(
      "tools/call",
      (o) => client.callTool({ name: "crash", arguments: {} }, undefined, o),
    ).then(
      () => assert.fail("the crash call succeeded"),
      (e) => e,
    );
    assert.ok(error instanceof ServerExitedError, String(error));
    assert.equal(error.code, 7);
    assert.equal(error.signal, null);
    assert.equal(error.stderrTail, "crashing now");
  } finally {
    await connected.close();
  }
});

Deno.test("connectServer() rejects with a TimedOut error naming a silent server", async () => {
  const manifest = attackerManifest({
    name: "faulty-lib-silent",
    package: FAULTY,
    args: ["silent"],
  });
  const server = resolveServer(manifest, { cacheRoot: cache });
  const error = await connectServer(server, {
    cacheRoot: cache,
    source: toolEnv(),
    onStderr: () => {},
    progress: () => {},
    timeoutMs: 1000,
  }).then(
    async (connected) => {
      await connected.close();
      assert.fail("a silent server connected");
    },
    (e) => e,
  );
  assert.ok(error instanceof Deno.errors.TimedOut, String(error));
  assert.match(error.message, /^Server "faulty-lib-silent" did not answer initialize within 1 s/);
  assert.equal((error.cause as { code?: number }).code, -32001);
});
