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

/**
 * What systemd ≥ 255 does with a LoadCredential= file: a copy under the credentials folder owned
 * by root, mode 0400 plus an ACL for the service user, which stat shows as 0440 (the ACL mask),
 * in root's group, not the service user's own. The tests run as root, so the file is root's, and
 * a group other than root's (nogroup, 65534) stands for a group that is not serve's own.
 */
async function credential(from: string, folder: string, name: string): Promise<void> {
  await Deno.mkdir(folder, { recursive: true });
  const path = join(folder, name);
  await Deno.copyFile(from, path);
  await Deno.chown(path, 0, 65534);
  await Deno.chmod(path, 0o440);
  const info = await Deno.stat(path);
  assert.equal(info.uid, 0, "the test imitates systemd's root-owned credential: run it as root");
  assert.equal(info.mode! & 0o777, 0o440);
}

/** A unit's ExecStartPre= commands run as written, with the credentials folder and paths set. */
async function startPre(
  unit: string,
  credentials: string,
  local: (word: string) => string,
): Promise<void> {
  const lines = unit.split("\n").filter((l) => l.startsWith("ExecStartPre="));
  assert.ok(lines.length > 0, unit);
  for (const line of lines) {
    const words = line.slice("ExecStartPre=".length).split(" ")
      .map((w) => local(w.replace("${CREDENTIALS_DIRECTORY}", credentials)));
    const run = await new Deno.Command(words[0], { args: words.slice(1) }).output();
    assert.ok(run.success, new TextDecoder().decode(run.stderr));
  }
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

Deno.test("systemdUnit() with OAuth: the root-owned credential, copied into the state, lets serve sign in", async () => {
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
  await credential(join(owner, "passphrase"), credentials, "passphrase");
  const stateDir = "/var/lib/mcp-run-audit-fixture";
  // %S/<name> is /var/lib/<name>: the same folder, as HOME and as the state root.
  const local = (word: string) =>
    word.replace(stateDir, join(root, "state", "mcp-run-audit-fixture"));
  const env = unitEnv(service, join(root, "state"), join(root, "cache"));
  assert.equal(env.HOME, join(root, "state", "mcp-run-audit-fixture"));
  await Deno.mkdir(join(root, "state", "mcp-run-audit-fixture"), { recursive: true });
  await startPre(service, credentials, local);

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

Deno.test("systemdUnit() with a token: serve starts from systemd's root-owned credential", async () => {
  const owner = tempDir();
  const tokenFile = join(owner, "token");
  await Deno.writeTextFile(tokenFile, "a-long-enough-secret-token-for-the-test-0123456789\n", {
    mode: 0o600,
  });
  const port = freePort();
  const { service, pull } = await units(port, ["--token-file", tokenFile]);
  assert.match(service, new RegExp(`^LoadCredential=token:${tokenFile}$`, "m"));
  const root = tempDir();
  const credentials = join(root, "credentials");
  await credential(tokenFile, credentials, "token");
  // What systemd makes on start: the state folder and RuntimeDirectory=, here under the root.
  const runtimeDir = "/run/mcp-run-audit-fixture";
  const local = (word: string) => word.replace(runtimeDir, join(root, "run"));
  await Deno.mkdir(join(root, "run"), { mode: 0o700 });
  const env = unitEnv(service, join(root, "state"), join(root, "cache"));
  await Deno.mkdir(env.HOME, { recursive: true });
  await startPre(service, credentials, local);

  const puller = start(execStart(pull), env);
  assert.equal((await puller.child.status).code, 0, puller.output());
  const served = start(execStart(service).map(local), env);
  try {
    const url = await served.url;
    const refused = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json" },
      body: "{}",
    });
    await refused.body?.cancel();
    assert.equal(refused.status, 401, served.output());
    const client = new Client({ name: "deploy-test", version: "1.0.0" });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(url), {
        requestInit: {
          headers: {
            authorization: "Bearer a-long-enough-secret-token-for-the-test-0123456789",
          },
        },
      }),
    );
    try {
      const result = await client.callTool({ name: "echo", arguments: { text: "token" } });
      assert.equal(resultText(result), "echo: token");
    } finally {
      await client.close();
    }
  } finally {
    served.child.kill("SIGTERM");
    await served.child.status;
  }
});
