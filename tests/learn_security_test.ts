// learn on a malicious server: it reaches for a private key in the real home (directly and
// through a symlink its own folder ships), the launcher's secrets, a loopback service and a file
// outside its folder while it starts, and reports each outcome on stderr. No attack succeeds (the
// server's own report says so, and no secret or key content appears in it), the canaries stay
// untouched, the draft grants none of it, and each access is reported refused with its reason.
// Positive controls: the benign write in its own (scratch) folder succeeds and is drafted, and
// the same server run with every permission reports each attack as a success.
import assert from "node:assert/strict";
import { fileURLToPath as fromFileUrl } from "node:url";
import { learnServer } from "../runtime/learn/learn_server.ts";
import { assertDraftValid, assertGrantsExercised, LEARN_CACHE } from "./_learn_helpers.ts";
import { toolEnv } from "./_helpers.ts";

const FIXTURE = fromFileUrl(new URL("./testdata/learn/malicious/", import.meta.url));
const CANARY_NAME = "MCP_RUN_LEARN_CANARY_SECRET";
const CANARY_VALUE = `canary-${crypto.randomUUID()}`;
const KEY_ID = crypto.randomUUID();
const KEY = `-----BEGIN KEY-----\n${KEY_ID}\n-----END KEY-----\n`;
const ATTACKS = [
  "ssh-key",
  "ssh-key-homedir",
  "env-secret",
  "env-dump",
  "loopback-connect",
  "loopback-fetch",
  "write-outside",
  "symlink-home",
  "symlink-shipped",
  "broker-socket",
];

interface Scene {
  work: string;
  home: string;
  key: string;
  outside: string;
  data: string;
  manifest: string;
  connections: () => number;
  close: () => void;
}

/** A real home with a key, a loopback service counting connections, the fixture's copy. */
async function scene(): Promise<Scene> {
  const work = Deno.realPathSync(await Deno.makeTempDir({ prefix: "mcp-run-learn-attack-" }));
  const home = `${work}/home`;
  await Deno.mkdir(`${home}/.ssh`, { recursive: true });
  await Deno.writeTextFile(`${home}/.ssh/id_rsa`, KEY);
  await Deno.mkdir(`${work}/outside`);
  await Deno.mkdir(`${work}/data`);
  await Deno.writeTextFile(`${work}/data/keep.txt`, "keep");
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  let connections = 0;
  (async () => {
    for await (const conn of listener) {
      connections++;
      conn.close();
    }
  })().catch(() => {});
  const server = `${work}/server`;
  await Deno.mkdir(server);
  for (const file of ["server.ts", "learn.jsonc"]) {
    await Deno.copyFile(`${FIXTURE}${file}`, `${server}/${file}`);
  }
  // A package may ship a symlink that leads out of its folder.
  await Deno.symlink(`${home}/.ssh`, `${server}/assets`);
  const targets = {
    home,
    envName: CANARY_NAME,
    envValue: CANARY_VALUE,
    port: (listener.addr as Deno.NetAddr).port,
    outside: `${work}/outside/pwned.txt`,
  };
  await Deno.writeTextFile(`${server}/targets.json`, JSON.stringify(targets));
  return {
    work,
    home,
    key: `${home}/.ssh/id_rsa`,
    outside: targets.outside,
    data: `${work}/data`,
    manifest: `${server}/learn.jsonc`,
    connections: () => connections,
    close: () => {
      listener.close();
      Deno.removeSync(work, { recursive: true });
    },
  };
}

Deno.test("learnServer() touches no real file, secret or service a malicious server reaches for", async () => {
  const s = await scene();
  const stderr: string[] = [];
  try {
    const learned = await learnServer(s.manifest, {
      onStderr: (line) => stderr.push(line),
      cacheRoot: LEARN_CACHE,
      // The launcher's own environment holds the canary secret: learn must not pass it on.
      source: { ...toolEnv(), [CANARY_NAME]: CANARY_VALUE },
      home: s.home,
      args: ["--data", s.data],
      timeoutMs: 60_000,
    });
    assert.ok(learned.initialized, learned.failure);
    assert.deepEqual(learned.offering.tools, ["echo"]);

    // The server's own report: every attack failed, and nothing it reached for reached it.
    const report = stderr.join("\n");
    for (const attack of ATTACKS) assert.match(report, new RegExp(`ATTACK ${attack} refused`));
    assert.doesNotMatch(report, /ATTACK \S+ ok (?!"hello")/, report);
    assert.ok(!report.includes(KEY_ID) && !report.includes(CANARY_VALUE), report);
    assert.match(report, /ATTACK benign-note ok "hello"/);

    // Canaries untouched: the key unchanged, nothing written outside, no connection, the
    // user's data folder as it was.
    assert.equal(await Deno.readTextFile(s.key), KEY);
    await assert.rejects(() => Deno.lstat(s.outside), Deno.errors.NotFound);
    assert.equal(s.connections(), 0);
    assert.deepEqual([...Deno.readDirSync(s.data)].map((e) => e.name), ["keep.txt"]);

    // The draft grants none of it; the benign access in its own folder is drafted.
    const draft = assertDraftValid(learned, s.home);
    assertGrantsExercised(learned);
    assert.deepEqual(draft.args, ["--data", "${data}"]);
    assert.deepEqual(draft.permissions.read, ["${data}"]);
    assert.deepEqual(draft.permissions.write, ["${data}"]);
    assert.deepEqual(draft.permissions.net, []);
    assert.deepEqual([Object.keys(draft.env), Object.keys(draft.secrets)], [[], []]);
    assert.ok(!learned.text.includes(CANARY_VALUE) && !learned.text.includes(KEY));

    // Each access is reported refused, with the reason.
    const refused = (permission: string, value: string) =>
      learned.findings.find((f) => f.refused && f.permission === permission && f.value === value);
    assert.match(refused("read", s.key)?.reason ?? "", /a learn run reads no real file/);
    assert.match(
      refused("read", "<server-folder>/assets/id_rsa")?.reason ?? "",
      /reads no real file.*through a symlink/,
    );
    assert.match(refused("write", s.outside)?.reason ?? "", /a learn run writes no real file/);
    const port = JSON.parse(await Deno.readTextFile(`${s.work}/server/targets.json`)).port;
    assert.match(refused("net", `127.0.0.1:${port}`)?.reason ?? "", /loopback or private address/);
    // Links need write access to everything; the broker's socket is outside every folder.
    assert.ok(
      learned.findings.some((f) => f.refused && f.permission === "write" && f.value === null),
    );
    assert.ok(!learned.checks.some((c) => c.allowed && /broker\.sock$/.test(c.value ?? "")));
    assert.ok(learned.findings.some((f) => f.refused && /broker\.sock$/.test(f.value ?? "")));
    // The secret was never in the server's environment: its lookup reads as unset.
    assert.ok(learned.checks.some((c) => c.permission === "env" && c.value === CANARY_NAME));
  } finally {
    s.close();
  }
});

Deno.test("learnServer() fixture: the malicious server fires every canary when unconfined (positive control)", async () => {
  const s = await scene();
  try {
    const env = { ...toolEnv(), HOME: s.home, [CANARY_NAME]: CANARY_VALUE, NO_COLOR: "1" };
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--no-config", `${s.work}/server/server.ts`, "--data", s.data],
      env,
      clearEnv: true,
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    // The same report shows a success when the attack works.
    for (
      const attack of [
        "ssh-key",
        "env-secret",
        "env-dump",
        "loopback-connect",
        "write-outside",
        "symlink-home",
        "symlink-shipped",
      ]
    ) {
      assert.match(stderr, new RegExp(`ATTACK ${attack} ok`), stderr);
    }
    assert.match(stderr, /ATTACK ssh-key ok "-----BEGIN KEY/);
    assert.ok(stderr.includes(KEY_ID) && stderr.includes(CANARY_VALUE));
    assert.ok(s.connections() > 0);
    assert.equal(await Deno.readTextFile(s.outside), "pwned");
  } finally {
    s.close();
  }
});
