import assert from "node:assert/strict";
import {
  EGRESS_FORWARDER_FILE,
  EGRESS_FORWARDER_SOURCE,
  EGRESS_READY_LINE,
  egressForwarderArgs,
  writeEgressForwarder,
} from "./egress_forwarder.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

Deno.test("egressForwarderArgs() grants the loopback port and the socket, nothing else", () => {
  const argv = egressForwarderArgs({ script: "/f/fw.js", socketPath: "/s/p.sock", port: 3128 });
  assert.deepEqual(argv, [
    "run",
    "--no-config",
    "--no-lock",
    "--no-prompt",
    "--no-remote",
    "--no-npm",
    "--allow-net=127.0.0.1:3128,unix:/s/p.sock",
    "--allow-read=/s/p.sock",
    "--allow-write=/s/p.sock",
    "/f/fw.js",
    "/s/p.sock",
    "3128",
    "256",
  ]);
  assert.ok(
    !argv.some((a) => a === "-A" || a === "--allow-all" || /^--allow-(run|ffi|env|sys)/.test(a)),
  );
});

Deno.test("egressForwarderArgs() refuses paths that could widen a flag and bad ports", () => {
  const ok = { script: "/f/fw.js", socketPath: "/s/p.sock", port: 3128 };
  for (
    const bad of [
      { ...ok, socketPath: "/s/p.sock,/etc" },
      { ...ok, socketPath: "relative.sock" },
      { ...ok, script: "/f/a b.js" },
      { ...ok, port: 0 },
      { ...ok, port: 70000 },
      { ...ok, maxConnections: 0 },
    ]
  ) {
    assert.throws(() => egressForwarderArgs(bad), RangeError);
  }
});

Deno.test("writeEgressForwarder() writes the source readable by others and keeps an unchanged copy", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "mcp-run-forwarder-" });
  try {
    const file = await writeEgressForwarder(`${dir}/egress`);
    assert.equal(file, `${dir}/egress/${EGRESS_FORWARDER_FILE}`);
    assert.equal(Deno.readTextFileSync(file), EGRESS_FORWARDER_SOURCE);
    assert.equal(Deno.statSync(file).mode! & 0o777, 0o644);
    assert.equal(Deno.statSync(`${dir}/egress`).mode! & 0o777, 0o755);
    const before = Deno.statSync(file).mtime;
    await writeEgressForwarder(`${dir}/egress`);
    assert.deepEqual(Deno.statSync(file).mtime, before);
    Deno.writeTextFileSync(file, "tampered");
    await writeEgressForwarder(`${dir}/egress`);
    assert.equal(Deno.readTextFileSync(file), EGRESS_FORWARDER_SOURCE);
    assert.deepEqual([...Deno.readDirSync(`${dir}/egress`)].map((e) => e.name), [
      EGRESS_FORWARDER_FILE,
    ]);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

function freePort(): number {
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (probe.addr as Deno.NetAddr).port;
  probe.close();
  return port;
}

async function readAll(conn: Deno.Conn): Promise<string> {
  let text = "";
  const buf = new Uint8Array(1024);
  while (true) {
    const n = await conn.read(buf).catch(() => null);
    if (n === null) return text;
    text += dec.decode(buf.subarray(0, n));
  }
}

Deno.test("EGRESS_FORWARDER_SOURCE pipes each loopback connection to the socket, under its minimal flags", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "mcp-run-forwarder-" });
  const socketPath = `${dir}/proxy.sock`;
  // A stand-in proxy: answers each connection with what it read, upper-cased, then closes.
  const proxy = Deno.listen({ transport: "unix", path: socketPath });
  let proxied = 0;
  const serving = (async () => {
    for await (const conn of proxy) {
      proxied++;
      const buf = new Uint8Array(1024);
      const n = await conn.read(buf);
      await conn.write(enc.encode(dec.decode(buf.subarray(0, n ?? 0)).toUpperCase()));
      conn.close();
    }
  })().catch(() => {});
  const script = await writeEgressForwarder(`${dir}/fw`);
  const port = freePort();
  const child = new Deno.Command(Deno.execPath(), {
    args: egressForwarderArgs({ script, socketPath, port, maxConnections: 1 }),
    env: { NO_COLOR: "1", DENO_DIR: `${dir}/deno-dir` },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
  try {
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    const first = await reader.read();
    assert.match(first.value ?? "", new RegExp(`^${EGRESS_READY_LINE} on 127\\.0\\.0\\.1:${port}`));
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    await conn.write(enc.encode("hello through the forwarder"));
    assert.equal(await readAll(conn), "HELLO THROUGH THE FORWARDER");
    conn.close();
    assert.equal(proxied, 1);
    reader.releaseLock();
  } finally {
    clearTimeout(timer);
    child.kill("SIGKILL");
    await child.status;
    await child.stdout.cancel().catch(() => {});
    await child.stderr.cancel();
    proxy.close();
    await serving;
    Deno.removeSync(dir, { recursive: true });
  }
});
