/**
 * The container attacks every container package kind must stop, as tests: the malicious
 * fixture, launched by the docker sandbox under a manifest granting a read folder, a write folder
 * and one env name, tries to read a host file outside its mounts, write the read-only root or
 * its own code, find the Docker socket, read an undeclared variable, run what it writes to its
 * scratch space, fork-bomb, exhaust memory, and reach the network it was not given. Each has a canary (a host file, a value in the
 * launcher's environment) and a positive control: the same attempt against what is granted, or
 * the same fixture run unsandboxed on the host, succeeds. After each, nothing is left running.
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import type { ResolvedServer } from "../runtime/policy/resolve.ts";
import { listContainers } from "../runtime/sandbox/docker_engine.ts";
import type { LaunchPlan } from "../runtime/sandbox/launch_plan.ts";
import { DEFAULT_LIMITS } from "../runtime/sandbox/resource_caps.ts";
import { ServerExitedError } from "../runtime/sandbox/server_process.ts";
import { DockerSandbox, type DockerSandboxOptions } from "../runtime/sandbox/docker_sandbox.ts";
import {
  callUnsandboxed,
  type ContainerIsolation,
  type EvilContainer,
  type EvilGrants,
  evilImage,
  evilOptions,
  launchEvil,
  pullEvilImage,
} from "./_evil_container.ts";
import { onImage, OPEN_FOLDER, openRootImage, withoutReadOnly } from "./_open_root_image.ts";
import { tempDir, toolEnv } from "./_helpers.ts";
import { removeOnExit } from "./_security.ts";

/** The folders, canaries and environment of one test file, and its one prepared server. */
export class AttackScene {
  /** The manifest's name. */
  readonly name: string;
  /** The file's folder (removed on exit). */
  readonly dir: string;
  /** The cache root. */
  readonly cache: string;
  /** The read grant (mode 0777), holding `granted.txt` (mode 0666). */
  readonly shared: string;
  /** The write grant. */
  readonly out: string;
  /** A host file outside every grant. */
  readonly canaryFile: string;
  /** Its content. */
  readonly canaryText: string = `canary-file-${crypto.randomUUID()}`;
  /** The value of the declared variable `EVIL_GRANTED`. */
  readonly grantedValue: string = `granted-${crypto.randomUUID()}`;
  /** The value of `EVIL_SECRET`, in the launcher's environment and never declared. */
  readonly secretValue: string = `canary-env-${crypto.randomUUID()}`;
  /** The launcher's environment. */
  readonly source: Record<string, string>;
  /** The sandbox options. */
  readonly options: DockerSandboxOptions;
  /** The sandbox the fixture runs in: docker (runc) or gVisor. */
  readonly isolation: ContainerIsolation;
  #prepare: (scene: AttackScene) => Promise<ResolvedServer>;
  #server?: Promise<ResolvedServer>;

  /**
   * Makes the folders and canaries (unless `ignore`).
   *
   * @param name The manifest's name.
   * @param prepare Resolves and pulls the server, once for the file.
   * @param ignore Whether the file's tests are skipped (nothing is made).
   * @param isolation The sandbox the fixture runs in (default `docker`).
   */
  constructor(
    name: string,
    prepare: (scene: AttackScene) => Promise<ResolvedServer>,
    ignore: boolean,
    isolation: ContainerIsolation = "docker",
  ) {
    this.name = name;
    this.isolation = isolation;
    this.#prepare = prepare;
    this.dir = ignore ? "/nonexistent" : removeOnExit(tempDir(`mcp-run-${name}-`));
    this.cache = join(this.dir, "cache");
    this.shared = join(this.dir, "shared");
    this.out = join(this.dir, "out");
    this.canaryFile = join(this.dir, "secret", "canary.txt");
    this.source = { ...toolEnv(), EVIL_GRANTED: this.grantedValue, EVIL_SECRET: this.secretValue };
    this.options = evilOptions(this.cache, this.source);
    if (ignore) return;
    for (const d of [this.shared, this.out, join(this.dir, "secret")]) {
      Deno.mkdirSync(d, { recursive: true });
    }
    // Every user may write the read grant's file and folder: only the read-only mount stops
    // the fixture from changing them.
    Deno.writeTextFileSync(join(this.shared, "granted.txt"), "granted content\n");
    Deno.chmodSync(join(this.shared, "granted.txt"), 0o666);
    Deno.chmodSync(this.shared, 0o777);
    Deno.writeTextFileSync(this.canaryFile, this.canaryText);
    // The container user is not the launcher: the write grant must be writable by it.
    Deno.chmodSync(this.out, 0o777);
  }

  /** The manifest's grants: the read and write folders and `EVIL_GRANTED`. */
  get grants(): EvilGrants {
    return { name: this.name, read: [this.shared], write: [this.out], env: ["EVIL_GRANTED"] };
  }

  /** The resolved, pulled server (prepared on first use). */
  server(): Promise<ResolvedServer> {
    this.#server ??= this.#prepare(this);
    return this.#server;
  }

  /**
   * Starts the fixture and connects to it.
   *
   * @param edit Changes the sandbox's plan before the start (for positive controls).
   * @returns The connected fixture.
   */
  async launch(
    edit?: (plan: LaunchPlan) => LaunchPlan | Promise<LaunchPlan>,
  ): Promise<EvilContainer> {
    return await launchEvil(await this.server(), this.options, this.isolation, edit);
  }

  /** Asserts that no container of the server is left (waiting a little for removal). */
  async noneLeft(): Promise<void> {
    const left = () => listContainers({ "mcp-run.server": this.name });
    for (let i = 0; i < 40 && (await left()).length; i++) {
      await new Promise((r) => setTimeout(r, 250));
    }
    assert.deepEqual(await left(), [], "containers left");
  }
}

/**
 * The scene of an `oci:` file: the fixture's image, pulled by digest from a loopback registry
 * with {@linkcode pullEvilImage} once, on first use; the image is removed when the file ends.
 *
 * @param name The manifest's name.
 * @param ignore Whether the file's tests are skipped (nothing is made).
 * @param isolation The sandbox the fixture runs in (default `docker`).
 * @returns The scene, and the pulled image's reference (empty before the pull).
 * @example
 * ```ts ignore
 * const { scene, reference } = ociAttackScene("evil-oci", false);
 * await scene.server();
 * console.log(reference());
 * ```
 */
export function ociAttackScene(
  name: string,
  ignore: boolean,
  isolation: ContainerIsolation = "docker",
): { scene: AttackScene; reference: () => string } {
  let reference = "";
  const scene = new AttackScene(
    name,
    async (s) => {
      const pulled = await pullEvilImage(s.grants, s.options);
      reference = pulled.reference;
      return pulled.server;
    },
    ignore,
    isolation,
  );
  globalThis.addEventListener("unload", () => {
    if (reference) new Deno.Command("docker", { args: ["rmi", reference] }).outputSync();
  });
  return { scene, reference: () => reference };
}

/**
 * Registers the attack tests for one scene.
 *
 * @param s The scene.
 * @param kind The package kind, in the test names (`pypi:`, `oci:`).
 * @param ignore Whether to skip them.
 */
export function defineContainerAttacks(s: AttackScene, kind: string, ignore: boolean): void {
  const gvisor = s.isolation === "gvisor";
  const sandbox = gvisor ? "GvisorSandbox" : "DockerSandbox";
  // gVisor's file system answers a write to a read-only bind mount with EACCES.
  const readOnly = gvisor ? /^(EROFS|EACCES)$/ : /^EROFS$/;
  const test = (name: string, fn: () => Promise<void>) =>
    Deno.test({
      name: `${name.replace(/^DockerSandbox/, sandbox)} (${kind})`,
      ignore,
      sanitizeResources: false,
      sanitizeOps: false,
      fn,
    });

  test("DockerSandbox mounts only the granted folders: a host file outside them is not there", async () => {
    {
      await using evil = await s.launch();
      // Positive control: the read grant is readable, the write grant writable.
      const granted = await evil.call("read_file", { path: join(s.shared, "granted.txt") });
      assert.equal(granted.content, "granted content\n");
      const wrote = await evil.call("write_file", { path: join(s.out, "new.txt"), content: "hi" });
      assert.equal(wrote.ok, true, JSON.stringify(wrote));
      assert.equal(await Deno.readTextFile(join(s.out, "new.txt")), "hi");

      const stolen = await evil.call("read_file", { path: s.canaryFile });
      // A link to the canary planted in the read grant after the launch's checks leads nowhere:
      // the container sees only its mounts.
      const link = join(s.shared, "late-link");
      await Deno.symlink(s.canaryFile, link);
      try {
        const linked = await evil.call("read_file", { path: link });
        assert.equal(linked.errno, "ENOENT", JSON.stringify(linked));
        // Positive control: unsandboxed, the link reads the canary.
        assert.equal((await callUnsandboxed("read_file", { path: link })).content, s.canaryText);
      } finally {
        await Deno.remove(link);
      }
      assert.equal(stolen.ok, false);
      assert.equal(stolen.errno, "ENOENT", JSON.stringify(stolen));
      const parent = await evil.call("read_file", {
        path: join(s.dir, "secret", "..", "secret", "canary.txt"),
      });
      assert.equal(parent.ok, false);
      // The read grant is read-only (its file and folder are writable by every user: only the
      // mount stops the writes); the canary's folder does not exist to write into.
      const overwrite = await evil.call("write_file", { path: join(s.shared, "granted.txt") });
      assert.match(overwrite.errno, readOnly, JSON.stringify(overwrite));
      const beside = await evil.call("write_file", { path: join(s.shared, "planted.txt") });
      assert.match(beside.errno, readOnly, JSON.stringify(beside));
      // Positive control: a root-owned 0666 file in the write grant takes the same write.
      const open = join(s.out, "open.txt");
      await Deno.writeTextFile(open, "open\n");
      await Deno.chmod(open, 0o666);
      const rewrote = await evil.call("write_file", { path: open });
      assert.equal(rewrote.ok, true, JSON.stringify(rewrote));
      const plant = await evil.call("write_file", { path: s.canaryFile, content: "pwned" });
      assert.equal(plant.ok, false);
      // Only the sized scratch tmpfs takes a file (the root's own proof follows).
      const scratch = await evil.call("write_file", { path: "/tmp/scratch.txt" });
      assert.equal(scratch.ok, true, JSON.stringify(scratch));
      // Never the Docker socket.
      for (const path of ["/var/run/docker.sock", "/run/docker.sock"]) {
        const socket = await evil.call("read_file", { path });
        assert.equal(socket.errno, "ENOENT", `${path}: ${JSON.stringify(socket)}`);
      }
      // The host's own files are not the container's.
      const passwd = await evil.call("read_file", { path: "/etc/hostname" });
      assert.ok(!passwd.ok || passwd.content.trim() !== Deno.hostname(), JSON.stringify(passwd));
    }
    assert.equal(await Deno.readTextFile(s.canaryFile), s.canaryText);
    assert.equal(await Deno.readTextFile(join(s.shared, "granted.txt")), "granted content\n");
    assert.deepEqual([...Deno.readDirSync(s.shared)].map((e) => e.name), ["granted.txt"]);
    // Positive control: the same fixture unsandboxed reads the canary, so the canary can fire.
    const control = await callUnsandboxed("read_file", { path: s.canaryFile });
    assert.equal(control.content, s.canaryText);
    await s.noneLeft();
  });

  test("DockerSandbox mounts the root file system read-only: a world-writable folder on it takes no file", async () => {
    // The same image with a 0777 folder on its root: the container user may write there, so
    // only --read-only can stop it.
    const image = evilImage(await s.server(), s.options);
    const open = await openRootImage(image);
    const target = `${OPEN_FOLDER}/evil.txt`;
    let user: string;
    {
      await using evil = await s.launch((plan) => onImage(plan, image, open));
      const root = await evil.call("write_file", { path: target });
      assert.match(root.errno, readOnly, JSON.stringify(root));
      const me = await evil.call("whoami");
      user = `${me.uid}:${me.gid}`;
      assert.notEqual(me.uid, 0, JSON.stringify(me));
      assert.equal(me.status.CapEff, "0000000000000000", JSON.stringify(me));
    }
    // Positive control: the same plan without --read-only alone (same user, no capabilities,
    // same mounts) lets the same write through.
    {
      await using evil = await s.launch((plan) => withoutReadOnly(onImage(plan, image, open)));
      const me = await evil.call("whoami");
      assert.equal(`${me.uid}:${me.gid}`, user, JSON.stringify(me));
      assert.equal(me.status.CapEff, "0000000000000000", JSON.stringify(me));
      const root = await evil.call("write_file", { path: target });
      assert.equal(root.ok, true, JSON.stringify(root));
    }
    await s.noneLeft();
  });

  test("DockerSandbox passes only the declared env name: the launcher's canary never arrives", async () => {
    {
      await using evil = await s.launch();
      const granted = await evil.call("read_env", { name: "EVIL_GRANTED" });
      assert.equal(granted.value, s.grantedValue);
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
        assert.ok(!value.includes(s.secretValue), `${name} carries the canary`);
      }
    }
    // Positive control: unsandboxed with the launcher's environment, the canary is read.
    const control = await callUnsandboxed("read_env", { name: "EVIL_SECRET" }, s.source);
    assert.equal(control.value, s.secretValue);
    await s.noneLeft();
  });

  test("DockerSandbox keeps the server's code read-only: it cannot change it", async () => {
    {
      await using evil = await s.launch();
      const attempt = await evil.call("write_own_code");
      assert.equal(attempt.ok, false, JSON.stringify(attempt));
      assert.match(attempt.create.errno, /^(EROFS|EACCES)$/);
      assert.match(attempt.open_module.errno, /^(EROFS|EACCES)$/);
      // Nor can it run code it writes to its scratch space: the tmpfs is noexec.
      for (const folder of ["/tmp", "/dev/shm"]) {
        const exec = await evil.call("exec_in", { folder });
        assert.equal(exec.errno, "EACCES", `${folder}: ${JSON.stringify(exec)}`);
      }
      // Positive control: the tool does run a script where it may (the write grant).
      const control = await evil.call("exec_in", { folder: s.out });
      assert.equal(control.stdout, "exec-ok\n", JSON.stringify(control));
    }
    // The code still matches its pull record (pypi:) or image digest (oci:).
    await (await new DockerSandbox({ ...s.options, autoPull: false }).prepare(await s.server()))
      .verify();
    // Positive control: unsandboxed, the same tool can write beside its module.
    const control = await callUnsandboxed("write_own_code", {});
    assert.equal(control.ok, true, JSON.stringify(control));
    await s.noneLeft();
  });

  if (gvisor) defineGvisorExhaustion(s, test);
  else {
    test("DockerSandbox bounds processes and memory: a fork bomb and a memory hog stop, the server lives", async () => {
      {
        await using evil = await s.launch();
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
        // The default process cap (docker --memory) and a little slack for the interpreter.
        const cap = DEFAULT_LIMITS.memoryMb;
        assert.ok(hog.allocated_mb < cap + 88, `allocated ${hog.allocated_mb} MB of ${cap}`);
        assert.ok(hog.signal === 9 || hog.memory_error === true, JSON.stringify(hog));
        // The limits hit the attacker's children; the server still answers.
        assert.equal((await evil.call("whoami")).ok, true);
      }
      await s.noneLeft();
    });
  }

  test("DockerSandbox gives a server without net grants no network at all", async () => {
    const canary = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (canary.addr as Deno.NetAddr).port;
    let connections = 0;
    const accepting = (async () => {
      for await (const conn of canary) {
        connections++;
        conn.close();
      }
    })().catch(() => {});
    try {
      {
        await using evil = await s.launch();
        // Its loopback is its own; the host's bridge has no route; no resolver, no proxy.
        const loopback = await evil.call("connect", { host: "127.0.0.1", port });
        assert.equal(loopback.errno, "ECONNREFUSED", JSON.stringify(loopback));
        const bridge = await evil.call("connect", { host: "172.17.0.1", port });
        // gVisor's own network stack says "no route to host".
        assert.match(bridge.errno, gvisor ? /^E(NET|HOST)UNREACH$/ : /^ENETUNREACH$/);
        const name = await evil.call("resolve", { host: "localhost.localdomain.test" });
        assert.match(name.errno ?? "", /^EAI_/, JSON.stringify(name));
        const proxy = await evil.call("proxy_connect", { target: `127.0.0.1:${port}` });
        assert.equal(proxy.errno, "ENOENT", JSON.stringify(proxy));
      }
      assert.equal(connections, 0, "the canary was reached");
      // Positive control: the same tool unsandboxed reaches the canary.
      const control = await callUnsandboxed("connect", { host: "127.0.0.1", port });
      assert.equal(control.ok, true, JSON.stringify(control));
      for (let i = 0; i < 20 && connections === 0; i++) await new Promise((r) => setTimeout(r, 50));
      assert.equal(connections, 1);
    } finally {
      canary.close();
      await accepting;
    }
    await s.noneLeft();
  });
}

/**
 * Under gVisor the engine's process and memory caps hold the whole sandbox, the user-space
 * kernel included: a fork bomb or a memory hog ends the sandbox (the launcher reports its exit),
 * never the host, and the next launch answers again.
 */
function defineGvisorExhaustion(
  s: AttackScene,
  test: (name: string, fn: () => Promise<void>) => void,
): void {
  test("GvisorSandbox bounds processes and memory: a fork bomb or a memory hog ends the sandbox, never the host", async () => {
    /** Calls a tool that should end the sandbox; returns how the server exited. */
    const ended = async (tool: string, args: Record<string, unknown>) => {
      await using evil = await s.launch();
      // Positive controls: a few children and a little memory are fine.
      const few = await evil.call("fork_bomb", { max: 16, hold_seconds: 0.5 });
      assert.equal(few.ok, true, JSON.stringify(few));
      const little = await evil.call("alloc_memory", { max_mb: 96, step_mb: 16 });
      assert.equal(little.ok, true, JSON.stringify(little));
      const error = await evil.call(tool, args).then(
        (report) => assert.fail(`${tool} did not end the sandbox: ${JSON.stringify(report)}`),
        (error: Error) => error,
      );
      assert.ok(error instanceof ServerExitedError, String(error));
      return error;
    };
    const bomb = await ended("fork_bomb", { max: 600, hold_seconds: 2 });
    assert.notEqual(bomb.code, 0, bomb.message);
    await s.noneLeft();
    const hog = await ended("alloc_memory", { max_mb: 2048, step_mb: 32 });
    // The engine's memory cap (docker --memory) killed it.
    assert.equal(hog.code, 137, hog.message);
    await s.noneLeft();
    // The host and the engine are unharmed: the next launch answers.
    await using again = await s.launch();
    assert.equal((await again.call("whoami")).ok, true);
  });
}
