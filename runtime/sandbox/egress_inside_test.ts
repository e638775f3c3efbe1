import assert from "node:assert/strict";
import {
  EGRESS_INSIDE_READY,
  EGRESS_NOT_READY_EXIT,
  egressSocketDir,
  egressWrapper,
  INSIDE_PROXY_SOCKET,
  insideEgress,
} from "./egress_inside.ts";
import { EGRESS_READY_LINE } from "./egress_forwarder.ts";
import {
  PYTHON_FORWARDER_FILE,
  PYTHON_FORWARDER_SOURCE,
  pythonForwarderArgs,
} from "./python_forwarder.ts";
import { join } from "../_path.ts";

Deno.test("insideEgress() mounts the socket and the Deno forwarder read-only and wraps the server", () => {
  const egress = insideEgress({ cacheRoot: "/c", suffix: "a1b2", runtime: "deno" });
  assert.equal(egress.socketPath, "/c/egress/socket-a1b2/proxy.sock");
  assert.deepEqual(egress.mounts, [
    "type=bind,src=/c/egress/socket-a1b2/proxy.sock,dst=/mcp-run-egress/proxy.sock,readonly",
    "type=bind,src=/c/egress/forwarder/egress_forwarder.js," +
    "dst=/mcp-run-egress/egress_forwarder.js,readonly",
  ]);
  assert.equal(egress.env.HTTP_PROXY, "http://127.0.0.1:3128");
  assert.equal(egress.env.https_proxy, "http://127.0.0.1:3128");
  assert.equal(egress.env.NO_PROXY, "");
  const [sh, c, script, zero] = egress.command;
  assert.deepEqual([sh, c, zero], ["sh", "-c", "sh"]);
  // The forwarder may listen on its port and use the socket, nothing else; its cache is private.
  assert.match(
    script,
    /^ready=\$\( \(unset DENO_AUDIT_PERMISSIONS DENO_TRACE_PERMISSIONS DENO_PERMISSION_BROKER_PATH; export DENO_DIR=\/tmp\/mcp-run-egress-deno; exec deno run --no-config /,
  );
  assert.ok(script.includes(" --allow-net=127.0.0.1:3128,unix:/mcp-run-egress/proxy.sock "));
  assert.ok(
    script.includes(` --allow-read=${INSIDE_PROXY_SOCKET} --allow-write=${INSIDE_PROXY_SOCKET} `),
  );
  assert.doesNotMatch(script, /--allow-(all|run|ffi|env|sys)|-A /);
  assert.ok(script.endsWith('exec "$@"'));
});

Deno.test("insideEgress() runs the Python forwarder with python3 -I", () => {
  const egress = insideEgress({ cacheRoot: "/c", suffix: "x9", runtime: "python", port: 3999 });
  assert.equal(egress.forwarder.file, "egress_forwarder.py");
  assert.match(egress.forwarder.source, /asyncio\.open_unix_connection/);
  assert.ok(egress.mounts[1].endsWith("dst=/mcp-run-egress/egress_forwarder.py,readonly"));
  assert.match(
    egress.command[2],
    /^ready=\$\( \(exec python3 -I \/mcp-run-egress\/egress_forwarder\.py \/mcp-run-egress\/proxy\.sock 3999 256\) <\/dev\/null \| /,
  );
  assert.equal(egress.env.HTTPS_PROXY, "http://127.0.0.1:3999");
});

Deno.test("insideEgress() refuses a hostile suffix, cache root or port", () => {
  for (const suffix of ["", "../x", "a b", "a".repeat(33), "x;rm"]) {
    assert.throws(() => insideEgress({ cacheRoot: "/c", suffix, runtime: "deno" }), RangeError);
  }
  assert.throws(() => egressSocketDir("/c", "a/b"), RangeError);
  assert.throws(
    () => insideEgress({ cacheRoot: "/c,dst=/etc", suffix: "a1", runtime: "deno" }),
    RangeError,
  );
  assert.throws(() => insideEgress({ cacheRoot: "c", suffix: "a1", runtime: "deno" }), RangeError);
  assert.throws(
    () => insideEgress({ cacheRoot: "/c", suffix: "a1", runtime: "deno", port: 70000 }),
    RangeError,
  );
});

async function sh(script: string, args: string[], env: Record<string, string> = {}) {
  const out = await new Deno.Command("sh", {
    args: ["-c", script, "sh", ...args],
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test("egressWrapper() execs the server once the forwarder is ready, without waiting for it to end", async () => {
  // The forwarder stays up (as a real one does) after its ready line, its stdout still open
  // (its stderr is not the test's: output() would wait for it).
  const forwarder = [
    "sh",
    "-c",
    `echo '${EGRESS_READY_LINE} on 127.0.0.1:1'; exec sleep 30 2>/dev/null`,
  ];
  const started = Date.now();
  const run = await sh(egressWrapper(forwarder), ["echo", "server ran"]);
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.stdout, "server ran\n");
  // The launcher's ready mark, once, before the server's own output.
  assert.equal(run.stderr, `${EGRESS_INSIDE_READY}\n`);
  assert.ok(Date.now() - started < 10_000, "the wrapper waited for the forwarder to exit");
});

Deno.test("egressWrapper() passes the forwarder its variables alone", async () => {
  const forwarder = ["sh", "-c", `echo "${EGRESS_READY_LINE} $MARK \${GONE-gone}"`];
  const script = egressWrapper(forwarder, { env: { MARK: "it's set" }, unset: ["GONE"] })
    .replace('exec "$@"', 'echo "$ready|${MARK-unset}|$GONE"');
  const run = await sh(script, [], { GONE: "still here" });
  assert.equal(run.stdout, `${EGRESS_READY_LINE} it's set gone|unset|still here\n`);
  assert.throws(() => egressWrapper(["x"], { env: { "A;B": "1" } }), TypeError);
  assert.throws(() => egressWrapper(["x"], { unset: ["A B"] }), TypeError);
});

Deno.test("egressWrapper() never starts the server when the forwarder fails", async () => {
  for (const forwarder of [["sh", "-c", "echo boom >&2; exit 3"], ["sh", "-c", "echo not ready"]]) {
    const run = await sh(egressWrapper(forwarder), ["echo", "server ran"]);
    assert.equal(run.code, EGRESS_NOT_READY_EXIT);
    assert.equal(run.stdout, "");
    assert.match(
      run.stderr,
      /^mcp-run: the egress forwarder did not start in the container, so the server cannot reach its granted hosts/m,
    );
  }
});

/** The server of the forwarder test: one exchange through the proxy, then its argv as JSON. */
const ECHO_SERVER = `
import json, socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=20)
s.sendall(b"ping through the forwarder")
s.shutdown(socket.SHUT_WR)
data = b""
while True:
    chunk = s.recv(1024)
    if not chunk:
        break
    data += chunk
print(json.dumps({"echo": data.decode(), "args": sys.argv[2:]}))
`;

Deno.test("egressWrapper() runs the Python forwarder, carries bytes to the proxy's socket, and gives hostile server args verbatim", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mcp-run-python-forwarder-" });
  const socketPath = join(dir, "proxy.sock");
  const script = join(dir, PYTHON_FORWARDER_FILE);
  await Deno.writeTextFile(script, PYTHON_FORWARDER_SOURCE);
  // The proxy's stand-in: echoes what a connection sends once its sender is done, then closes.
  const listener = Deno.listen({ transport: "unix", path: socketPath });
  const received: string[] = [];
  const serving = (async () => {
    for await (const conn of listener) {
      let text = "";
      const decoder = new TextDecoder();
      const buffer = new Uint8Array(4096);
      for (let n = await conn.read(buffer); n !== null; n = await conn.read(buffer)) {
        text += decoder.decode(buffer.subarray(0, n), { stream: true });
      }
      received.push(text);
      await conn.write(new TextEncoder().encode(text));
      conn.close();
      return;
    }
  })();
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = probe.addr.port;
  probe.close();
  const hostile = ["$(touch CANARY)", "'; touch CANARY2 #'", "`touch CANARY3`"];
  // Its own process group, so the forwarder (which serves until stopped) is stopped with it.
  const child = new Deno.Command("setsid", {
    args: [
      "sh",
      "-c",
      egressWrapper(pythonForwarderArgs({ script, socketPath, port })),
      "sh",
      "python3",
      "-I",
      "-c",
      ECHO_SERVER,
      String(port),
      ...hostile,
    ],
    cwd: dir,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  try {
    const stdout = await new Response(child.stdout).text();
    const reply = JSON.parse(stdout) as { echo: string; args: string[] };
    assert.deepEqual(reply.args, hostile);
    assert.deepEqual(received, ["ping through the forwarder"]);
    assert.equal(reply.echo, "ping through the forwarder");
    for (const canary of ["CANARY", "CANARY2", "CANARY3"]) {
      assert.throws(() => Deno.statSync(join(dir, canary)), Deno.errors.NotFound);
    }
    // Positive control: the same shell in the same folder does run such text as code.
    await new Deno.Command("sh", { args: ["-c", 'eval "$1"', "sh", hostile[0]], cwd: dir })
      .output();
    assert.ok(Deno.statSync(join(dir, "CANARY")).isFile);
  } finally {
    await new Deno.Command("kill", { args: ["-TERM", "--", `-${child.pid}`] }).output();
    const stderr = await new Response(child.stderr).text();
    await child.status;
    await serving.catch(() => {}); // ends the listener, once its one connection is served
    assert.match(stderr, new RegExp(`^${EGRESS_INSIDE_READY}\n`));
    await Deno.remove(dir, { recursive: true });
  }
});
