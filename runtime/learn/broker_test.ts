import assert from "node:assert/strict";
import {
  decideLearnCheck,
  MAX_RECORDED_CHECKS,
  NATIVE_ESCAPE_REASON,
  startBroker,
} from "./broker.ts";

const policy = { read: ["/s", "/code"], write: ["/s/out"], imports: ["jsr.example:443"] };

Deno.test("decideLearnCheck() follows the learn policy for every permission", () => {
  const cases: [string, string | null, boolean][] = [
    ["read", "/s/a", true],
    ["read", "/code/pkg/package.json", true],
    ["read", "/home/ada/.ssh/id_rsa", false],
    ["read", "/s/../etc/passwd", false],
    ["read", "/sibling", false],
    ["read", "s/a", false],
    ["write", "/s/out/../../x", false],
    ["write", "/s/out/./a", true],
    ["read", "/s2/x", false],
    ["read", null, false],
    ["write", "/s/out/a", true],
    ["write", "/s/a", false],
    ["write", "/code/pkg/x", false],
    ["env", "GITHUB_TOKEN", true],
    ["env", null, true],
    ["sys", "hostname", true],
    ["net", "api.example.com:443", false],
    ["net", "127.0.0.1:80", false],
    ["import", "https://evil.example/x.js", false],
    ["import", "jsr.example:443", true],
    ["import", "esm.sh:443", false],
    ["run", "git", false],
    ["run", null, false],
    ["ffi", "/code/x.node", false],
    ["bogus", "x", false],
  ];
  for (const [permission, value, allowed] of cases) {
    const verdict = decideLearnCheck({ permission, value }, policy);
    assert.equal(verdict.allowed, allowed, `${permission} ${value}`);
    if (!allowed) assert.ok(verdict.reason, `${permission} ${value} has a reason`);
  }
  assert.equal(
    decideLearnCheck({ permission: "run", value: "git" }, policy).reason,
    NATIVE_ESCAPE_REASON.run,
  );
  assert.equal(
    decideLearnCheck({ permission: "run", value: null }, policy).reason,
    NATIVE_ESCAPE_REASON.run,
  );
});

/** Sends questions on the broker's socket as Deno would, returning the answer lines. */
async function ask(socketPath: string, lines: string[]): Promise<string[]> {
  const conn = await Deno.connect({ transport: "unix", path: socketPath });
  await conn.write(new TextEncoder().encode(lines.map((l) => `${l}\n`).join("")));
  const answers: string[] = [];
  let buffer = "";
  const decoder = new TextDecoder();
  for await (const chunk of conn.readable) {
    buffer += decoder.decode(chunk);
    const parts = buffer.split("\n");
    buffer = parts.pop()!;
    answers.push(...parts);
    if (answers.length >= lines.length) break;
  }
  try {
    conn.close();
  } catch { /* closed by the broker */ }
  return answers;
}

Deno.test("startBroker() answers a real Deno process and records each distinct check once", async () => {
  const dir = Deno.realPathSync(Deno.makeTempDirSync());
  const broker = await startBroker({ policy: { read: [dir], write: [] } });
  try {
    const mode = (await Deno.stat(broker.socketPath.replace(/\/[^/]+$/, ""))).mode! & 0o777;
    assert.equal(mode, 0o700);
    Deno.writeTextFileSync(`${dir}/a.txt`, "a");
    const code = `
      Deno.readTextFileSync(${JSON.stringify(`${dir}/a.txt`)});
      Deno.readTextFileSync(${JSON.stringify(`${dir}/a.txt`)});
      try { Deno.writeTextFileSync(${
      JSON.stringify(`${dir}/b.txt`)
    }, "b"); } catch (e) { console.log(e.name); }
      console.log(Deno.env.get("NOT_SET_ANYWHERE"));
    `;
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["eval", code],
      env: { DENO_PERMISSION_BROKER_PATH: broker.socketPath, NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stdout = new TextDecoder().decode(out.stdout);
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    assert.equal(stdout, "NotCapable\nundefined\n");
    const checks = broker.checks();
    const read = checks.find((c) => c.permission === "read" && c.value === `${dir}/a.txt`);
    assert.equal(read?.allowed, true);
    assert.equal(read?.count, 2);
    const write = checks.find((c) => c.permission === "write");
    assert.deepEqual([write?.value, write?.allowed], [`${dir}/b.txt`, false]);
    assert.match(write?.reason ?? "", /writes no real file/);
  } finally {
    await broker.close();
    Deno.removeSync(dir, { recursive: true });
  }
  await assert.rejects(() => Deno.lstat(broker.socketPath), Deno.errors.NotFound);
});

Deno.test("startBroker() bounds what it records and drops a connection that sends junk", async () => {
  const broker = await startBroker({ policy: { read: [], write: [] }, maxChecks: 2 });
  try {
    const q = (id: number, value: string) =>
      JSON.stringify({ v: 1, pid: 1, id, permission: "env", value });
    const answers = await ask(broker.socketPath, [q(1, "A"), q(2, "B"), q(3, "C"), q(4, "A")]);
    assert.deepEqual(answers.map((a) => JSON.parse(a).result), [
      "allow",
      "allow",
      "allow",
      "allow",
    ]);
    assert.deepEqual(broker.checks().map((c) => c.value), ["A", "B"]);
    assert.equal(broker.dropped(), 1);
    assert.deepEqual(await ask(broker.socketPath, ["not json"]), []);
    assert.deepEqual(await ask(broker.socketPath, ["x".repeat(40_000)]), []);
    assert.equal(broker.malformed(), 2);
  } finally {
    await broker.close();
  }
  assert.ok(MAX_RECORDED_CHECKS >= 1000);
});

Deno.test("startBroker() allows env because Deno 2.9.6 ignores --ignore-env under a broker", async () => {
  // A broker that refuses everything: the fact that the learn policy's env rule rests on.
  const dir = Deno.makeTempDirSync();
  const path = `${dir}/deny.sock`;
  const listener = Deno.listen({ transport: "unix", path });
  const serving = (async () => {
    for await (const conn of listener) {
      (async () => {
        let buffer = "";
        for await (const chunk of conn.readable) {
          buffer += new TextDecoder().decode(chunk);
          let end;
          while ((end = buffer.indexOf("\n")) >= 0) {
            const { id } = JSON.parse(buffer.slice(0, end));
            buffer = buffer.slice(end + 1);
            await conn.write(
              new TextEncoder().encode(`${JSON.stringify({ id, result: "deny" })}\n`),
            );
          }
        }
      })().catch(() => {});
    }
  })().catch(() => {});
  try {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["eval", "--ignore-env", "console.log(Deno.env.get('NOT_SET_ANYWHERE'))"],
      env: { DENO_PERMISSION_BROKER_PATH: path, NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.notEqual(out.code, 0);
    assert.match(new TextDecoder().decode(out.stderr), /NotCapable/);
  } finally {
    listener.close();
    await serving;
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("startBroker() judges a path by where it really is, through symlinks", async () => {
  const dir = Deno.realPathSync(Deno.makeTempDirSync());
  const root = `${dir}/a`;
  Deno.mkdirSync(`${root}/code`, { recursive: true });
  Deno.mkdirSync(`${dir}/outside`);
  Deno.writeTextFileSync(`${dir}/outside/secret`, "s");
  Deno.writeTextFileSync(`${root}/code/own.txt`, "o");
  // A package may ship links; the server itself cannot make one (see the module doc).
  Deno.symlinkSync("/etc", `${root}/code/etcl`);
  Deno.symlinkSync(`${dir}/outside`, `${root}/code/out`);
  Deno.symlinkSync(`${dir}/outside/new.txt`, `${root}/code/dangling`);
  Deno.symlinkSync(`${root}/code/own.txt`, `${root}/code/inner`);
  const broker = await startBroker({
    policy: { read: [root], write: [root], cwd: `${root}/code` },
  });
  try {
    const q = (id: number, permission: string, value: string) =>
      JSON.stringify({ v: 1, pid: 1, id, permission, value });
    const cases: [string, string, string][] = [
      ["read", `${root}/code/etcl/hostname`, "deny"],
      ["read", `${root}/code/out/secret`, "deny"],
      ["write", `${root}/code/out/new.txt`, "deny"],
      ["write", `${root}/code/dangling`, "deny"],
      ["read", `${root}/code/nothing/../../../outside/secret`, "deny"],
      ["read", `${root}/code/inner`, "allow"],
      ["write", `${root}/code/new/deeper.txt`, "allow"],
      ["read", "own.txt", "allow"],
      ["read", "etcl/hostname", "deny"],
    ];
    const answers = await ask(
      broker.socketPath,
      cases.map(([permission, value], i) => q(i + 1, permission, value)),
    );
    assert.deepEqual(
      answers.map((a, i) => [cases[i][1], JSON.parse(a).result]),
      cases.map(([, value, result]) => [value, result]),
    );
    const etc = broker.checks().find((c) => c.value === `${root}/code/etcl/hostname`);
    assert.match(etc?.reason ?? "", /reads no real file.*through a symlink/);
    // A relative path is recorded as the absolute path it names.
    assert.ok(broker.checks().some((c) => c.value === `${root}/code/own.txt` && c.allowed));
  } finally {
    await broker.close();
    Deno.removeSync(dir, { recursive: true });
  }
});
