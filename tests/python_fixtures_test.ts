/**
 * The Python fixture servers report what happened truthfully: every attempt of the malicious
 * server works with no sandbox (the positive controls), and each is refused, with the errno the
 * sandbox tests assert on, in a container hardened the way Python and OCI servers are run.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { runDocker } from "../runtime/sandbox/docker_engine.ts";
import { dockerProblem } from "./_docker.ts";
import { PYTHON_IMAGE } from "./_oci_server_image.ts";
import { PYTHON_TESTDATA } from "./_pypi_index.ts";

const dockerSkip = await dockerProblem("python_fixtures_test.ts: skipping the container test", {
  python: true,
});
const encoder = new TextEncoder();
const decoder = new TextDecoder();

type Result = Record<string, unknown> & { ok: boolean };

async function connectServer(command: string, args: string[], env: Record<string, string>) {
  const client = new Client({ name: "test", version: "1.0.0" });
  await client.connect(new StdioClientTransport({ command, args, env, stderr: "pipe" }));
  const call = async (name: string, args: Record<string, unknown> = {}): Promise<Result> => {
    const result = await client.callTool({ name, arguments: args });
    const parsed = JSON.parse((result.content as { text: string }[])[0].text) as Result;
    assert.equal(result.isError, !parsed.ok, `${name}: isError is the negation of ok`);
    return parsed;
  };
  return { client, call };
}

/** A copy of the server in a temp folder, so writing its own code touches no source file. */
async function serverCopy(): Promise<string> {
  const dir = await Deno.makeTempDir();
  await Deno.copyFile(join(PYTHON_TESTDATA, "evil_server.py"), join(dir, "evil_server.py"));
  await Deno.chmod(dir, 0o755);
  return dir;
}

/**
 * A stand-in HTTP proxy: records each request head; refuses CONNECT to an IP literal, tunnels
 * nothing, redirects `/start` to `/final` and answers everything else with 200.
 */
function startFakeProxy(): { port: number; heads: string[]; close(): void } {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const heads: string[] = [];
  (async () => {
    for await (const conn of listener) {
      (async () => {
        const buffer = new Uint8Array(8192);
        const n = await conn.read(buffer) ?? 0;
        const head = decoder.decode(buffer.subarray(0, n));
        heads.push(head);
        const [method, target] = head.split(" ");
        let answer = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nfinal";
        if (method === "CONNECT") {
          answer = /^[\d.]+:\d+$/.test(target)
            ? "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n"
            : "HTTP/1.1 200 Connection established\r\n\r\n";
        } else if (target.endsWith("/start")) {
          answer = `HTTP/1.1 302 Found\r\nLocation: ${target.replace("/start", "/final")}\r\n` +
            "Content-Length: 0\r\nConnection: close\r\n\r\n";
        }
        await conn.write(encoder.encode(answer)).catch(() => {});
        conn.close();
      })();
    }
  })().catch(() => {});
  return {
    port: (listener.addr as Deno.NetAddr).port,
    heads,
    close: () => listener.close(),
  };
}

Deno.test("evil_server.py does everything it tries when nothing stops it (positive controls)", async () => {
  const code = await serverCopy();
  const canary = join(code, "canary.txt");
  await Deno.writeTextFile(canary, "CANARY-7f3a");
  const target = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const targetPort = (target.addr as Deno.NetAddr).port;
  (async () => {
    for await (const conn of target) {
      await conn.read(new Uint8Array(64));
      await conn.write(encoder.encode("pong"));
      conn.close();
    }
  })().catch(() => {});
  const proxy = startFakeProxy();
  const { client, call } = await connectServer("python3", [join(code, "evil_server.py")], {
    PATH: Deno.env.get("PATH")!,
    CANARY_SECRET: "secret-42",
    HTTP_PROXY: `http://127.0.0.1:${proxy.port}`,
    HTTPS_PROXY: `http://127.0.0.1:${proxy.port}`,
  });
  try {
    const { tools } = await client.listTools();
    assert.equal(tools.length, 16);
    assert.equal((await call("read_file", { path: canary })).content, "CANARY-7f3a");
    assert.equal((await call("write_file", { path: join(code, "w.txt") })).ok, true);
    const own = await call("write_own_code");
    assert.deepEqual([own.create, own.open_module], [{ ok: true }, { ok: true }]);
    assert.equal((await call("exec_in", { folder: code })).stdout, "exec-ok\n");
    assert.equal((await call("read_env", { name: "CANARY_SECRET" })).value, "secret-42");
    assert.ok((await call("env_names")).names);
    assert.ok(((await call("resolve", { host: "localhost" })).addresses as string[]).length);
    assert.equal(
      (await call("connect", { host: "127.0.0.1", port: targetPort, payload: "ping" })).reply,
      "pong",
    );

    assert.equal((await call("proxy_connect", { target: "10.99.0.10:443" })).status, 403);
    assert.equal((await call("proxy_connect", { target: "api.example.test:443" })).status, 200);
    const forged = await call("proxy_get", {
      url: "http://api.example.test/",
      host_header: "metadata.internal",
    });
    assert.equal(forged.status, 200);
    assert.match(
      proxy.heads.at(-1)!,
      /^GET http:\/\/api\.example\.test\/ HTTP\/1\.1\r\nHost: metadata\.internal\r\n/,
    );
    const fetched = await call("fetch", { url: "http://api.example.test/start" });
    assert.deepEqual([fetched.status, fetched.final_url, fetched.body], [
      200,
      "http://api.example.test/final",
      "final",
    ]);
    // Both hops went through the proxy: a redirect is a new request it gets to vet.
    assert.deepEqual(proxy.heads.slice(-2).map((h) => h.split("\r\n")[0]), [
      "GET http://api.example.test/start HTTP/1.1",
      "GET http://api.example.test/final HTTP/1.1",
    ]);
    const unfollowed = await call("fetch", {
      url: "http://api.example.test/start",
      follow_redirects: false,
    });
    assert.equal(unfollowed.status, 302);

    assert.deepEqual(await call("fork_bomb", { max: 8, hold_seconds: 0.2 }), {
      ok: true,
      forked: 8,
      max: 8,
      errno: null,
      error: null,
    });
    const memory = await call("alloc_memory", { max_mb: 64, step_mb: 16 });
    assert.deepEqual([memory.ok, memory.allocated_mb], [true, 64]);
    assert.equal((await call("whoami")).uid, Deno.uid());
  } finally {
    await client.close();
    proxy.close();
    target.close();
    await Deno.remove(code, { recursive: true });
  }
});

Deno.test({
  name: "evil_server.py reports each refusal of a hardened container with its errno",
  ignore: dockerSkip !== undefined,
  fn: async () => {
    const code = await serverCopy();
    const canary = join(code, "canary.txt");
    await Deno.writeTextFile(canary, "CANARY-7f3a");
    // Writable by anyone: only the read-only mount can refuse the write.
    await Deno.chmod(join(code, "evil_server.py"), 0o666);
    const name = `mcp-run-test-evil-${crypto.randomUUID().slice(0, 8)}`;
    const { client, call } = await connectServer("docker", [
      "run",
      "-i",
      "--rm",
      "--name",
      name,
      "--network",
      "none",
      "--read-only",
      "--user",
      "65534:65534",
      "--cap-drop",
      "ALL",
      "--security-opt",
      "no-new-privileges",
      "--pids-limit",
      "32",
      "--memory",
      "128m",
      "--memory-swap",
      "128m",
      "--tmpfs",
      "/tmp:rw,noexec,nosuid,nodev,size=16m",
      "-v",
      `${join(code, "evil_server.py")}:/code/evil_server.py:ro`,
      "-e",
      "HTTPS_PROXY=http://127.0.0.1:3128",
      PYTHON_IMAGE,
      "python3",
      "/code/evil_server.py",
    ], { PATH: Deno.env.get("PATH")!, CANARY_SECRET: "secret-42" });
    try {
      assert.equal((await call("read_file", { path: canary })).errno, "ENOENT");
      const own = await call("write_own_code");
      assert.deepEqual([own.ok, (own.create as Result).errno], [false, "EROFS"]);
      assert.equal((own.open_module as Result).errno, "EROFS");
      assert.equal((await call("write_file", { path: "/etc/evil" })).errno, "EROFS");
      assert.equal((await call("exec_in", { folder: "/tmp" })).errno, "EACCES");
      assert.equal((await call("read_env", { name: "CANARY_SECRET" })).error, "not set");
      assert.match(String((await call("resolve", { host: "example.com" })).errno), /^EAI_/);
      assert.equal((await call("connect", { host: "1.1.1.1", port: 443 })).errno, "ENETUNREACH");
      assert.equal(
        (await call("proxy_connect", { target: "10.99.0.10:443" })).errno,
        "ECONNREFUSED",
      );
      const bomb = await call("fork_bomb", { max: 100, hold_seconds: 1 });
      assert.equal(bomb.ok, false);
      assert.equal(bomb.errno, "EAGAIN");
      assert.ok((bomb.forked as number) < 32);
      const memory = await call("alloc_memory", { max_mb: 1024, step_mb: 16 });
      assert.equal(memory.ok, false);
      assert.ok((memory.allocated_mb as number) < 128);
      assert.ok(memory.signal === 9 || memory.memory_error === true, JSON.stringify(memory));
      const me = await call("whoami");
      assert.equal(me.uid, 65534);
      assert.deepEqual(me.status, {
        CapPrm: "0000000000000000",
        CapEff: "0000000000000000",
        CapBnd: "0000000000000000",
        NoNewPrivs: "1",
        Seccomp: "2",
      });
    } finally {
      await client.close();
      await runDocker(["rm", "-f", name]);
      await Deno.remove(code, { recursive: true });
    }
  },
});
