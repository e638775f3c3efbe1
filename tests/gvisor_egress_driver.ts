/**
 * The launcher side of gvisor_egress_private_test.ts, run inside the fake internet
 * (tests/fake_internet.ts): like tests/_container_net_driver.ts, but the pulled malicious
 * `pypi:` fixture runs under the gVisor sandbox, so its network goes through the egress proxy
 * from a forwarder inside its own container. Starts a canary listener on the namespace's
 * loopback, makes every attempt the config names, and prints one JSON line: each attempt's
 * report, the connections the canary saw, and the canary's own positive control. The proxy's
 * refusals go to stderr, as they do for a user.
 *
 * Reusable for any `net` attack set under gVisor: give it a {@linkcode GvisorDriverConfig}
 * (the attempts of tests/_container_net_plan.ts, or others) and read its last stdout line.
 *
 * Usage: `deno run -A tests/gvisor_egress_driver.ts <config.json>`.
 *
 * @module
 */
import { parseManifest } from "../runtime/policy/manifest_text.ts";
import { resolveServer } from "../runtime/policy/resolve.ts";
import { connectServer } from "../runtime/sandbox/connect.ts";
import { GvisorSandbox } from "../runtime/sandbox/gvisor_sandbox.ts";
import { EVIL_PACKAGE, evilOptions } from "./_evil_container.ts";
import { resultText } from "./_helpers.ts";

/** What the test asks of the driver. */
export interface GvisorDriverConfig {
  /** The cache root the fixture was pulled into. */
  cache: string;
  /** The manifest's name. */
  name: string;
  /** The manifest's net grants. */
  net: string[];
  /** The loopback port the canary listens on. */
  canaryPort: number;
  /** Attempts: a label, a tool and its arguments. */
  attempts: [label: string, tool: string, args: Record<string, unknown>][];
}

/** A loopback listener that counts connections. */
function canary(port: number) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port });
  const state = { connections: 0 };
  const accepting = (async () => {
    try {
      for await (const conn of listener) {
        state.connections++;
        await conn.write(
          new TextEncoder().encode("HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\ncanary"),
        ).catch(() => {});
        conn.close();
      }
    } catch { /* closed */ }
  })();
  return {
    state,
    close: async () => {
      listener.close();
      await accepting;
    },
  };
}

if (import.meta.main) {
  const config: GvisorDriverConfig = JSON.parse(await Deno.readTextFile(Deno.args[0]));
  const listener = canary(config.canaryPort);
  const server = resolveServer(
    parseManifest(JSON.stringify({
      name: config.name,
      description: "A malicious Python test server",
      package: EVIL_PACKAGE,
      permissions: { net: config.net },
    })),
    { cacheRoot: config.cache },
  );
  const options = evilOptions(config.cache, Deno.env.toObject());
  const reports: Record<string, unknown> = {};
  const connected = await connectServer(server, {
    ...options,
    autoPull: false,
    sandbox: new GvisorSandbox({ ...options, autoPull: false }),
    onStderr: () => {},
    timeoutMs: 60_000,
  });
  try {
    for (const [label, tool, args] of config.attempts) {
      const result = await connected.request(
        "tools/call",
        (o) => connected.client.callTool({ name: tool, arguments: args }, undefined, o),
      );
      reports[label] = JSON.parse(resultText(result as { content?: unknown }));
    }
  } finally {
    await connected.close();
  }
  const seen = listener.state.connections;
  // Positive control of the canary itself: a connection from here is counted.
  (await Deno.connect({ hostname: "127.0.0.1", port: config.canaryPort })).close();
  await new Promise((r) => setTimeout(r, 100));
  const control = listener.state.connections - seen;
  await listener.close();
  console.log(JSON.stringify({ reports, canary: seen, canaryControl: control }));
}
