/**
 * Runs the official MCP conformance suite's server scenarios against `servers/conformance`
 * served by a real `mcp-run serve` process (sandboxed, over stdio behind the bridge): without
 * authentication, and with `--auth oauth`, where every request of the suite carries an access
 * token obtained through the OAuth flow (the suite cannot send headers, so a loopback proxy
 * adds `Authorization` and passes everything else through, `Host` and `Origin` included).
 * Prints markdown tables; exits 1 if a scenario that passes natively fails through serve, or a
 * 2026-07-28 scenario (a newer suite) that passes through serve fails with OAuth.
 *
 * ```sh
 * deno run -A tests/conformance_serve.ts
 * ```
 *
 * Loopback only. Fetches both suites into the Deno cache on first use
 * (`deno cache npm:@modelcontextprotocol/conformance@0.2.0-alpha.12` beside the pinned one).
 *
 * @module
 */
import { join } from "node:path";
import { cli, tempDir } from "./_helpers.ts";
import { ROOT } from "./_bridge_helpers.ts";
import { startServe } from "./_serve_cli.ts";
import { freePort } from "./_oauth_browser.ts";
import { startHeaderProxy } from "./_header_proxy.ts";
import {
  CONFORMANCE_SUITE,
  runConformanceSuite,
  runNativeConformance,
  type ScenarioResult,
} from "./conformance_bridge.ts";
import { PASSPHRASE, signedInToken } from "../runtime/auth/_oauth_fixture.ts";

/**
 * The suite's first release with the 2026-07-28 scenarios (a prerelease; the pinned
 * {@linkcode CONFORMANCE_SUITE} has none). servers/conformance speaks up to 2025-11-25, so
 * through serve (which speaks 2026-07-28 to clients) the baseline is serve without OAuth.
 */
export const CONFORMANCE_SUITE_2026 = "npm:@modelcontextprotocol/conformance@0.2.0-alpha.12";

/** The SDK import the conformance server's deno.json maps, as a full specifier. */
const SDK = "npm:@modelcontextprotocol/sdk@1.32.2/";

/**
 * A copy of `servers/conformance` that runs without its deno.json (as mcp-run runs a local
 * package: `--no-config`), and a manifest for it. The copy's SDK imports are full specifiers.
 *
 * @returns The manifest's path.
 */
export async function conformanceManifest(): Promise<string> {
  const dir = tempDir("mcp-run-conformance-serve-");
  for (const file of ["mod.ts", "server.ts", "http.ts"]) {
    const text = await Deno.readTextFile(join(ROOT, "servers/conformance", file));
    await Deno.writeTextFile(
      join(dir, file),
      text.replaceAll('"@modelcontextprotocol/sdk/', `"${SDK}`),
    );
  }
  const manifest = join(dir, "conformance.jsonc");
  await Deno.writeTextFile(
    manifest,
    JSON.stringify({
      name: "conformance",
      description: "The MCP conformance suite's reference server features",
      package: "./mod.ts",
      permissions: {},
    }),
  );
  return manifest;
}

/** The status of an MCP initialize POSTed to `url`. */
async function initializeStatus(url: string): Promise<number> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json, text/event-stream" },
    body: JSON.stringify({
      jsonrpc: "2.0",
      id: 1,
      method: "initialize",
      params: {
        protocolVersion: "2025-06-18",
        capabilities: {},
        clientInfo: { name: "t", version: "1" },
      },
    }),
  });
  await response.body?.cancel();
  return response.status;
}

/** Results of both suites through one serve. */
export interface ServeRun {
  /** The pinned suite, every scenario (protocol 2025-11-25 and earlier). */
  legacy: Map<string, ScenarioResult>;
  /** The 2026-07-28 suite, the scenarios that revision requires. */
  modern: Map<string, ScenarioResult>;
}

/** Both suites against one endpoint. */
async function runBothSuites(url: string): Promise<ServeRun> {
  return {
    legacy: await runConformanceSuite(url),
    modern: await runConformanceSuite(url, CONFORMANCE_SUITE_2026, [
      "--requirements",
      "2026-07-28",
    ]),
  };
}

/**
 * Runs both suites through `mcp-run serve` (a subprocess) with or without OAuth.
 *
 * @param auth `none` (loopback) or `oauth` (the suite goes through a token-adding proxy).
 * @returns Results by scenario, per suite.
 * @throws {Error} If serve does not start or the sign-in fails.
 */
export async function runConformanceThroughServe(auth: "none" | "oauth"): Promise<ServeRun> {
  const manifest = await conformanceManifest();
  const cache = tempDir("mcp-run-conformance-serve-cache-");
  const port = freePort();
  const args = [manifest, "--port", String(port), "--cache", cache, "--rate-limit", "0"];
  if (auth === "none") {
    const served = await startServe(args);
    try {
      return await runBothSuites(served.url);
    } finally {
      served.child.kill("SIGTERM");
      await served.child.status;
    }
  }
  // serve behind a proxy that adds the token: the proxy's address is the public URL, so the
  // suite's Host and Origin reach serve as the suite sent them.
  let token: string | undefined;
  const proxy = startHeaderProxy(port, () => token && `Authorization: Bearer ${token}`);
  const publicUrl = `http://127.0.0.1:${proxy.port}/mcp`;
  const state = join(tempDir(), "state");
  const set = await cli(["serve", "--set-passphrase", "--state-dir", state], {
    stdin: `${PASSPHRASE}\n`,
  });
  if (set.code !== 0) throw new Error(`--set-passphrase failed: ${set.stderr}`);
  args.push("--auth", "oauth", "--public-url", publicUrl, "--state-dir", state);
  const served = await startServe(args);
  try {
    // The proxy's token is what lets the suite in: refused before the sign-in, served after.
    const before = await initializeStatus(publicUrl);
    token = await signedInToken(publicUrl);
    const after = await initializeStatus(publicUrl);
    if (before !== 401 || after !== 200) {
      throw new Error(
        `initialize through the proxy answered ${before}, then ${after} with a token`,
      );
    }
    return await runBothSuites(publicUrl);
  } finally {
    served.child.kill("SIGTERM");
    await served.child.status;
    await proxy.close();
  }
}

/** The native baseline and both serve runs. */
export interface ServeConformance {
  /** servers/conformance over its own HTTP (it speaks up to 2025-11-25). */
  native: Map<string, ScenarioResult>;
  /** Through `mcp-run serve` without authentication. */
  none: ServeRun;
  /** Through `mcp-run serve --auth oauth` with a signed-in token. */
  oauth: ServeRun;
}

/**
 * Runs the pinned suite natively, and both suites through serve and through serve with OAuth.
 *
 * @returns The results.
 */
export async function compareNativeAndServe(): Promise<ServeConformance> {
  const native = await runNativeConformance();
  const none = await runConformanceThroughServe("none");
  const oauth = await runConformanceThroughServe("oauth");
  return { native, none, oauth };
}

/**
 * The scenarios that pass in `baseline` but fail in `other`.
 *
 * @param baseline The baseline.
 * @param other A run through serve.
 * @returns Their names.
 */
export function regressions(
  baseline: Map<string, ScenarioResult>,
  other: Map<string, ScenarioResult>,
): string[] {
  return [...baseline].filter(([name, r]) => r.failed === 0 && (other.get(name)?.failed ?? 1) > 0)
    .map(([name]) => name);
}

/**
 * Every scenario that passes natively (pinned suite) or through serve (2026-07-28) but fails
 * through serve or serve with OAuth.
 *
 * @param runs The results.
 * @returns Their names.
 */
export function serveRegressions(runs: ServeConformance): string[] {
  return [
    ...new Set([
      ...regressions(runs.native, runs.none.legacy),
      ...regressions(runs.native, runs.oauth.legacy),
      ...regressions(runs.none.modern, runs.oauth.modern),
    ]),
  ];
}

/**
 * Formats the runs as two markdown tables, one per suite.
 *
 * @param runs The results.
 * @returns The tables.
 */
export function serveConformanceTable(runs: ServeConformance): string {
  const cell = (r: ScenarioResult | undefined) =>
    r === undefined
      ? "—"
      : `${r.failed === 0 ? "pass" : "FAIL"} (${r.passed}/${r.passed + r.failed})`;
  const table = (title: string, columns: [string, Map<string, ScenarioResult>][]) => {
    const names = new Set(columns.flatMap(([, results]) => [...results.keys()]));
    return [
      `| ${title} | ${columns.map(([name]) => name).join(" | ")} |`,
      `|---|${columns.map(() => "---|").join("")}`,
      ...[...names].map((name) =>
        `| ${name} | ${columns.map(([, results]) => cell(results.get(name))).join(" | ")} |`
      ),
    ].join("\n");
  };
  return [
    table(CONFORMANCE_SUITE, [
      ["native HTTP", runs.native],
      ["mcp-run serve", runs.none.legacy],
      ["mcp-run serve --auth oauth", runs.oauth.legacy],
    ]),
    table(`${CONFORMANCE_SUITE_2026} (2026-07-28)`, [
      ["mcp-run serve", runs.none.modern],
      ["mcp-run serve --auth oauth", runs.oauth.modern],
    ]),
  ].join("\n\n");
}

if (import.meta.main) {
  const runs = await compareNativeAndServe();
  console.log(serveConformanceTable(runs));
  const failed = serveRegressions(runs);
  if (failed.length > 0) {
    console.error(`Pass without, fail through serve or its OAuth: ${failed.join(", ")}`);
    Deno.exit(1);
  }
}
