/**
 * A systemd deployment's two commands, run as the units run them (their environment, this
 * checkout's mcp-run for /usr/local/bin/mcp-run): the pull unit fills the cache, and the
 * service, which can reach no registry, starts from it offline and answers a real client. The
 * negative control: the service alone, with no pull before it, refuses to start.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { cli, resultText, ROOT, tempDir, toolEnv } from "./_helpers.ts";

/** A unit's ExecStart= words (the test's values need no systemd quoting or escapes). */
function execStart(unit: string): string[] {
  const line = unit.split("\n").find((l) => l.startsWith("ExecStart="));
  assert.ok(line, unit);
  const words = line.slice("ExecStart=".length).split(" ");
  assert.ok(words.every((w) => !/["'%$\\]/.test(w)), line);
  return words;
}

/** The unit's Environment= values, with %S and %C as systemd would expand them here. */
function unitEnv(unit: string, state: string, cache: string): Record<string, string> {
  const line = unit.split("\n").find((l) => l.startsWith("Environment="))!;
  return Object.fromEntries(
    line.slice("Environment=".length).split(" ").map((pair) => {
      const [name, value] = pair.split("=");
      return [name, value.replace("%S", state).replace("%C", cache)];
    }),
  );
}

/** Runs a unit's command with this checkout's mcp-run; for the service, waits for its URL. */
function start(words: string[], env: Record<string, string>): {
  child: Deno.ChildProcess;
  output: () => string;
  url: Promise<string>;
} {
  assert.equal(words[0], "/usr/local/bin/mcp-run");
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", join(ROOT, "mod.ts"), ...words.slice(1)],
    env: { ...toolEnv(), ...env },
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let text = "";
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) text += chunk;
  };
  const done = Promise.all([pump(child.stdout), pump(child.stderr)]);
  const url = (async () => {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const found = /on (http:\/\/\S+)/.exec(text)?.[1];
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`no URL:\n${text}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  })();
  url.catch(() => {});
  done.catch(() => {});
  return { child, output: () => text, url };
}

async function units(
  port: number,
  extra: string[] = [],
): Promise<{ service: string; pull: string }> {
  const manifest = join(ROOT, "tests/testdata/audit/manifest.jsonc");
  const home = tempDir();
  const r = await cli(
    ["deploy", manifest, "--target", "systemd", "--port", String(port), ...extra],
    {
      env: { HOME: home },
    },
  );
  assert.equal(r.code, 0, r.stderr);
  const [, service, pull] = r.stdout.split(/^# ==> .* <==$/m);
  return { service, pull };
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

Deno.test("systemdPullUnit() fills the cache the service then starts from, offline", async () => {
  const port = freePort();
  const { service, pull } = await units(port);
  const root = tempDir();
  const env = unitEnv(service, join(root, "state"), join(root, "cache"));
  assert.deepEqual(unitEnv(pull, join(root, "state"), join(root, "cache")), env);
  await Deno.mkdir(env.HOME, { recursive: true });

  const puller = start(execStart(pull), env);
  const status = await puller.child.status;
  assert.equal(status.code, 0, puller.output());

  const words = execStart(service);
  assert.ok(words.includes("--offline"));
  const served = start(words, env);
  try {
    const url = await served.url;
    assert.equal(url, `http://127.0.0.1:${port}/mcp`);
    const client = new Client({ name: "deploy-test", version: "1.0.0" });
    await client.connect(new StreamableHTTPClientTransport(new URL(url)));
    try {
      const result = await client.callTool({ name: "echo", arguments: { text: "unit" } });
      assert.equal(resultText(result), "echo: unit");
    } finally {
      await client.close();
    }
  } finally {
    served.child.kill("SIGTERM");
    await served.child.status;
  }
});

Deno.test("systemdUnit() alone, without its pull, does not fetch: it refuses to start", async () => {
  const { service } = await units(freePort());
  const root = tempDir();
  const env = unitEnv(service, join(root, "state"), join(root, "cache"));
  await Deno.mkdir(env.HOME, { recursive: true });
  const served = start(execStart(service), env);
  const status = await served.child.status;
  assert.notEqual(status.code, 0);
  assert.match(served.output(), /not pulled yet: run mcp-run pull/);
});

Deno.test("systemdUnit() with OAuth: the credential linked into the state lets serve sign in", async () => {
  const owner = tempDir();
  const set = await cli(["serve", "--set-passphrase", "--state-dir", owner], {
    env: { HOME: owner },
    stdin: "correct horse battery staple\n",
  });
  assert.equal(set.code, 0, set.stderr);
  const port = freePort();
  const { service, pull } = await units(port, [
    "--auth",
    "oauth",
    "--public-url",
    "https://mcp.example.com/mcp",
    "--state-dir",
    owner,
  ]);
  assert.match(service, new RegExp(`^LoadCredential=passphrase:${owner}/passphrase$`, "m"));
  // What systemd does on start: the credential copied into the service's credentials folder,
  // the state folder made; here under a temporary root instead of /var/lib.
  const root = tempDir();
  const credentials = join(root, "credentials");
  await Deno.mkdir(credentials);
  await Deno.copyFile(join(owner, "passphrase"), join(credentials, "passphrase"));
  const stateDir = "/var/lib/mcp-run-audit-fixture";
  // %S/<name> is /var/lib/<name>: the same folder, as HOME and as the state root.
  const local = (word: string) =>
    word.replace(stateDir, join(root, "state", "mcp-run-audit-fixture"));
  const env = unitEnv(service, join(root, "state"), join(root, "cache"));
  assert.equal(env.HOME, join(root, "state", "mcp-run-audit-fixture"));
  await Deno.mkdir(join(root, "state", "mcp-run-audit-fixture"), { recursive: true });
  const pre = service.split("\n").find((l) => l.startsWith("ExecStartPre="))!
    .slice("ExecStartPre=".length).split(" ")
    .map((w) => local(w.replace("${CREDENTIALS_DIRECTORY}", credentials)));
  assert.equal(pre[0], "/bin/ln");
  const linked = await new Deno.Command(pre[0], { args: pre.slice(1) }).output();
  assert.ok(linked.success);

  const puller = start(execStart(pull), env);
  assert.equal((await puller.child.status).code, 0, puller.output());
  const words = execStart(service).map(local);
  assert.ok(words.includes("--state-dir"));
  const served = start(words, env);
  try {
    const url = await served.url;
    const refused = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json" },
      body: "{}",
    });
    await refused.body?.cancel();
    assert.equal(refused.status, 401, served.output());
    const metadata = await fetch(
      `http://127.0.0.1:${port}/.well-known/oauth-protected-resource/mcp`,
    );
    assert.equal((await metadata.json()).resource, "https://mcp.example.com/mcp");
  } finally {
    served.child.kill("SIGTERM");
    await served.child.status;
  }
});
