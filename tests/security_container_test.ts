/**
 * Security proof, container packages: the malicious Python fixture, pulled as a `pypi:` package
 * through mcp-run's own pull from a loopback index, runs in the hardened container under a
 * manifest that grants a read folder, a write folder and one env name, and tries to read a file
 * outside its mounts, read an undeclared variable, write its own code, fork-bomb and exhaust
 * memory. Each attempt has a canary (a host file, a variable's value in the launcher's
 * environment) and a positive control: the same attempt against what is granted, or the same
 * fixture run unsandboxed on the host, succeeds. Nothing is left running. One pull for the file.
 *
 * The network attacks are in security_container_net_test.ts.
 *
 * In CI (CI=true) these tests never skip: docker or the image missing there fails the run.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { listContainers } from "../runtime/sandbox/docker_engine.ts";
import { DockerSandbox } from "../runtime/sandbox/docker_sandbox.ts";
import {
  callUnsandboxed,
  evilOptions,
  evilProblem,
  evilServer,
  launchEvil,
  pullEvil,
} from "./_evil_container.ts";
import { tempDir, toolEnv } from "./_helpers.ts";
import { removeOnExit } from "./_security.ts";

const problem = await evilProblem();
if (problem && Deno.env.get("CI") === "true") {
  throw new Error(`Docker tests cannot be skipped in CI: ${problem}`);
}
if (problem) console.error(`security_container_test.ts: skipping, ${problem}`);
const ignore = problem !== undefined;

const NAME = "evil-container";
const dir = removeOnExit(tempDir("mcp-run-sec-container-"));
const cache = join(dir, "cache");
const shared = join(dir, "shared");
const out = join(dir, "out");
const secret = join(dir, "secret");
const canaryFile = join(secret, "canary.txt");
const CANARY_TEXT = `canary-file-${crypto.randomUUID()}`;
const GRANTED_VALUE = `granted-${crypto.randomUUID()}`;
const SECRET_VALUE = `canary-env-${crypto.randomUUID()}`;
if (!ignore) {
  for (const d of [shared, out, secret]) Deno.mkdirSync(d, { recursive: true });
  Deno.writeTextFileSync(join(shared, "granted.txt"), "granted content\n");
  Deno.writeTextFileSync(canaryFile, CANARY_TEXT);
  // The container user is not the launcher: the write grant must be writable by it.
  Deno.chmodSync(out, 0o777);
}

/** The launcher's environment: a declared name, and a canary it must never pass on. */
const SOURCE = { ...toolEnv(), EVIL_GRANTED: GRANTED_VALUE, EVIL_SECRET: SECRET_VALUE };
const server = evilServer(
  { name: NAME, read: [shared], write: [out], env: ["EVIL_GRANTED"] },
  cache,
);
const options = evilOptions(cache, SOURCE);

let pulled: ReturnType<typeof pullEvil> | undefined;
/** The one pull of the file. */
function pull(): ReturnType<typeof pullEvil> {
  pulled ??= pullEvil(server, cache);
  return pulled;
}

async function launch() {
  await pull();
  return await launchEvil(server, options);
}

async function noneLeft(): Promise<void> {
  for (let i = 0; i < 40 && (await listContainers({ "mcp-run.server": NAME })).length; i++) {
    await new Promise((r) => setTimeout(r, 250));
  }
  assert.deepEqual(await listContainers({ "mcp-run.server": NAME }), [], "containers left");
}

const base = { ignore, sanitizeResources: false, sanitizeOps: false };

Deno.test({
  ...base,
  name: "pythonPull() installs the fixture from the loopback index; it runs hardened, not root",
  fn: async () => {
    const { record, requests } = await pull();
    assert.equal(record.script, "mcp-run-test-evil");
    assert.ok(
      requests.some((r) => r.startsWith("GET /files/mcp_run_test_evil-0.1.0")),
      requests.join(),
    );
    await using evil = await launch();
    const me = await evil.call("whoami");
    assert.notEqual(me.uid, 0);
    assert.equal(me.status.CapEff, "0000000000000000");
    assert.equal(me.status.NoNewPrivs, "1");
    assert.ok(me.file.startsWith("/mcp-run-code/"), me.file);
  },
});

Deno.test({
  ...base,
  name: "DockerSandbox mounts only the granted folders: a host file outside them is not there",
  fn: async () => {
    {
      await using evil = await launch();
      // Positive control: the read grant is readable, the write grant writable.
      const granted = await evil.call("read_file", { path: join(shared, "granted.txt") });
      assert.equal(granted.content, "granted content\n");
      const wrote = await evil.call("write_file", { path: join(out, "new.txt"), content: "hi" });
      assert.equal(wrote.ok, true, JSON.stringify(wrote));
      assert.equal(await Deno.readTextFile(join(out, "new.txt")), "hi");

      const stolen = await evil.call("read_file", { path: canaryFile });
      assert.equal(stolen.ok, false);
      assert.equal(stolen.errno, "ENOENT", JSON.stringify(stolen));
      const parent = await evil.call("read_file", {
        path: join(dir, "secret", "..", "secret", "canary.txt"),
      });
      assert.equal(parent.ok, false);
      // The read grant is read-only; the canary's folder does not exist to write into.
      const overwrite = await evil.call("write_file", { path: join(shared, "granted.txt") });
      assert.equal(overwrite.errno, "EROFS", JSON.stringify(overwrite));
      const plant = await evil.call("write_file", { path: canaryFile, content: "pwned" });
      assert.equal(plant.ok, false);
      // The host's own files are not the container's.
      const passwd = await evil.call("read_file", { path: "/etc/hostname" });
      assert.ok(!passwd.ok || passwd.content.trim() !== Deno.hostname(), JSON.stringify(passwd));
    }
    assert.equal(await Deno.readTextFile(canaryFile), CANARY_TEXT);
    assert.equal(await Deno.readTextFile(join(shared, "granted.txt")), "granted content\n");
    // Positive control: the same fixture unsandboxed reads the canary, so the canary can fire.
    const control = await callUnsandboxed("read_file", { path: canaryFile });
    assert.equal(control.content, CANARY_TEXT);
    await noneLeft();
  },
});

Deno.test({
  ...base,
  name: "DockerSandbox passes only the declared env name: the launcher's canary never arrives",
  fn: async () => {
    {
      await using evil = await launch();
      const granted = await evil.call("read_env", { name: "EVIL_GRANTED" });
      assert.equal(granted.value, GRANTED_VALUE);
      const stolen = await evil.call("read_env", { name: "EVIL_SECRET" });
      assert.equal(stolen.ok, false);
      const names: string[] = (await evil.call("env_names")).names;
      assert.ok(!names.includes("EVIL_SECRET"), names.join(","));
      for (const name of ["DENO_DIR", "PIP_INDEX_URL", "SSL_CERT_FILE", "HTTP_PROXY"]) {
        assert.ok(!names.includes(name), `${name} leaked: ${names.join(",")}`);
      }
      // No variable carries the canary's value under another name.
      for (const name of names) {
        const value = (await evil.call("read_env", { name })).value ?? "";
        assert.ok(!value.includes(SECRET_VALUE), `${name} carries the canary`);
      }
    }
    // Positive control: unsandboxed with the launcher's environment, the canary is read.
    const control = await callUnsandboxed("read_env", { name: "EVIL_SECRET" }, SOURCE);
    assert.equal(control.value, SECRET_VALUE);
    await noneLeft();
  },
});

Deno.test({
  ...base,
  name: "DockerSandbox mounts the installed code read-only: the server cannot change it",
  fn: async () => {
    {
      await using evil = await launch();
      const attempt = await evil.call("write_own_code");
      assert.equal(attempt.ok, false, JSON.stringify(attempt));
      assert.match(attempt.create.errno, /^(EROFS|EACCES)$/);
      assert.match(attempt.open_module.errno, /^(EROFS|EACCES)$/);
      // Nor can it run code it writes to its scratch space: the tmpfs is noexec.
      const exec = await evil.call("exec_in", { folder: "/tmp" });
      assert.equal(exec.ok, false, JSON.stringify(exec));
      // Positive control: the tool does run a script where it may (the write grant).
      const control = await evil.call("exec_in", { folder: out });
      assert.equal(control.stdout, "exec-ok\n", JSON.stringify(control));
    }
    // The code still matches its pull record.
    await (await new DockerSandbox({ ...options, autoPull: false }).prepare(server)).verify();
    // Positive control: unsandboxed, the same tool can write beside its module.
    const control = await callUnsandboxed("write_own_code", {});
    assert.equal(control.ok, true, JSON.stringify(control));
    await noneLeft();
  },
});

Deno.test({
  ...base,
  name:
    "DockerSandbox bounds processes and memory: a fork bomb and a memory hog stop, the server lives",
  fn: async () => {
    {
      await using evil = await launch();
      // Positive controls: a few children and a little memory are fine.
      const few = await evil.call("fork_bomb", { max: 16, hold_seconds: 0.5 });
      assert.equal(few.ok, true, JSON.stringify(few));
      const little = await evil.call("alloc_memory", { max_mb: 96, step_mb: 16 });
      assert.equal(little.ok, true, JSON.stringify(little));

      const bomb = await evil.call("fork_bomb", { max: 600, hold_seconds: 2 });
      assert.equal(bomb.ok, false, JSON.stringify(bomb));
      assert.equal(bomb.errno, "EAGAIN", JSON.stringify(bomb));
      assert.ok(bomb.forked < 256, `forked ${bomb.forked}`);
      const hog = await evil.call("alloc_memory", { max_mb: 2048, step_mb: 32 });
      assert.equal(hog.ok, false, JSON.stringify(hog));
      assert.ok(hog.allocated_mb < 600, `allocated ${hog.allocated_mb} MB`);
      assert.ok(hog.signal === 9 || hog.memory_error === true, JSON.stringify(hog));
      // The limits hit the attacker's children; the server still answers.
      assert.equal((await evil.call("whoami")).ok, true);
    }
    await noneLeft();
  },
});
