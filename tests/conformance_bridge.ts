/**
 * Runs the official MCP conformance suite's server scenarios (all of them, pending included)
 * against `servers/conformance` twice: natively over Streamable HTTP, and over stdio behind the
 * HTTP bridge. Prints a markdown table; exits 1 if a scenario that passes natively fails
 * through the bridge.
 *
 * ```sh
 * deno run -A tests/conformance_bridge.ts [--json out.json] [--json-response]
 * ```
 *
 * Loopback only. Needs the suite in the Deno cache (`deno cache npm:@modelcontextprotocol/conformance@0.1.16`).
 *
 * @module
 */
import { parseArgs } from "node:util";
import { serveHttpBridge } from "../runtime/http/serve.ts";
import { denoChildren, ROOT } from "./_bridge_helpers.ts";

/** The pinned conformance suite. */
export const CONFORMANCE_SUITE = "npm:@modelcontextprotocol/conformance@0.1.16";

/** One scenario's result. */
export interface ScenarioResult {
  /** Checks that passed. */
  passed: number;
  /** Checks that failed. */
  failed: number;
}

/**
 * Runs the suite against an MCP endpoint.
 *
 * @param url The endpoint.
 * @param suite The suite's package. Default {@linkcode CONFORMANCE_SUITE}.
 * @param selection Which scenarios. Default all of them (`--suite all`).
 * @returns Results by scenario, in the suite's order.
 */
export async function runConformanceSuite(
  url: string,
  suite: string = CONFORMANCE_SUITE,
  selection: string[] = ["--suite", "all"],
): Promise<Map<string, ScenarioResult>> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", suite, "server", "--url", url, ...selection],
    cwd: await Deno.makeTempDir({ prefix: "conformance-" }),
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(output.stdout);
  const summary = text.slice(text.lastIndexOf("=== SUMMARY ==="));
  const results = new Map<string, ScenarioResult>();
  for (const match of summary.matchAll(/^[✓✗] (\S+): (\d+) passed, (\d+) failed$/gm)) {
    results.set(match[1], { passed: Number(match[2]), failed: Number(match[3]) });
  }
  if (results.size === 0) {
    throw new Error(
      `The conformance suite printed no summary:\n${text}\n${
        new TextDecoder().decode(output.stderr)
      }`,
    );
  }
  return results;
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/**
 * Runs the suite against `servers/conformance` natively over Streamable HTTP (the baseline).
 *
 * @returns Results by scenario.
 */
export async function runNativeConformance(): Promise<Map<string, ScenarioResult>> {
  const port = freePort();
  const native = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--no-prompt",
      "--cached-only",
      `--allow-net=127.0.0.1:${port}`,
      "--config",
      `${ROOT}servers/conformance/deno.json`,
      `${ROOT}servers/conformance/mod.ts`,
      "--http",
      "--port",
      String(port),
    ],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  try {
    const reader = native.stderr.pipeThrough(new TextDecoderStream()).getReader();
    let banner = "";
    while (!banner.includes("MCP conformance server on")) {
      const { done, value } = await reader.read();
      if (done) throw new Error(`The conformance server did not start: ${banner}`);
      banner += value;
    }
    reader.releaseLock();
    native.stderr.cancel().catch(() => {});
    return await runConformanceSuite(`http://127.0.0.1:${port}/mcp`);
  } finally {
    native.kill("SIGTERM");
    await native.status;
  }
}

/**
 * Runs the suite natively and through the bridge.
 *
 * @returns Both result maps.
 */
export async function compareNativeAndBridge(options: { jsonResponse?: boolean } = {}): Promise<{
  native: Map<string, ScenarioResult>;
  bridge: Map<string, ScenarioResult>;
}> {
  const nativeResults = await runNativeConformance();
  const children = denoChildren({ server: "conformance" });
  const server = await serveHttpBridge({
    connect: children.connect,
    jsonResponse: options.jsonResponse,
  });
  let bridgeResults: Map<string, ScenarioResult>;
  try {
    bridgeResults = await runConformanceSuite(server.url);
  } finally {
    await server.shutdown();
  }
  return { native: nativeResults, bridge: bridgeResults };
}

/**
 * Formats the comparison as a markdown table.
 *
 * @param native Native results.
 * @param bridge Bridge results.
 * @returns The table.
 */
export function conformanceTable(
  native: Map<string, ScenarioResult>,
  bridge: Map<string, ScenarioResult>,
): string {
  const cell = (result: ScenarioResult | undefined) =>
    result === undefined
      ? "—"
      : `${result.failed === 0 ? "pass" : "FAIL"} (${result.passed}/${
        result.passed + result.failed
      })`;
  const lines = [
    "| scenario | native HTTP | stdio behind the bridge |",
    "|---|---|---|",
  ];
  for (const name of new Set([...native.keys(), ...bridge.keys()])) {
    lines.push(`| ${name} | ${cell(native.get(name))} | ${cell(bridge.get(name))} |`);
  }
  return lines.join("\n");
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: { json: { type: "string" }, "json-response": { type: "boolean" } },
  });
  const { native, bridge } = await compareNativeAndBridge({
    jsonResponse: values["json-response"],
  });
  console.log(conformanceTable(native, bridge));
  if (values.json !== undefined) {
    await Deno.writeTextFile(
      values.json,
      JSON.stringify(
        { native: Object.fromEntries(native), bridge: Object.fromEntries(bridge) },
        null,
        2,
      ),
    );
  }
  const regressions = [...native].filter(([name, result]) =>
    result.failed === 0 && (bridge.get(name)?.failed ?? 1) > 0
  );
  if (regressions.length > 0) {
    console.error(
      `Pass natively, fail through the bridge: ${regressions.map(([n]) => n).join(", ")}`,
    );
    Deno.exit(1);
  }
}
