/**
 * Security proof, docker and gvisor modes: an environment pattern (`HTTP_*`, `SSL_*`, `http_*`) never
 * carries the launcher's proxy settings (credentials included) or TLS trust settings into the
 * container, while the ordinary names it matches do arrive (SECURITY.md invariant 5). Real
 * docker, the local stand-in image (tools/docker_setup.sh), the probe fixture.
 *
 * In CI (CI=true) this test never skips: docker missing there fails the run.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { dockerVolumeName } from "../runtime/sandbox/docker_names.ts";
import { runDocker } from "../runtime/sandbox/docker_engine.ts";
import { cli, ROOT, tempDir } from "./_helpers.ts";
import { CLI_DOCKER, dockerProblem, IMAGE } from "./_docker.ts";
import { CLI_GVISOR, gvisorProblem } from "./_gvisor.ts";
import { removeOnExit } from "./_security.ts";

const PROBE = `${ROOT}/tests/testdata/docker_probe/probe.ts`;

const problems = {
  docker: await dockerProblem("security_env_docker_test.ts: skipping docker"),
  gvisor: await gvisorProblem("security_env_docker_test.ts: skipping gvisor"),
};

const PROXY_SECRET = "canary-proxy-password-5c2e";
const canaries: Record<string, string> = {
  HTTP_PROXY: `http://user:${PROXY_SECRET}@127.0.0.1:9`,
  HTTPS_PROXY: `http://user:${PROXY_SECRET}@127.0.0.1:9`,
  http_proxy: `http://user:${PROXY_SECRET}@127.0.0.1:9`,
  SSL_CERT_FILE: "/canary/launcher-ca.pem",
  SSL_CERT_DIR: "/canary/launcher-certs",
};
const controls: Record<string, string> = { HTTP_TIMEOUT: "30", SSL_MODE: "on", http_retries: "3" };

for (const isolation of ["docker", "gvisor"] as const) {
  Deno.test({
    name:
      `mcp-run call --isolation ${isolation} passes a pattern's ordinary names, never the launcher's proxy or TLS settings`,
    ignore: problems[isolation] !== undefined,
    fn: () => checkEnv(isolation === "docker" ? CLI_DOCKER : CLI_GVISOR),
  });
}

/** Pulls and calls the probe with the CLI's isolation options, under canaries and controls. */
async function checkEnv(isolation: string[]): Promise<void> {
  const dir = removeOnExit(tempDir("mcp-run-env-docker-"));
  const cache = join(dir, "cache");
  const manifest = join(dir, "env-probe.jsonc");
  await Deno.writeTextFile(
    manifest,
    JSON.stringify({
      name: "env-probe",
      description: "Reports the names in its environment",
      package: PROBE,
      permissions: { env: ["HTTP_*", "HTTPS_*", "SSL_*", "http_*"] },
    }),
  );
  const env = { HOME: Deno.env.get("HOME") ?? "/root" };
  const args = [manifest, ...isolation, "--cache", cache];
  try {
    const pulled = await cli(["pull", ...args], { env });
    assert.equal(pulled.code, 0, pulled.stderr);
    const r = await cli(["call", manifest, "probe", "{}", ...args.slice(1)], {
      env: { ...env, ...canaries, ...controls },
    });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(!r.stdout.includes(PROXY_SECRET), r.stdout);
    const names = (JSON.parse(r.stdout).envNames as string).split(",");
    for (const name of Object.keys(canaries)) assert.ok(!names.includes(name), names.join(","));
    // Positive control: the ordinary names the same patterns match reach the container.
    for (const name of Object.keys(controls)) assert.ok(names.includes(name), names.join(","));
  } finally {
    const specifier = PROBE;
    await runDocker([
      "volume",
      "rm",
      "-f",
      dockerVolumeName({ name: "env-probe", specifier }, { image: IMAGE }),
    ]);
  }
}
