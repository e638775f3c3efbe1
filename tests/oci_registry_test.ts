import assert from "node:assert/strict";
import { join } from "node:path";
import { runDocker } from "../runtime/sandbox/docker_engine.ts";
import { dockerProblem } from "./_docker.ts";
import { pushImage, startOciRegistry } from "./oci_registry.ts";

const problem = await dockerProblem("oci_registry_test.ts: skipping");

/** Imports a rootfs of /bin/sh and its libraries as a local image; returns its tag. */
async function importTinyImage(tag: string): Promise<void> {
  const root = await Deno.makeTempDir();
  try {
    for (
      const file of ["/bin/sh", "/lib/x86_64-linux-gnu/libc.so.6", "/lib64/ld-linux-x86-64.so.2"]
    ) {
      await Deno.mkdir(join(root, file, ".."), { recursive: true });
      await Deno.copyFile(await Deno.realPath(file), join(root, file));
      await Deno.chmod(join(root, file), 0o755);
    }
    const tar = await new Deno.Command("tar", {
      args: ["-C", root, "-cf", "-", "."],
      stdout: "piped",
    })
      .output();
    const child = new Deno.Command("docker", {
      args: ["import", "--change", 'CMD ["/bin/sh"]', "-", tag],
      stdin: "piped",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const writer = child.stdin.getWriter();
    await writer.write(tar.stdout);
    await writer.close();
    const out = await child.output();
    assert.ok(out.success, new TextDecoder().decode(out.stderr));
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

Deno.test({
  name: "startOciRegistry() takes a docker push and serves a docker pull by digest",
  ignore: problem !== undefined,
  fn: async () => {
    const registry = await startOciRegistry();
    const tag = `mcp-run-test/oci-tiny:${crypto.randomUUID().slice(0, 8)}`;
    let ref = "";
    try {
      await importTinyImage(tag);
      ref = await pushImage(registry, tag, { name: "tests/tiny", tag: "v1" });
      assert.match(ref, new RegExp(`^${registry.host}/tests/tiny@sha256:[0-9a-f]{64}$`));
      assert.ok(registry.requests.includes("PUT /v2/tests/tiny/manifests/v1"));
      // Nothing local is left to run: the run below can only use what the pull fetched.
      assert.equal((await runDocker(["rmi", tag])).code, 0);
      assert.notEqual((await runDocker(["image", "inspect", ref])).code, 0);

      const pulled = await runDocker(["pull", ref]);
      assert.equal(pulled.code, 0, pulled.stderr);
      assert.ok(registry.requests.some((r) => r.startsWith("GET /v2/tests/tiny/blobs/sha256:")));
      const run = await runDocker([
        "run",
        "--rm",
        "--network",
        "none",
        ref,
        "/bin/sh",
        "-c",
        "echo pulled-ok",
      ]);
      assert.equal(run.stdout.trim(), "pulled-ok", run.stderr);

      // A tag that was never pushed, and a digest that is not there, are refused.
      const missing = await runDocker([
        "pull",
        `${registry.host}/tests/tiny@sha256:${"0".repeat(64)}`,
      ]);
      assert.notEqual(missing.code, 0);
    } finally {
      if (ref) await runDocker(["rmi", ref]);
      await runDocker(["rmi", tag]);
      await registry.close();
    }
  },
});

Deno.test("startOciRegistry() refuses a blob whose bytes do not match its digest", async () => {
  const registry = await startOciRegistry();
  try {
    const base = `http://${registry.host}/v2/tests/bad/blobs/uploads/`;
    const response = await fetch(`${base}?digest=sha256:${"a".repeat(64)}`, {
      method: "POST",
      body: "not these bytes",
    });
    assert.equal(response.status, 400);
    assert.equal((await response.json()).errors[0].code, "DIGEST_INVALID");
    const head = await fetch(
      `http://${registry.host}/v2/tests/bad/blobs/sha256:${"a".repeat(64)}`,
      {
        method: "HEAD",
      },
    );
    assert.equal(head.status, 404);
    await head.body?.cancel();
  } finally {
    await registry.close();
  }
});
