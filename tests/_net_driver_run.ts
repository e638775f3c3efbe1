/**
 * The test side of the container network tests' drivers (tests/_container_net_driver.ts,
 * tests/gvisor_e2e_driver.ts): runs a driver, with its config, inside the fake internet of
 * tests/fake_internet.ts under the names and routes of tests/_container_net_plan.ts (plain HTTP
 * on port 80 too), and removes the containers a driver left behind, however it ended.
 *
 * Requires root (the namespace) and docker.
 *
 * @module
 */
import { join } from "node:path";
import { removeContainer } from "../runtime/sandbox/docker_engine.ts";
import { HOSTS, ROUTES } from "./_container_net_plan.ts";
import { ROOT, toolEnv } from "./_helpers.ts";
import { type FakeInternetRun, runInFakeInternet, type TestCertificates } from "./fake_internet.ts";
import { waitGone } from "./_catalogue_container.ts";

/** Where and how long {@linkcode runDriver} runs a driver. */
export interface RunDriverOptions {
  /** The test's folder: the driver's config is written there as `driver.json`. */
  dir: string;
  /** The fake internet's certificates, for the names of `HOSTS`. */
  certificates: TestCertificates;
  /** Milliseconds before the driver and the namespace are killed. */
  timeoutMs: number;
  /**
   * The server whose containers are removed once the driver ended, however it ended (a driver
   * that timed out leaves its container running); default: none are.
   */
  server?: string;
}

/** What a driver did: its run, and the containers of the server it left behind. */
export interface DriverRun extends FakeInternetRun {
  /** The ids of the server's containers still there once it ended (now removed). */
  left: string[];
}

/**
 * Writes the driver's config and runs the driver (`deno run -A` with the repository's
 * deno.json) in the fake internet, with the tools' environment, `HOME` and `NO_COLOR`; then
 * removes the containers of `options.server` it left behind.
 *
 * @param driver The driver's file name in tests/.
 * @param config The driver's config (JSON).
 * @param options The folder, the certificates, the time limit and the server.
 * @returns What the driver printed and did, the fake API's request log, and the containers
 *   left behind.
 * @throws {Error} If the driver cannot be started.
 * @example
 * ```ts ignore
 * const run = await runDriver("_container_net_driver.ts", config, {
 *   dir,
 *   certificates: await makeTestCertificates(dir, Object.keys(HOSTS)),
 *   timeoutMs: 150_000,
 * });
 * ```
 */
export async function runDriver(
  driver: string,
  config: unknown,
  options: RunDriverOptions,
): Promise<DriverRun> {
  const configFile = join(options.dir, "driver.json");
  await Deno.writeTextFile(configFile, JSON.stringify(config));
  let run;
  let left: string[] = [];
  try {
    run = await runInFakeInternet([
      Deno.execPath(),
      "run",
      "-A",
      "--config",
      join(ROOT, "deno.json"),
      join(ROOT, "tests", driver),
      configFile,
    ], {
      dir: options.dir,
      hosts: HOSTS,
      certificates: options.certificates,
      routes: ROUTES,
      httpPort: 80,
      env: { ...toolEnv(), HOME: Deno.env.get("HOME") ?? "/root", NO_COLOR: "1" },
      timeoutMs: options.timeoutMs,
    });
  } finally {
    if (options.server !== undefined) left = await removeLeftBehind(options.server);
  }
  return { ...run, left };
}

/**
 * The containers of a server still there, removed; the engine removes a stopped `--rm`
 * container shortly after it stops: a little wait first.
 */
async function removeLeftBehind(name: string): Promise<string[]> {
  const ids = await waitGone(name);
  for (const id of ids) await removeContainer(id);
  return ids;
}
