import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { clientEntry } from "./client_entry.ts";
import { readClientEntry } from "./config_text.ts";
import { EntryConflictError } from "./entry_conflict_error.ts";
import type { ClientEnvironment } from "./types.ts";
import type { LaunchCommand } from "./types.ts";
import { removeClientEntry, writeClientConfig } from "./write_client_config.ts";

const SOURCE: LaunchCommand = {
  command: "deno",
  args: ["run", "npm:@modelcontextprotocol/server-memory@2025.8.4"],
  env: {},
  secrets: [],
};
const HELPER = fileURLToPath(
  new URL("../../tests/testdata/clients/install_one.ts", import.meta.url),
);
const CONFIG = fileURLToPath(new URL("../../deno.json", import.meta.url));
const isWindows = Deno.build.os === "windows";

async function sandbox(): Promise<{ dir: string; environment: ClientEnvironment }> {
  const dir = await Deno.makeTempDir({ prefix: "mcp-run-clients-" });
  const environment: ClientEnvironment = {
    os: isWindows ? "windows" : Deno.build.os === "darwin" ? "darwin" : "linux",
    home: join(dir, "home"),
    cwd: join(dir, "project"),
  };
  return { dir, environment };
}

async function listDir(dir: string): Promise<string[]> {
  return (await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name).sort();
}

Deno.test("writeClientConfig() creates missing folders and the file", async () => {
  const { dir, environment } = await sandbox();
  const entry = clientEntry("vscode", SOURCE, { name: "memory" });
  const result = await writeClientConfig(entry, { scope: "project", environment });
  assert.equal(result.file, join(await Deno.realPath(dir), "project", ".vscode", "mcp.json"));
  assert.equal(result.changed, true);
  assert.equal(result.backup, undefined);
  const text = await Deno.readTextFile(result.file);
  assert.deepEqual(readClientEntry(text, "vscode", "memory"), entry.value);
  assert.deepEqual(await listDir(join(dir, "project", ".vscode")), ["mcp.json"]);
});

Deno.test("writeClientConfig() keeps a backup, the file mode and the other entries", async () => {
  const { dir } = await sandbox();
  const file = join(dir, "mcp.json");
  const original = '{\n  // mine\n  "mcpServers": {"a": {"command": "x"}}\n}\n';
  await Deno.writeTextFile(file, original, { mode: 0o640 });
  if (!isWindows) await Deno.chmod(file, 0o640);
  const result = await writeClientConfig(clientEntry("cursor", SOURCE, { name: "memory" }), {
    file,
  });
  assert.equal(result.backup, `${await Deno.realPath(file)}.bak`);
  assert.equal(await Deno.readTextFile(result.backup!), original);
  const text = await Deno.readTextFile(file);
  assert.ok(text.startsWith('{\n  // mine\n  "mcpServers": {"a": {"command": "x"}'));
  if (!isWindows) {
    assert.equal((await Deno.stat(file)).mode! & 0o777, 0o640);
    assert.equal((await Deno.stat(result.backup!)).mode! & 0o777, 0o640);
  }
  assert.deepEqual(await listDir(dir), ["mcp.json", "mcp.json.bak"]);
});

Deno.test("writeClientConfig() changes nothing when the same entry is installed twice", async () => {
  const { dir } = await sandbox();
  const file = join(dir, "config.yaml");
  await Deno.writeTextFile(file, "# goose\nGOOSE_MODE: auto\n");
  const entry = clientEntry("goose", SOURCE, { name: "memory" });
  const first = await writeClientConfig(entry, { file });
  const after = await Deno.readTextFile(file);
  const second = await writeClientConfig(entry, { file });
  assert.equal(first.changed, true);
  assert.equal(second.changed, false);
  assert.equal(await Deno.readTextFile(file), after);
  // The backup still holds the state before the first install.
  assert.equal(await Deno.readTextFile(`${file}.bak`), "# goose\nGOOSE_MODE: auto\n");
});

Deno.test({
  name: "writeClientConfig() refuses a read-only file and leaves it untouched",
  ignore: isWindows,
  fn: async () => {
    const { dir } = await sandbox();
    const file = join(dir, "mcp.json");
    const original = '{"mcpServers": {}}';
    await Deno.writeTextFile(file, original);
    await Deno.chmod(file, 0o444);
    const entry = clientEntry("cursor", SOURCE, { name: "memory" });
    await assert.rejects(writeClientConfig(entry, { file }), (e: unknown) => {
      assert.ok(e instanceof Deno.errors.PermissionDenied);
      assert.match(e.message, /is read-only/);
      return true;
    });
    assert.equal(await Deno.readTextFile(file), original);
    assert.equal((await Deno.stat(file)).mode! & 0o777, 0o444);
    assert.deepEqual(await listDir(dir), ["mcp.json"]);
    // Positive control: once writable, the same install succeeds.
    await Deno.chmod(file, 0o644);
    assert.equal((await writeClientConfig(entry, { file })).changed, true);
  },
});

Deno.test("writeClientConfig() refuses a corrupt file with its line and column", async () => {
  const { dir } = await sandbox();
  const file = join(dir, "settings.json");
  const corrupt = '{\n  "theme": "One Dark"\n  "context_servers": {}\n}\n';
  await Deno.writeTextFile(file, corrupt);
  const entry = clientEntry("zed", SOURCE, { name: "memory" });
  await assert.rejects(writeClientConfig(entry, { file }), (e: unknown) => {
    assert.ok(e instanceof SyntaxError);
    assert.equal(
      e.message,
      `Cannot parse "${file}": comma expected at line 3, column 3; ` +
        "fix the file and try again (it was left untouched)",
    );
    return true;
  });
  assert.equal(await Deno.readTextFile(file), corrupt);
  assert.deepEqual(await listDir(dir), ["settings.json"]);
});

Deno.test("writeClientConfig() refuses a file that is not UTF-8", async () => {
  const { dir } = await sandbox();
  const file = join(dir, "mcp.json");
  const bytes = new Uint8Array([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d]);
  await Deno.writeFile(file, bytes);
  const entry = clientEntry("cursor", SOURCE, { name: "memory" });
  await assert.rejects(writeClientConfig(entry, { file }), /is not UTF-8/);
  assert.deepEqual(await Deno.readFile(file), bytes);
});

Deno.test({
  name: "writeClientConfig() writes through a symlink and keeps the link",
  ignore: isWindows,
  fn: async () => {
    const { dir } = await sandbox();
    await Deno.mkdir(join(dir, "dotfiles"));
    const real = join(dir, "dotfiles", "mcp.json");
    const link = join(dir, "mcp.json");
    await Deno.writeTextFile(real, '{"mcpServers": {}}\n');
    await Deno.symlink(real, link);
    await writeClientConfig(clientEntry("cursor", SOURCE, { name: "memory" }), { file: link });
    assert.ok((await Deno.lstat(link)).isSymlink);
    assert.ok(readClientEntry(await Deno.readTextFile(real), "cursor", "memory"));
    assert.deepEqual(await listDir(join(dir, "dotfiles")), ["mcp.json", "mcp.json.bak"]);
  },
});

Deno.test("writeClientConfig() refuses to replace a foreign entry unless forced", async () => {
  const { dir } = await sandbox();
  const file = join(dir, ".mcp.json");
  const original = '{"mcpServers": {"memory": {"command": "npx", "args": ["-y", "m"]}}}';
  await Deno.writeTextFile(file, original);
  const entry = clientEntry("claude-code", SOURCE, { name: "memory" });
  await assert.rejects(writeClientConfig(entry, { file }), EntryConflictError);
  assert.equal(await Deno.readTextFile(file), original);
  await writeClientConfig(entry, { file, force: true });
  assert.deepEqual(
    readClientEntry(await Deno.readTextFile(file), "claude-code", "memory"),
    entry.value,
  );
});

Deno.test("removeClientEntry() removes only its entry", async () => {
  const { dir } = await sandbox();
  const file = join(dir, "mcp_config.json");
  const original = '{\n  "mcpServers": {\n    "a": {"command": "x"} // keep\n  }\n}\n';
  await Deno.writeTextFile(file, original);
  await writeClientConfig(clientEntry("windsurf", SOURCE, { name: "memory" }), { file });
  const result = await removeClientEntry("windsurf", "memory", { file });
  assert.equal(result.changed, true);
  assert.equal(await Deno.readTextFile(file), original);
  assert.equal((await removeClientEntry("windsurf", "memory", { file })).changed, false);
});

Deno.test("removeClientEntry() deletes a Continue block file left with no server", async () => {
  const { dir, environment } = await sandbox();
  const entry = clientEntry("continue", SOURCE, { name: "memory" });
  const written = await writeClientConfig(entry, { scope: "project", environment });
  assert.ok(written.file.endsWith(join(".continue", "mcpServers", "memory.yaml")));
  const removed = await removeClientEntry("continue", "memory", { scope: "project", environment });
  assert.equal(removed.deleted, true);
  assert.deepEqual(await listDir(join(dir, "project", ".continue", "mcpServers")), [
    "memory.yaml.bak",
  ]);
});

Deno.test("removeClientEntry() on a missing file changes nothing and creates nothing", async () => {
  const { dir, environment } = await sandbox();
  await Deno.mkdir(environment.cwd);
  const result = await removeClientEntry("cursor", "memory", { scope: "project", environment });
  assert.equal(result.changed, false);
  assert.deepEqual(await listDir(join(dir, "project")), []);
});

async function installConcurrently(file: string, mode: string, count: number): Promise<void> {
  const go = `${file}.go`;
  const children = Array.from({ length: count }, (_, i) =>
    new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--quiet", "--config", CONFIG, HELPER, file, `server${i}`, mode, go],
      stdout: "null",
      stderr: "piped",
    }).spawn());
  // Let every helper start and wait on the go file, then release them together.
  await new Promise((resolve) => setTimeout(resolve, 1500));
  await Deno.writeTextFile(go, "");
  const results = await Promise.all(children.map((c) => c.output()));
  await Deno.remove(go);
  for (const r of results) assert.ok(r.success, new TextDecoder().decode(r.stderr));
}

Deno.test("writeClientConfig() loses nothing when several processes install at once", async () => {
  const { dir } = await sandbox();
  const file = join(dir, "mcp.json");
  const original = '{\n  // shared\n  "mcpServers": {"a": {"command": "x"}}\n}\n';
  const count = 6;

  await Deno.writeTextFile(file, original);
  await installConcurrently(file, "locked-slow", count);
  const locked = await Deno.readTextFile(file);
  assert.ok(locked.startsWith('{\n  // shared\n  "mcpServers": {"a": {"command": "x"}'));
  for (let i = 0; i < count; i++) {
    assert.ok(readClientEntry(locked, "cursor", `server${i}`), `server${i} was lost`);
  }
  assert.deepEqual(await listDir(dir), ["mcp.json", "mcp.json.bak"]);

  // The public function, released together without an artificial delay.
  await Deno.writeTextFile(file, original);
  await installConcurrently(file, "write", count);
  const written = await Deno.readTextFile(file);
  for (let i = 0; i < count; i++) {
    assert.ok(readClientEntry(written, "cursor", `server${i}`), `server${i} was lost`);
  }

  // Control: the same read-modify-write without the lock loses entries, so this test can
  // see a lost update.
  await Deno.writeTextFile(file, original);
  await installConcurrently(file, "unlocked-slow", count);
  const unlocked = await Deno.readTextFile(file);
  const kept = Array.from({ length: count }, (_, i) => `server${i}`)
    .filter((n) => readClientEntry(unlocked, "cursor", n));
  assert.ok(kept.length < count, `without a lock all ${count} entries survived`);
});
