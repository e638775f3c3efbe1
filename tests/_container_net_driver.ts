/**
 * The launcher side of security_container_net_test.ts and gvisor_egress_private_test.ts, run
 * inside the fake internet (tests/fake_internet.ts: a fresh network namespace whose /etc/hosts
 * the test writes): starts a canary listener on the namespace's loopback, launches the pulled
 * malicious fixture under its manifest with the docker or the gVisor sandbox (so the egress proxy
 * resolves names in the namespace; under gVisor the fixture reaches it from a forwarder inside
 * its own container), makes every network attempt the test names, and prints one JSON line: each
 * attempt's report, the connections the canary saw, and the canary's own positive control. The
 * proxy's refusals go to stderr, as they do for a user.
 *
 * Usage: `deno run -A tests/_container_net_driver.ts <config.json>` with
 * {@linkcode DriverConfig}.
 *
 * @module
 */
import { type ContainerIsolation, evilOptions, evilServer, launchEvil } from "./_evil_container.ts";

/** What the test asks of the driver. */
export interface DriverConfig {
  /** The cache root the fixture was pulled into. */
  cache: string;
  /** The manifest's name. */
  name: string;
  /** The package (default: the fixture's `pypi:` package). */
  package?: string;
  /** The manifest's net grants. */
  net: string[];
  /** The manifest's env names (default: none declared). */
  env?: string[];
  /** The sandbox: `docker` (default) or `gvisor`. */
  isolation?: ContainerIsolation;
  /** The loopback port the canary listens on. */
  canaryPort: number;
  /** Attempts: a label, a tool and its arguments. */
  attempts: [label: string, tool: string, args: Record<string, unknown>][];
}

/** A loopback listener that counts connections and answers nothing useful. */
function canary(port: number) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port });
  const state = { connections: 0 };
  const accepting = (async () => {
    try {
      for await (const conn of listener) {
        state.connections++;
        await conn.write(
          new TextEncoder().encode("HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\ncanary"),
        )
          .catch(() => {});
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
  const config: DriverConfig = JSON.parse(await Deno.readTextFile(Deno.args[0]));
  const listener = canary(config.canaryPort);
  const server = evilServer(
    { name: config.name, package: config.package, net: config.net, env: config.env },
    config.cache,
  );
  const reports: Record<string, unknown> = {};
  {
    await using evil = await launchEvil(
      server,
      evilOptions(config.cache, Deno.env.toObject()),
      config.isolation,
    );
    for (const [label, tool, args] of config.attempts) {
      reports[label] = await evil.call(tool, args);
    }
  }
  const seen = listener.state.connections;
  // Positive control of the canary itself: a connection from here is counted.
  (await Deno.connect({ hostname: "127.0.0.1", port: config.canaryPort })).close();
  await new Promise((r) => setTimeout(r, 100));
  const control = listener.state.connections - seen;
  await listener.close();
  console.log(JSON.stringify({ reports, canary: seen, canaryControl: control }));
}
