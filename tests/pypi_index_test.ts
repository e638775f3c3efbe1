import assert from "node:assert/strict";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { runDocker } from "../runtime/sandbox/docker_engine.ts";
import { dockerProblem } from "./_docker.ts";
import { PYTHON_IMAGE } from "./_oci_server_image.ts";
import { buildTestWheels, normalizeName, startPypiIndex } from "./_pypi_index.ts";

const decoder = new TextDecoder();
const dockerSkip = await dockerProblem("pypi_index_test.ts: skipping the container test", {
  python: true,
});

async function pipInstall(
  index: string,
  target: string,
  requirement: string,
): Promise<Deno.CommandOutput> {
  return await new Deno.Command("pip", {
    args: [
      "install",
      "--disable-pip-version-check",
      "--no-cache-dir",
      "--only-binary",
      ":all:",
      "--target",
      target,
      requirement,
    ],
    // Only the local index: PIP_INDEX_URL is how a `pypi:` pull is pointed at it.
    env: { PIP_INDEX_URL: index, PIP_CONFIG_FILE: "/dev/null" },
    stdout: "piped",
    stderr: "piped",
  }).output();
}

Deno.test("normalizeName() follows PEP 503", () => {
  for (
    const [name, want] of [
      ["mcp_run_test_evil", "mcp-run-test-evil"],
      ["Friendly.Bard", "friendly-bard"],
      ["a-_.b", "a-b"],
    ]
  ) assert.equal(normalizeName(name), want);
});

Deno.test("startPypiIndex() serves built wheels that pip installs and whose server answers", async () => {
  const dir = await Deno.makeTempDir();
  const { evil, echo } = await buildTestWheels(dir);
  assert.match(evil, /mcp_run_test_evil-0\.1\.0-py3-none-any\.whl$/);
  const index = await startPypiIndex({ files: [evil, echo] });
  try {
    const target = join(dir, "site");
    const out = await pipInstall(index.url, target, "mcp-run-test-echo==0.1.0");
    assert.ok(out.success, decoder.decode(out.stderr));
    assert.ok(index.requests.includes("GET /simple/mcp-run-test-echo/"));
    assert.ok(index.requests.includes("GET /files/mcp_run_test_echo-0.1.0-py3-none-any.whl"));
    assert.ok(!index.requests.some((r) => r.includes("evil")));

    const transport = new StdioClientTransport({
      command: join(target, "bin", "mcp-run-test-echo"),
      env: { PYTHONPATH: target },
      stderr: "pipe",
    });
    const client = new Client({ name: "test", version: "1.0.0" });
    await client.connect(transport);
    try {
      assert.deepEqual(client.getServerVersion(), { name: "mcp-run-test-echo", version: "0.1.0" });
      const result = await client.callTool({ name: "echo", arguments: { text: "from a wheel" } });
      assert.deepEqual(result.content, [{ type: "text", text: "from a wheel" }]);
    } finally {
      await client.close();
    }
  } finally {
    await index.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("startPypiIndex() announces each file's sha256, so pip refuses changed bytes", async () => {
  const dir = await Deno.makeTempDir();
  const { evil, echo } = await buildTestWheels(dir);
  const index = await startPypiIndex({ files: [echo] });
  try {
    // The served file changes after the index announced its hash.
    await Deno.copyFile(evil, echo);
    const out = await pipInstall(index.url, join(dir, "site"), "mcp-run-test-echo==0.1.0");
    assert.ok(!out.success);
    assert.match(decoder.decode(out.stderr), /HASHES|hash/);
    const missing = await pipInstall(index.url, join(dir, "site2"), "not-in-the-index==1.0");
    assert.ok(!missing.success);
    assert.ok(index.requests.includes("GET /simple/not-in-the-index/"));
  } finally {
    await index.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "startPypiIndex() serves pip inside the Python stand-in image",
  ignore: dockerSkip !== undefined,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    const { evil } = await buildTestWheels(dir);
    const index = await startPypiIndex({ files: [evil] });
    try {
      const script = [
        "set -e",
        "python3 -m pip install -q --disable-pip-version-check --no-cache-dir --only-binary :all:" +
        " --target /tmp/site mcp-run-test-evil==0.1.0",
        `echo '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"whoami"}}'` +
        " | PYTHONPATH=/tmp/site /tmp/site/bin/mcp-run-test-evil",
      ].join("\n");
      const out = await runDocker([
        "run",
        "--rm",
        "--network",
        "host",
        "--user",
        "65534:65534",
        "-e",
        `PIP_INDEX_URL=${index.url}`,
        "-e",
        "HOME=/tmp",
        PYTHON_IMAGE,
        "sh",
        "-c",
        script,
      ]);
      assert.equal(out.code, 0, out.stderr);
      const reply = JSON.parse(out.stdout.trim().split("\n").at(-1)!);
      const whoami = JSON.parse(reply.result.content[0].text);
      assert.equal(whoami.uid, 65534);
      assert.equal(whoami.file, "/tmp/site/evil_server.py");
    } finally {
      await index.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
