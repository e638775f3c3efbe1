/**
 * A compose deployment for real: `mcp-run deploy --target compose` writes it, the printed
 * command starts it with the Docker engine (docker-compose, or the compose plugin), an MCP SDK
 * client calls a tool through it with the token and is refused without, and the running
 * container shows docker mode's hardening. Then it is taken down with its volume.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { cli, resultText, ROOT, tempDir } from "./_helpers.ts";
import { dockerProblem } from "./_docker.ts";
import { buildDeployImage, DEPLOY_TEST_IMAGE, docker, run } from "./_deploy_image.ts";

const problem = await dockerProblem("deploy_compose_test.ts: skipping");

/** The compose command here: the plugin when the engine has it, else docker-compose. */
async function composeCommand(): Promise<string[]> {
  const plugin = await new Deno.Command("docker", {
    args: ["compose", "version"],
    stdout: "null",
    stderr: "null",
  }).output().catch(() => ({ success: false }));
  return plugin.success ? ["docker", "compose"] : ["docker-compose"];
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

async function waitHealthy(url: string, logs: () => Promise<string>): Promise<void> {
  const deadline = Date.now() + 180_000;
  for (;;) {
    const ok = await fetch(url).then(async (r) => {
      await r.body?.cancel();
      return r.ok;
    }).catch(() => false);
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`the deployment never answered:\n${await logs()}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

Deno.test({
  name: "composeFile() deploys for real: hardened, token-protected, called through",
  ignore: problem !== undefined,
  fn: async () => {
    await buildDeployImage();
    const dir = tempDir("mcp-run-deploy-compose-");
    // The token file as an operator makes it: theirs, mode 600 (here root's, as the test runs).
    const token = "c".repeat(64);
    const tokenFile = join(dir, "token");
    await Deno.writeTextFile(tokenFile, `${token}\n`, { mode: 0o600 });
    const port = freePort();
    const out = join(dir, "deploy");
    const manifest = join(ROOT, "tests/testdata/audit/manifest.jsonc");
    const written = await cli([
      "deploy",
      manifest,
      "--target",
      "compose",
      "--token-file",
      tokenFile,
      "--deploy-image",
      DEPLOY_TEST_IMAGE,
      "--port",
      String(port),
      "--out",
      out,
    ], { env: { HOME: dir } });
    assert.equal(written.code, 0, written.stderr);
    // Outside swarm a compose secret is the file itself, bind-mounted with its owner and mode:
    // the printed step copies the token into the deployment's folder for the container's user.
    const copy = /^ {2}sudo (install -m 600 -o 1993 -g 1993 (\S+) (\S+))$/m.exec(written.stdout);
    assert.ok(copy, written.stdout);
    assert.equal(copy[2], tokenFile);
    assert.equal(copy[3], join(out, "token"));
    await run("install", copy[1].split(" ").slice(1));
    const original = await Deno.stat(tokenFile);
    assert.equal(original.uid, Deno.uid(), "the operator's stays");
    assert.equal(original.mode! & 0o777, 0o600);
    const step = /docker compose -p (\S+) -f (\S+) up -d/.exec(written.stdout);
    assert.ok(step, written.stdout);
    const [, project, file] = step;
    const compose = [...await composeCommand(), "-p", project, "-f", file];
    const logs = () => run("flock", ["/tmp/docker.lock", ...compose, "logs"]).catch(String);
    try {
      await run("flock", ["/tmp/docker.lock", ...compose, "up", "-d"]);
      const base = `http://127.0.0.1:${port}`;
      await waitHealthy(`${base}/healthz`, logs);

      // Without the token: refused before any process starts.
      const refused = await fetch(`${base}/mcp`, {
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/json" },
        body: "{}",
      });
      await refused.body?.cancel();
      assert.equal(refused.status, 401);

      // With it: a real client calls a tool in the sandboxed server inside the container.
      const client = new Client({ name: "deploy-test", version: "1.0.0" });
      await client.connect(
        new StreamableHTTPClientTransport(new URL(`${base}/mcp`), {
          requestInit: { headers: { authorization: `Bearer ${token}` } },
        }),
      );
      try {
        const result = await client.callTool({ name: "echo", arguments: { text: "deployed" } });
        assert.equal(resultText(result), "echo: deployed");
      } finally {
        await client.close();
      }

      // The running container has docker mode's hardening.
      const id = (await docker([
        "ps",
        "-q",
        "--filter",
        `label=com.docker.compose.project=${project}`,
      ])).trim();
      assert.match(id, /^[0-9a-f]+$/, "one running container");
      const [inspect] = JSON.parse(await docker(["inspect", id]));
      assert.equal(inspect.HostConfig.ReadonlyRootfs, true);
      assert.deepEqual(inspect.HostConfig.CapDrop, ["ALL"]);
      assert.ok(inspect.HostConfig.SecurityOpt.includes("no-new-privileges"));
      assert.equal(inspect.Config.User, "1993:1993");
      // The whole service: four sessions' server processes and serve itself.
      assert.equal(inspect.HostConfig.PidsLimit, 5 * 256);
      assert.equal(inspect.HostConfig.Memory, 5 * 1024 * 1024 * 1024);
      const published = inspect.HostConfig.PortBindings[`${port}/tcp`];
      assert.deepEqual(published.map((p: { HostIp: string }) => p.HostIp), ["127.0.0.1"]);
      // And from inside: no capabilities, no new privileges, not root, nothing writable.
      const status = await docker([
        "exec",
        id,
        "sh",
        "-c",
        'while read -r line; do case $line in CapEff*|NoNewPrivs*|Uid*) echo "$line";; esac; ' +
        "done < /proc/self/status; (echo x > /opt/mcp-run/x) 2>/dev/null && echo WROTE || true; " +
        // Positive control: the same probe writes where the deployment may (its state volume).
        "(echo x > /state/probe) 2>/dev/null && echo STATE_WRITABLE",
      ]);
      assert.match(status, /^CapEff:\s+0+$/m);
      assert.match(status, /^NoNewPrivs:\s+1$/m);
      assert.match(status, /^Uid:\s+1993\s/m);
      assert.doesNotMatch(status, /WROTE/);
      assert.match(status, /STATE_WRITABLE/);
    } finally {
      await run("flock", ["/tmp/docker.lock", ...compose, "down", "-v", "--timeout", "5"])
        .catch((error) => console.error(error));
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "composeFile() with OAuth serves sign-in from the passphrase in its state root",
  ignore: problem !== undefined,
  fn: async () => {
    await buildDeployImage();
    const dir = tempDir("mcp-run-deploy-oauth-");
    const state = join(dir, "state");
    // The owner sets the passphrase here, as the deployment's help says.
    const set = await cli(["serve", "--set-passphrase", "--state-dir", state], {
      env: { HOME: dir },
      stdin: "correct horse battery staple\n",
    });
    assert.equal(set.code, 0, set.stderr);
    const port = freePort();
    const written = await cli([
      "deploy",
      join(ROOT, "tests/testdata/audit/manifest.jsonc"),
      "--target",
      "compose",
      "--auth",
      "oauth",
      "--public-url",
      "https://mcp.example.com/mcp",
      "--state-dir",
      state,
      "--deploy-image",
      DEPLOY_TEST_IMAGE,
      "--port",
      String(port),
      "--out",
      join(dir, "deploy"),
    ], { env: { HOME: dir } });
    assert.equal(written.code, 0, written.stderr);
    // Outside swarm a compose secret is the file itself: the printed step copies the owner's
    // passphrase into the deployment's folder for the container's user (run here as root).
    const copy = /^ {2}sudo (install -m 600 -o 1993 -g 1993 (\S+) (\S+))$/m.exec(written.stdout);
    assert.ok(copy, written.stdout);
    assert.equal(copy[2], join(state, "passphrase"));
    await run("install", copy[1].split(" ").slice(1));
    assert.equal((await Deno.stat(join(state, "passphrase"))).uid, Deno.uid(), "the owner's stays");
    const [, project, file] = /docker compose -p (\S+) -f (\S+) up -d/.exec(written.stdout)!;
    const compose = [...await composeCommand(), "-p", project, "-f", file];
    const logs = () => run("flock", ["/tmp/docker.lock", ...compose, "logs"]).catch(String);
    try {
      await run("flock", ["/tmp/docker.lock", ...compose, "up", "-d"]);
      const base = `http://127.0.0.1:${port}`;
      await waitHealthy(`${base}/healthz`, logs);
      // No token: 401, pointing at the protected-resource metadata.
      const refused = await fetch(`${base}/mcp`, {
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/json" },
        body: "{}",
      });
      await refused.body?.cancel();
      assert.equal(refused.status, 401, await logs());
      assert.match(refused.headers.get("www-authenticate") ?? "", /resource_metadata=/);
      // The metadata names the public URL as the resource.
      const metadata = await fetch(`${base}/.well-known/oauth-protected-resource/mcp`);
      assert.equal(metadata.status, 200, await logs());
      assert.equal((await metadata.json()).resource, "https://mcp.example.com/mcp");
      // serve found the owner's passphrase where its state root has it.
      assert.doesNotMatch(await logs(), /no owner passphrase is set/);
    } finally {
      await run("flock", ["/tmp/docker.lock", ...compose, "down", "-v", "--timeout", "5"])
        .catch((error) => console.error(error));
      await Deno.remove(dir, { recursive: true });
    }
  },
});
