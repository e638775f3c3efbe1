/**
 * The Python pull's only network is the package index, through the egress proxy: a pull from a
 * loopback index named by `PIP_INDEX_URL` works with no network option, and the same pull with
 * an index whose files live on another host is refused there, with the refusal reported.
 *
 * Needs docker, the stand-ins (tools/docker_setup.sh) and the host's pip (to build the wheel).
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { createSandbox } from "../runtime/sandbox/create_sandbox.ts";
import { resolveServer } from "../runtime/policy/resolve.ts";
import { parseManifest } from "../runtime/policy/manifest_text.ts";
import { runDocker } from "../runtime/sandbox/docker_engine.ts";
import { dockerProblem, IMAGE, PYTHON_IMAGE } from "./_docker.ts";
import { tempDir } from "./_helpers.ts";
import { buildWheel, ECHO_PROJECT, startPypiIndex } from "./_pypi_index.ts";

const problem = await dockerProblem("python_pull_egress_test.ts: skipping", { python: true });

const manifest = parseManifest(JSON.stringify({
  name: "echo-py",
  description: "Echo",
  package: "pypi:mcp-run-test-echo@0.1.0",
}));

/** Pulls the echo fixture with no network option: the egress proxy is the only way out. */
async function pullFrom(indexUrl: string, cache: string): Promise<string[]> {
  const lines: string[] = [];
  const server = resolveServer(manifest, { cacheRoot: cache, isolation: "docker" });
  const sandbox = await createSandbox("docker", {
    cacheRoot: cache,
    image: IMAGE,
    pythonImage: PYTHON_IMAGE,
    source: { ...Deno.env.toObject(), PIP_INDEX_URL: indexUrl },
    progress: (line) => lines.push(line),
    approve: true,
  });
  await sandbox.pull(server);
  await (await sandbox.prepare(server)).verify();
  return lines;
}

async function leftovers(): Promise<string> {
  const ps = await runDocker([
    "ps",
    "-aq",
    "--filter",
    "label=mcp-run.role=egress",
    "--filter",
    "label=mcp-run.server=echo-py",
  ]);
  return ps.stdout.trim();
}

Deno.test({
  name:
    "DockerSandbox.pull() reaches a loopback index named by PIP_INDEX_URL only through the egress proxy",
  ignore: problem !== undefined,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const work = tempDir("mcp-run-pull-egress-");
    const index = await startPypiIndex({ files: [await buildWheel(ECHO_PROJECT, work)] });
    try {
      // Positive control: the index is reached (loopback, granted because the user named it).
      const lines = await pullFrom(index.url, join(work, "cache"));
      assert.match(lines.join("\n"), /Pulled echo-py: 1 distributions/);
      assert.ok(index.requests.some((r) => r.startsWith("GET /files/mcp_run_test_echo")));

      // An index whose pages link to files on another host (here another loopback port, the
      // canary): the pull's proxy allows the index alone, so the files are never fetched.
      const canary = await startPypiIndex({ files: [...index.files.values()].map((f) => f.path) });
      const linking = await startPypiIndex({
        files: [...index.files.values()].map((f) => f.path),
        filesUrl: canary.url.replace(/simple\/$/, ""),
      });
      try {
        await assert.rejects(
          () => pullFrom(linking.url, join(work, "cache2")),
          /Cannot pull pypi:mcp-run-test-echo@0\.1\.0/,
        );
        assert.ok(linking.requests.some((r) => r.startsWith("GET /simple/")));
        assert.deepEqual(canary.requests, [], "the host the index links to saw no request");
      } finally {
        await linking.close();
        await canary.close();
      }
      assert.equal(await leftovers(), "", "no egress sidecar is left");
    } finally {
      await index.close();
      await Deno.remove(work, { recursive: true }).catch(() => {});
    }
  },
});
