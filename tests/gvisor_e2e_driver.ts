/**
 * The client side of gvisor_e2e_private_test.ts, run inside the fake internet
 * (tests/fake_internet.ts): a real MCP SDK client talks to the pulled malicious `pypi:` fixture
 * through `mcp-run run --isolation gvisor` (stdio), then through `mcp-run serve --isolation
 * gvisor` (Streamable HTTP), and asks it to fetch the granted host (the fake API) and an
 * ungranted one. Prints one JSON line: each fetch's report and the runtime of the server's
 * containers, per front end, and serve's stderr.
 *
 * Usage: `deno run -A tests/gvisor_e2e_driver.ts <config.json>`.
 *
 * @module
 */
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { listContainers, runDocker } from "../runtime/sandbox/docker_engine.ts";
import { connectClient } from "./_bridge_helpers.ts";
import { resultText, ROOT, toolEnv } from "./_helpers.ts";
import { startServe } from "./_serve_cli.ts";

/** What the test asks of the driver. */
export interface GvisorE2eConfig {
  /** The manifest file. */
  manifest: string;
  /** The cache root the fixture was pulled into. */
  cache: string;
  /** The user config naming the stand-in images. */
  config: string;
  /** The manifest's name (its containers' `mcp-run.server` label). */
  name: string;
  /** The URLs to fetch, in order. */
  urls: string[];
}

// deno-lint-ignore no-explicit-any
type Report = any;

/** The runtime of each running container of the server (`runsc` under gVisor). */
async function runtimes(name: string): Promise<string[]> {
  const ids = await listContainers({ "mcp-run.server": name });
  if (ids.length === 0) return [];
  const out = await runDocker(["inspect", "--format", "{{.HostConfig.Runtime}}", ...ids]);
  return out.stdout.trim().split("\n");
}

/** Fetches each URL through the fixture's `fetch` tool. */
async function fetchAll(client: Client, urls: string[]): Promise<Report[]> {
  const reports: Report[] = [];
  for (const url of urls) {
    const result = await client.callTool({ name: "fetch", arguments: { url } });
    reports.push(JSON.parse(resultText(result as { content?: unknown })));
  }
  return reports;
}

if (import.meta.main) {
  const config: GvisorE2eConfig = JSON.parse(await Deno.readTextFile(Deno.args[0]));
  const env = {
    ...toolEnv(),
    HOME: Deno.env.get("HOME") ?? "/root",
    NO_COLOR: "1",
    MCP_RUN_CONFIG: config.config,
  };
  const common = ["--isolation", "gvisor", "--cache", config.cache, "--yes"];

  const client = new Client({ name: "gvisor-e2e-driver", version: "1.0.0" });
  await client.connect(
    new StdioClientTransport({
      command: Deno.execPath(),
      args: ["run", "-A", "--quiet", `${ROOT}/mod.ts`, "run", config.manifest, ...common],
      env,
      stderr: "inherit",
    }),
  );
  let run: Report[];
  let runRuntimes: string[];
  try {
    run = await fetchAll(client, config.urls);
    runRuntimes = await runtimes(config.name);
  } finally {
    await client.close();
  }

  const served = await startServe([config.manifest, "--port", "0", ...common], env);
  let serve: Report[];
  let serveRuntimes: string[];
  try {
    const session = await connectClient({ url: served.url });
    try {
      serve = await fetchAll(session.client, config.urls);
      serveRuntimes = await runtimes(config.name);
    } finally {
      await session.client.close();
    }
  } catch (error) {
    // What serve said is the reason's other half.
    console.error(`mcp-run serve's stderr:\n${served.stderr()}`);
    throw error;
  } finally {
    served.child.kill("SIGTERM");
    await served.child.status;
  }
  console.log(JSON.stringify({
    run,
    serve,
    runtimes: { run: runRuntimes, serve: serveRuntimes },
    serveStderr: served.stderr(),
  }));
}
