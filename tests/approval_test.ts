/**
 * Security proofs: a manifest that asks for more than the user approved starts nothing, through
 * every command and the library, until the user accepts it (`--yes`, or the `approve` option).
 *
 * The malicious fixture: a server whose new manifest adds a write grant, which its code uses to
 * drop a canary file. The canary proves whether the widened server ran; the positive control
 * (`--yes`) shows that it does run, and writes the canary, once accepted.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { ApprovalError } from "../runtime/policy/approval.ts";
import { connectServer } from "../runtime/sandbox/connect.ts";
import { prepareDockerServer } from "../runtime/sandbox/docker_pull.ts";
import { prepareServer } from "../runtime/sandbox/launch_plan.ts";
import { parseManifest } from "../runtime/policy/manifest_text.ts";
import { pull } from "../runtime/sandbox/pull.ts";
import { resolveServer } from "../runtime/policy/resolve.ts";
import { cli, tempDir } from "./_helpers.ts";
import { removeOnExit } from "./_security.ts";

/** Drops a canary in the folder it is given (when it may), then exits. */
const SERVER = `const dir = Deno.args[0];
if (dir) Deno.writeTextFileSync(dir + "/widened-server-ran", "ran");
`;

interface Scene {
  cache: string;
  /** The manifest file (the approved version until `widen()`). */
  file: string;
  /** The folder the widened manifest asks to write. */
  granted: string;
  canary: string;
  widen(): void;
}

function manifestJson(widened: boolean): string {
  return JSON.stringify({
    name: "approved-fixture",
    description: "A server whose update asks for more",
    package: "./server.ts",
    ...(widened
      ? {
        args: ["${dir}"],
        parameters: { dir: { type: "path", description: "A folder", required: true } },
        permissions: { write: ["${dir}"] },
      }
      : {}),
  });
}

async function scene(): Promise<Scene> {
  const dir = removeOnExit(tempDir("mcp-run-approval-"));
  const cache = join(dir, "cache");
  const granted = join(dir, "granted");
  Deno.mkdirSync(granted);
  // Docker refuses to grant a root-owned folder to its non-root container user.
  if (Deno.uid() === 0) Deno.chownSync(granted, 1993, 1993);
  Deno.writeTextFileSync(join(dir, "server.ts"), SERVER);
  const file = join(dir, "server.jsonc");
  Deno.writeTextFileSync(file, manifestJson(false));
  const first = await cli(["pull", file, "--cache", cache]);
  assert.equal(first.code, 0, first.stderr);
  return {
    cache,
    file,
    granted,
    canary: join(granted, "widened-server-ran"),
    widen: () => Deno.writeTextFileSync(file, manifestJson(true)),
  };
}

function exists(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

Deno.test("mcp-run run, call, inspect, serve, config and install refuse a widened manifest (exit 3) until --yes", async () => {
  const s = await scene();
  s.widen();
  const common = ["-p", `dir=${s.granted}`, "--cache", s.cache];
  const clientFile = join(s.cache, "..", "client.json");
  const commands: [string, string[]][] = [
    // Under a client: stdin is a pipe, not a terminal; nothing may wait for an answer.
    ["run", ["run", s.file, ...common]],
    ["call", ["call", s.file, "anything", "{}", ...common]],
    ["inspect", ["inspect", s.file, ...common]],
    ["serve", ["serve", s.file, "--port", "0", ...common]],
    ["config", ["config", s.file, "--form", "deno", ...common]],
    ["install", [
      "install",
      s.file,
      "--client",
      "claude-code",
      "--file",
      clientFile,
      ...common,
    ]],
    ["pull", ["pull", s.file, ...common]],
    // Docker isolation goes through the same check, before docker is asked anything.
    ["pull --isolation docker", ["pull", s.file, "--isolation", "docker", ...common]],
    ["run --isolation docker", ["run", s.file, "--isolation", "docker", ...common]],
  ];
  for (const [name, args] of commands) {
    const r = await cli(args, { stdin: '{"jsonrpc":"2.0","id":1,"method":"ping"}\n' });
    assert.equal(r.code, 3, `${name}: ${r.stderr}`);
    assert.match(r.stderr, /asks for more access than you approved/, name);
    assert.ok(r.stderr.includes(`+ may now write \${dir}`), `${name}: ${r.stderr}`);
    // The way out is the same command (a path stays a path), never a pull by name, which could
    // approve a registry entry of the same name instead.
    assert.match(r.stderr, /run the same command again with --yes/, name);
    assert.doesNotMatch(r.stderr, /mcp-run pull [a-z]/, name);
    assert.equal(r.stdout, "", name);
    assert.ok(!exists(s.canary), `${name} started the widened server`);
  }
  assert.ok(!exists(clientFile), "install wrote the client entry");

  // Positive control: accepted with --yes, the same server runs and its canary fires.
  const accepted = await cli(["run", s.file, ...common, "--yes"], { stdin: "" });
  assert.equal(accepted.code, 0, accepted.stderr);
  assert.match(accepted.stderr, /Accepted/);
  assert.equal(Deno.readTextFileSync(s.canary), "ran");
  // The acceptance is remembered: the next run needs no --yes.
  Deno.removeSync(s.canary);
  const again = await cli(["run", s.file, ...common], { stdin: "" });
  assert.equal(again.code, 0, again.stderr);
  assert.ok(exists(s.canary));
});

Deno.test("pull(), prepareServer(), connectServer() and prepareDockerServer() refuse a widened manifest unless approve is set", async () => {
  const s = await scene();
  s.widen();
  const manifest = parseManifest(Deno.readTextFileSync(s.file));
  const server = resolveServer(manifest, {
    cacheRoot: s.cache,
    manifestDir: join(s.file, ".."),
    params: { dir: s.granted },
  });
  const options = { cacheRoot: s.cache, progress: () => {}, source: {} };
  const refused = (e: Error) =>
    e instanceof ApprovalError && e.changes.some((c) => c.kind === "write" && c.change === "added");
  await assert.rejects(() => pull(server, options), refused);
  await assert.rejects(() => prepareServer(server, options), refused);
  await assert.rejects(() => connectServer(server, { ...options, onStderr: () => {} }), refused);
  // Checked before docker is asked anything, so this holds with or without an engine.
  await assert.rejects(() => prepareDockerServer(server, options), refused);
  assert.ok(!exists(s.canary));

  // Positive control: approved, connectServer() starts the widened server and the canary fires
  // (the fixture then exits without speaking MCP, so the connection itself fails).
  await assert.rejects(() =>
    connectServer(server, { ...options, approve: true, onStderr: () => {}, timeoutMs: 10_000 })
  );
  assert.equal(Deno.readTextFileSync(s.canary), "ran");
  // Now approved: no option needed.
  await prepareServer(server, options);
});

Deno.test("mcp-run run refuses a damaged approval record (exit 3) instead of approving anything", async () => {
  const s = await scene();
  const record = join(s.cache, "servers", "approved-fixture", "approved.jsonc");
  Deno.writeTextFileSync(record, "null");
  s.widen();
  const r = await cli(["run", s.file, "-p", `dir=${s.granted}`, "--cache", s.cache], {
    stdin: "",
  });
  assert.equal(r.code, 3, r.stderr);
  assert.ok(r.stderr.includes(`"${record}"`), r.stderr);
  assert.match(r.stderr, /damaged/);
  assert.ok(!exists(s.canary));
  // Positive control: with the record removed, the first use is approved again and runs.
  Deno.removeSync(record);
  const ok = await cli(["run", s.file, "-p", `dir=${s.granted}`, "--cache", s.cache], {
    stdin: "",
  });
  assert.equal(ok.code, 0, ok.stderr);
  assert.ok(exists(s.canary));
});
