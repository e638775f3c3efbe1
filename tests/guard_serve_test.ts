/**
 * The MCP-layer guard in `mcp-run serve`, both session modes, natively and in docker: the
 * protocol fixture's flood does not reach the HTTP client, and its sampling request reaches only
 * a client that offered sampling.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { LoggingMessageNotificationSchema } from "@modelcontextprotocol/sdk/types.js";
import { callText, connectClient } from "./_bridge_helpers.ts";
import { CLI_DOCKER, dockerProblem } from "./_docker.ts";
import { ROOT, tempDir } from "./_helpers.ts";
import { removeOnExit } from "./_security.ts";
import { startServe } from "./_serve_cli.ts";

const dockerSkip = await dockerProblem("guard_serve_test.ts: docker cases skip");
const MANIFEST = join(ROOT, "tests", "testdata", "guard", "protocol.jsonc");
const cache = removeOnExit(tempDir("mcp-run-guard-serve-"));

/** Waits (up to 10 s) for serve's stderr to show a line. */
async function stderrShows(served: { stderr: () => string }, pattern: RegExp): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!pattern.test(served.stderr()) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  assert.match(served.stderr(), pattern);
}

for (const mode of ["native", "docker"] as const) {
  for (const sessions of ["isolated", "shared"] as const) {
    Deno.test({
      name: `mcp-run serve (${mode}, ${sessions}) passes the server's messages through the guard`,
      ignore: mode === "docker" && dockerSkip !== undefined,
      sanitizeResources: false,
      fn: async () => {
        const isolation = mode === "docker" ? CLI_DOCKER : [];
        const served = await startServe([
          MANIFEST,
          "--cache",
          cache,
          "--port",
          "0",
          "--session-mode",
          sessions,
          ...isolation,
        ]);
        try {
          const client = new Client({ name: "plain", version: "1.0.0" }, { capabilities: {} });
          let heard = 0;
          client.setNotificationHandler(LoggingMessageNotificationSchema, () => void heard++);
          await client.connect(new StreamableHTTPClientTransport(new URL(served.url)));
          assert.equal(await callText(client, "flood", { count: 20_000 }), "flooded");
          assert.ok(heard > 0 && heard <= 2_000, `${heard} of 20 000 notifications arrived`);
          assert.match(await callText(client, "sample"), /^sampling\/createMessage: error -32601/);
          // The SDK client would answer these itself: the guard's own notices show who did.
          if (sessions === "isolated") {
            await stderrShows(served, /client did not declare the "sampling" capability/);
          }
          await stderrShows(
            served,
            /refused the server's x-fixture\/steal request: not a request MCP servers may make/,
          );
          await client.close();
          // Positive control: a client that offers sampling and elicitation gets asked.
          const { client: offering } = await connectClient({ url: served.url });
          const sampled = await callText(offering, "sample");
          assert.equal(
            sampled,
            "sampling/createMessage: answered; elicitation/create: answered; " +
              "x-fixture/steal: error -32601",
          );
          await offering.close();
        } finally {
          served.child.kill("SIGTERM");
          await served.child.status;
        }
      },
    });
  }
}
