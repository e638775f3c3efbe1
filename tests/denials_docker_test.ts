/**
 * Exact blocked-access reports in containers, with the real engine: Deno in docker writes its
 * audit into the FIFO bind-mounted alone into the container (the same lines as natively, worded
 * for the container's folders); a `pypi:` server's egress proxy refusals become `net` denials on
 * the same log. The FIFO report also runs under gVisor (its runtime opens host FIFOs).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { CLI_DOCKER, dockerProblem } from "./_docker.ts";
import { CLI_GVISOR, gvisorProblem } from "./_gvisor.ts";
import { cli, initializeRequest, ROOT, toolEnv } from "./_helpers.ts";
import { evilOptions, evilProblem, evilServer, pullEvil } from "./_evil_container.ts";
import { openAuditChannel } from "../runtime/learn/audit_channel.ts";
import { DenialLog } from "../runtime/learn/denial_log.ts";
import type { Sandbox } from "../runtime/sandbox/sandbox.ts";
import { connectServer } from "../runtime/sandbox/connect.ts";
import { DockerSandbox } from "../runtime/sandbox/docker_sandbox.ts";

const problem = await dockerProblem("denials_docker_test.ts: skipping");
const gvisorMissing = await gvisorProblem("denials_docker_test.ts: skipping gvisor");
const pythonProblem = problem ?? await evilProblem();
const MANIFEST = join(ROOT, "tests", "testdata", "denials", "manifest.jsonc");
const PREFIX = "mcp-run: denials-fixture was refused ";

/** The per-launch folders left in the cache's audit folder (its spare FIFO aside). */
function launchFolders(cache: string): string[] {
  return [...Deno.readDirSync(join(cache, "audit"))].filter((e) => e.name !== "spare")
    .map((e) => e.name);
}

/** A folder outside /tmp (the container's HOME is a tmpfs at /tmp), writable by its user. */
function workDir(): string {
  const dir = Deno.makeTempDirSync({ dir: "/var/tmp", prefix: "mcp-run-denials-docker-" });
  Deno.chmodSync(dir, 0o777);
  return dir;
}

/** The fixture's folder (writable by the container's user), its cache, and its parameters. */
function fixtureScene(work: string): { cache: string; params: string[] } {
  const own = join(work, "own");
  Deno.mkdirSync(own, { mode: 0o777 });
  Deno.chmodSync(own, 0o777);
  const params = [
    "-p",
    `dir=${own}`,
    "-p",
    `config=${join(work, "settings.json")}`,
    "-p",
    `outside=${join(work, "out.txt")}`,
    "-p",
    "target=api.example.com:443",
  ];
  return { cache: join(work, "cache"), params };
}

for (const isolation of ["docker", "gvisor"] as const) {
  Deno.test({
    name: `mcp-run run --isolation ${isolation} reports refused accesses through the mounted FIFO`,
    ignore: isolation === "docker" ? problem !== undefined : gvisorMissing !== undefined,
    fn: async () => {
      const work = workDir();
      try {
        const { cache, params } = fixtureScene(work);
        const config = join(work, "settings.json");
        Deno.writeTextFileSync(config, "canary-config\n");
        const stdin = JSON.stringify(initializeRequest(1, { name: "t", version: "1" })) + "\n";
        const options = isolation === "docker" ? CLI_DOCKER : CLI_GVISOR;
        const run = await cli(["run", MANIFEST, ...params, ...options, "--", "ffi"], {
          env: { HOME: Deno.env.get("HOME") ?? "/root", MCP_RUN_CACHE: cache },
          stdin,
        });
        assert.equal(run.code, 0, run.stderr);
        assert.match(run.stdout, /denials-fixture/);
        const lines = run.stderr.split("\n").filter((l) => l.startsWith(PREFIX));
        assert.deepEqual(lines, [
          `${PREFIX}read ${config}: to allow it, "read": [${JSON.stringify(config)}]`,
          `${PREFIX}env FOO_TOKEN: to allow it, "secrets": { "FOO_TOKEN": { "description": "…", ` +
          `"required": false } }`,
          `${PREFIX}sys homedir: to allow it, "sys": ["homedir"]`,
          `${PREFIX}net api.example.com:443: to allow it, "net": ["api.example.com:443"]`,
          `${PREFIX}write ${join(work, "out.txt")}: to allow it, "write": [${
            JSON.stringify(join(work, "out.txt"))
          }]`,
          `${PREFIX}ffi libfixture.so: to allow it, "ffi": ["libfixture.so"] with --trust`,
        ]);
        assert.ok(!run.stderr.includes("was refused env FORGED_NAME"));
        assert.deepEqual(launchFolders(cache), []);
        const listed = await cli(["denials", "denials-fixture"], {
          env: { HOME: Deno.env.get("HOME") ?? "/root", MCP_RUN_CACHE: cache },
        });
        assert.match(listed.stdout, /Refused \(6\):/);
      } finally {
        await Deno.remove(work, { recursive: true }).catch(() => {});
      }
    },
  });
}

Deno.test({
  name:
    "mcp-run run --isolation docker --trust marks every report unverified: its programs can forge them",
  ignore: problem !== undefined,
  fn: async () => {
    const work = workDir();
    try {
      const { cache, params } = fixtureScene(work);
      const stdin = JSON.stringify(initializeRequest(1, { name: "t", version: "1" })) + "\n";
      const trusted = join(ROOT, "tests", "testdata", "denials", "trusted.jsonc");
      const run = await cli(["run", trusted, ...params, ...CLI_DOCKER, "--trust", "--", "forge"], {
        env: { HOME: Deno.env.get("HOME") ?? "/root", MCP_RUN_CACHE: cache },
        stdin,
      });
      assert.equal(run.code, 0, run.stderr);
      const prefix = "mcp-run: denials-trusted was refused ";
      const lines = run.stderr.split("\n").filter((l) => l.startsWith(prefix));
      // The canary: the shell's forged record reached the channel, as if Deno had written it.
      assert.ok(
        lines.some((l) => l.startsWith(`${prefix}env CHILD_FORGED (unverified): `)),
        run.stderr,
      );
      assert.ok(lines.length >= 5, run.stderr);
      for (const line of lines) {
        assert.match(line, / \(unverified\): no exact change can be given: .*may be forged/);
        assert.ok(!line.includes("to allow it"), line);
      }
      const listed = await cli(["denials", "denials-trusted"], {
        env: { HOME: Deno.env.get("HOME") ?? "/root", MCP_RUN_CACHE: cache },
      });
      assert.match(
        listed.stdout,
        / {2}env CHILD_FORGED \(unverified\): no exact change can be given/,
      );
    } finally {
      await Deno.remove(work, { recursive: true }).catch(() => {});
    }
  },
});

Deno.test({
  name: "DockerSandbox.spawn() reports a pypi: server's egress refusals as net denials",
  ignore: pythonProblem !== undefined,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const work = workDir();
    try {
      const cache = join(work, "cache");
      const server = evilServer({ name: "evil-denials", net: ["granted.example:80"] }, cache);
      await pullEvil(server, cache);
      const seen: string[] = [];
      const log = new DenialLog(server, { onDenial: (d) => seen.push(d.asked) });
      // What `serve` stores: the log as it is when the channel closes.
      const stored: string[][] = [];
      const audit = await openAuditChannel({
        cacheRoot: cache,
        log,
        onClose: (l) => void stored.push(l.denials.map((d) => d.asked)),
      });
      const options = evilOptions(cache, toolEnv());
      const docker = new DockerSandbox({ ...options, autoPull: false });
      const sandbox: Sandbox = {
        isolation: docker.isolation,
        unit: docker.unit,
        plan: (s, o) => docker.plan(s, o),
        pull: (s) => docker.pull(s),
        prepare: (s) => docker.prepare(s),
        spawn: (s, o) => docker.spawn(s, { ...o, audit }),
      };
      const connected = await connectServer(server, {
        ...options,
        autoPull: false,
        sandbox,
        onStderr: () => {},
        timeoutMs: 60_000,
      });
      try {
        const result = await connected.request("tools/call", (o) =>
          connected.client.callTool(
            { name: "fetch", arguments: { url: "http://not-granted.example:8080/x" } },
            undefined,
            o,
          ));
        assert.match(JSON.stringify(result), /403|refused|Forbidden/i);
      } finally {
        await connected.close();
      }
      assert.deepEqual(seen, ["net not-granted.example:8080"]);
      assert.deepEqual(stored, [["net not-granted.example:8080"]]);
      const [denial] = connected.transport.process.denials;
      assert.equal(denial.allow, '"net": ["not-granted.example:8080"]');
    } finally {
      await Deno.remove(work, { recursive: true }).catch(() => {});
    }
  },
});
