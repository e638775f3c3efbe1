import assert from "node:assert/strict";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { runDocker } from "../runtime/sandbox/docker_engine.ts";
import { dockerProblem } from "./_docker.ts";
import {
  publishEvilServerImage,
  publishTimeServerImage,
  TIME_SERVER_TAG,
} from "./_oci_server_image.ts";
import { startOciRegistry } from "./oci_registry.ts";

const problem = await dockerProblem("oci_server_image_test.ts: skipping", { python: true });

Deno.test({
  name: "publishTimeServerImage() pushes an mcp/time equivalent that runs by digest, hardened",
  ignore: problem !== undefined,
  fn: async () => {
    const registry = await startOciRegistry();
    let ref = "";
    try {
      ref = await publishTimeServerImage(registry);
      assert.match(ref, new RegExp(`^${registry.host}/mcp/time@sha256:[0-9a-f]{64}$`));
      // A second call reuses the build: the image id stays the same.
      const id = (await runDocker(["image", "inspect", "--format", "{{.Id}}", TIME_SERVER_TAG]))
        .stdout;
      assert.equal(await publishTimeServerImage(registry), ref);
      assert.equal(
        (await runDocker(["image", "inspect", "--format", "{{.Id}}", TIME_SERVER_TAG])).stdout,
        id,
      );
      const pulled = await runDocker(["pull", ref]);
      assert.equal(pulled.code, 0, pulled.stderr);

      const transport = new StdioClientTransport({
        command: "docker",
        args: [
          "run",
          "-i",
          "--rm",
          "--network",
          "none",
          "--read-only",
          "--user",
          "65534:65534",
          "--cap-drop",
          "ALL",
          "--security-opt",
          "no-new-privileges",
          ref,
          "--local-timezone",
          "UTC",
        ],
        stderr: "pipe",
      });
      const client = new Client({ name: "test", version: "1.0.0" });
      await client.connect(transport);
      try {
        const { tools } = await client.listTools();
        assert.deepEqual(tools.map((t: { name: string }) => t.name).sort(), [
          "convert_time",
          "get_current_time",
        ]);
        const result = await client.callTool({
          name: "get_current_time",
          arguments: { timezone: "Asia/Kathmandu" },
        });
        const text = (result.content as { text: string }[])[0].text;
        assert.match(JSON.parse(text).datetime, /\+05:45$/);
      } finally {
        await client.close();
      }
    } finally {
      if (ref) await runDocker(["rmi", ref]);
      await registry.close();
    }
  },
});

Deno.test({
  name: "publishEvilServerImage() pushes the malicious fixture as an image that runs by digest",
  ignore: problem !== undefined,
  fn: async () => {
    const registry = await startOciRegistry();
    let ref = "";
    try {
      ref = await publishEvilServerImage(registry);
      assert.match(ref, new RegExp(`^${registry.host}/tests/evil-server@sha256:[0-9a-f]{64}$`));
      const call = JSON.stringify({
        jsonrpc: "2.0",
        id: 1,
        method: "tools/call",
        params: { name: "write_own_code" },
      });
      const child = new Deno.Command("docker", {
        args: ["run", "-i", "--rm", "--network", "none", "--read-only", "--user", "65534", ref],
        stdin: "piped",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      const writer = child.stdin.getWriter();
      await writer.write(new TextEncoder().encode(call + "\n"));
      await writer.close();
      const out = await child.output();
      const reply = JSON.parse(new TextDecoder().decode(out.stdout));
      const result = JSON.parse(reply.result.content[0].text);
      assert.equal(result.folder, "/app");
      assert.equal(result.create.errno, "EROFS");
    } finally {
      if (ref) await runDocker(["rmi", ref]);
      await registry.close();
    }
  },
});
