import assert from "node:assert/strict";
import { isWithin } from "../policy/path_policy.ts";
import { serverFixture } from "../policy/_server_fixture.ts";
import {
  AUDIT_ENV,
  type AuditChannel,
  auditedPlan,
  CONTAINER_AUDIT_PATH,
  openAuditChannel,
} from "./audit_channel.ts";
import { DenialLog } from "./denial_log.ts";

const SERVER = serverFixture({ name: "t", specifier: "npm:x@1.0.0" });

Deno.test("openAuditChannel() makes a FIFO in a 0700 cache folder, reads Deno's lines, removes it", async () => {
  const cacheRoot = await Deno.makeTempDir();
  const channel = await openAuditChannel({ cacheRoot, log: new DenialLog(SERVER) });
  assert.ok(isWithin(channel.path, `${cacheRoot}/audit`));
  assert.ok(Deno.statSync(channel.path).isFifo);
  assert.equal(Deno.statSync(channel.path.replace(/\/checks$/, "")).mode! & 0o777, 0o700);
  const child = new Deno.Command(Deno.execPath(), {
    args: ["eval", "try { Deno.env.get('X_TOKEN') } catch {}; try { Deno.hostname() } catch {}"],
    env: { [AUDIT_ENV]: channel.path, DENO_NO_PROMPT: "1" },
    clearEnv: true,
    stdout: "null",
    stderr: "null",
  });
  // deno eval runs with every permission: its checks are all recorded, none refused but these.
  await child.output();
  await channel.close();
  assert.deepEqual(channel.denials.map((d) => d.asked), ["env X_TOKEN", "sys hostname"]);
  assert.throws(() => Deno.statSync(channel.path), Deno.errors.NotFound);
});

Deno.test("AuditChannel.close() ends the reader when Deno never opened the FIFO", async () => {
  const cacheRoot = await Deno.makeTempDir();
  const channel = await openAuditChannel({ cacheRoot, log: new DenialLog(SERVER) });
  await channel.close();
  assert.deepEqual(channel.denials, []);
  // Nothing of the launch is left; a spare FIFO waits for the next one.
  const left = [...Deno.readDirSync(`${cacheRoot}/audit`)];
  assert.deepEqual(left.map((e) => e.name), ["spare"]);
  assert.ok(Deno.lstatSync(`${cacheRoot}/audit/spare`).isFifo);
  const next = await openAuditChannel({ cacheRoot, log: new DenialLog(SERVER) });
  assert.throws(() => Deno.lstatSync(`${cacheRoot}/audit/spare`), Deno.errors.NotFound);
  assert.ok(Deno.lstatSync(next.path).isFifo);
  assert.equal(Deno.lstatSync(next.path).mode! & 0o777, 0o666);
  await next.close();
});

Deno.test("openAuditChannel() makes its own FIFO when the spare is not one", async () => {
  const cacheRoot = await Deno.makeTempDir();
  Deno.mkdirSync(`${cacheRoot}/audit`, { mode: 0o700 });
  Deno.writeTextFileSync(`${cacheRoot}/audit/spare`, "not a fifo");
  const channel = await openAuditChannel({ cacheRoot, log: new DenialLog(SERVER) });
  assert.ok(Deno.lstatSync(channel.path).isFifo);
  await channel.close();
});

Deno.test("auditedPlan() names the FIFO natively and mounts only it into a container", () => {
  const native = auditedPlan({ program: "deno", args: ["run"], env: { A: "1" }, cwd: "/c" }, {
    path: "/c/audit/x/checks",
  });
  assert.deepEqual(native.env, { A: "1", [AUDIT_ENV]: "/c/audit/x/checks" });
  const docker = auditedPlan({
    program: "docker",
    args: ["run", "-i", "--mount", "type=volume,src=v,dst=/deno-dir,readonly", "img", "run"],
    env: {},
    cwd: "/c",
    container: "mcp-run-t-1",
  }, { path: "/c/audit/x/checks" });
  assert.deepEqual(docker.args, [
    "run",
    "-i",
    "--mount",
    `type=bind,src=/c/audit/x/checks,dst=${CONTAINER_AUDIT_PATH}`,
    "-e",
    `${AUDIT_ENV}=${CONTAINER_AUDIT_PATH}`,
    "--mount",
    "type=volume,src=v,dst=/deno-dir,readonly",
    "img",
    "run",
  ]);
  assert.throws(
    () => auditedPlan({ ...docker, args: ["run"] }, { path: "/c,x/checks" }),
    RangeError,
  );
});

Deno.test("AuditChannel.close() removes the folders of launches a killed launcher left", async () => {
  const cacheRoot = await Deno.makeTempDir();
  const old = `${cacheRoot}/audit/left-by-a-killed-launcher`;
  const recent = `${cacheRoot}/audit/another-launch`;
  Deno.mkdirSync(old, { recursive: true });
  Deno.mkdirSync(recent);
  const longAgo = new Date(Date.now() - 2 * 24 * 60 * 60 * 1000);
  Deno.utimeSync(old, longAgo, longAgo);
  const channel = await openAuditChannel({ cacheRoot, log: new DenialLog(SERVER) });
  await channel.close();
  assert.throws(() => Deno.statSync(old), Deno.errors.NotFound);
  assert.ok(Deno.statSync(recent).isDirectory);
});

Deno.test("openAuditChannel() holds the FIFO open first: Deno's open never waits, the log still ends", async () => {
  const cacheRoot = await Deno.makeTempDir();
  const channel = await openAuditChannel({ cacheRoot, log: new DenialLog(SERVER) });
  // Deno blocks at start until the FIFO has a reader: the launcher's ends are that reader, so
  // it runs to its end even with every line still unread.
  const child = new Deno.Command(Deno.execPath(), {
    args: ["eval", "for (let i = 0; i < 200; i++) try { Deno.env.get(`X_${i}`) } catch {}"],
    env: { [AUDIT_ENV]: channel.path, DENO_NO_PROMPT: "1" },
    clearEnv: true,
    stdout: "null",
    stderr: "null",
  }).spawn();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const ended = await Promise.race([
    child.status.then(() => true),
    new Promise<false>((r) => timer = setTimeout(() => r(false), 30_000)),
  ]);
  clearTimeout(timer);
  if (!ended) child.kill("SIGKILL");
  assert.ok(ended, "the audited process waited for a reader");
  // The launcher still holds a writer, so no end of file comes: close() reads to its own mark.
  await channel.close();
  assert.equal(channel.denials.length, 200);
});

Deno.test("openAuditChannel() throws when the channel cannot be opened, rather than leave Deno waiting", async () => {
  const cacheRoot = await Deno.makeTempDir();
  // A `mkfifo` that makes something no reader can open: a folder.
  const fake = `${cacheRoot}/fake-mkfifo`;
  Deno.writeTextFileSync(fake, '#!/bin/sh\nexec mkdir "$3"\n');
  Deno.chmodSync(fake, 0o755);
  await assert.rejects(
    openAuditChannel({ cacheRoot, log: new DenialLog(SERVER), mkfifo: fake }),
    /Cannot make the permission audit channel/,
  );
  // Nothing of the failed launch is left behind.
  assert.deepEqual([...Deno.readDirSync(`${cacheRoot}/audit`)].map((e) => e.name), []);
});

Deno.test("AuditChannel.release() ends the reading without onClose; close() then stores what came later", async () => {
  const cacheRoot = await Deno.makeTempDir();
  const stored: string[][] = [];
  const log = new DenialLog(SERVER);
  const channel = await openAuditChannel({
    cacheRoot,
    log,
    onClose: (l) => void stored.push(l.denials.map((d) => d.asked)),
  });
  await channel.release();
  assert.throws(() => Deno.statSync(channel.path), Deno.errors.NotFound);
  assert.deepEqual(stored, []);
  // A container package's egress refusals arrive after the FIFO is gone.
  log.check({ permission: "sys", value: "homedir" });
  await channel.close();
  await channel.close();
  assert.deepEqual(stored, [["sys homedir"]]);
});

Deno.test("AuditChannel.close() reads to its own end mark at once, though a writer outlives the server", async () => {
  const cacheRoot = await Deno.makeTempDir();
  const channel = await openAuditChannel({ cacheRoot, log: new DenialLog(SERVER) });
  // A program the server left behind, still holding the FIFO open: no end of file ever comes.
  const script = `exec 3>"$1"; printf '%s\\n' '{"permission":"sys","value":"uptime"}' >&3; ` +
    "echo written; sleep 30";
  const lingering = new Deno.Command("/bin/sh", {
    args: ["-c", script, "sh", channel.path],
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const reader = lingering.stdout.getReader();
  await reader.read();
  reader.releaseLock();
  try {
    const started = Date.now();
    await channel.close();
    assert.ok(Date.now() - started < 2000, "close() waited for the lingering writer");
    assert.deepEqual(channel.denials.map((d) => d.asked), ["sys uptime"]);
  } finally {
    lingering.kill("SIGKILL");
    await lingering.status;
    await lingering.stdout.cancel();
  }
});

Deno.test("openAuditChannel() keeps many channels open without stalling the launcher's file work", async () => {
  const cacheRoot = await Deno.makeTempDir();
  // More than Deno's threads for blocking file work (32): each waiting read must not hold one.
  const channels: AuditChannel[] = [];
  for (let i = 0; i < 40; i++) {
    channels.push(await openAuditChannel({ cacheRoot, log: new DenialLog(SERVER) }));
  }
  try {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const done = await Promise.race([
      Deno.stat(cacheRoot).then(() => true),
      new Promise<false>((resolve) => timer = setTimeout(() => resolve(false), 5000)),
    ]);
    clearTimeout(timer);
    assert.ok(done, "a file operation waited for the channels");
    // Each one still reads its own lines.
    const writer = await Deno.open(channels[39].path, { write: true });
    await writer.write(new TextEncoder().encode('{"permission":"sys","value":"uptime"}\n'));
    writer.close();
  } finally {
    await Promise.all(channels.map((channel) => channel.close()));
  }
  assert.deepEqual(channels[39].denials.map((d) => d.asked), ["sys uptime"]);
});
