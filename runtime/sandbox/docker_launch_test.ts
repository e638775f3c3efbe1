import assert from "node:assert/strict";
import { dockerLaunchPlan } from "./docker_launch.ts";
import { GrantError } from "../policy/grant_error.ts";
import type { ResolvedServer } from "../policy/resolve.ts";

function server(overrides: Partial<ResolvedServer> = {}): ResolvedServer {
  return {
    name: "gh",
    specifier: "npm:@example/gh@1.0.0",
    args: [],
    read: [],
    write: [],
    net: ["api.github.com"],
    denyNet: ["127.0.0.0/8"],
    env: ["GITHUB_TOKEN", "GH_*", "API_URL"],
    secrets: ["GITHUB_TOKEN"],
    requiredEnv: ["GITHUB_TOKEN"],
    envValues: { API_URL: "https://api.github.com" },
    sys: [],
    run: [],
    ffi: [],
    params: {},
    ...overrides,
  };
}

const SOURCE = {
  PATH: "/usr/bin",
  HOME: "/home/ada",
  DOCKER_HOST: "unix:///run/user/1000/docker.sock",
  GITHUB_TOKEN: "ghp_secret_value",
  GH_ORG: "acme",
  AWS_SECRET_ACCESS_KEY: "never-passed",
  DENO_CERT: "/nonexistent/ca.pem",
};

Deno.test("dockerLaunchPlan() passes declared variables by name and their values only to docker", () => {
  const plan = dockerLaunchPlan(server(), {
    cacheRoot: "/c",
    source: SOURCE,
    nameSuffix: "t1",
    user: "1000:1000",
  });
  assert.equal(plan.program, "docker");
  assert.equal(plan.container, "mcp-run-gh-t1");
  assert.ok(plan.args.includes("GITHUB_TOKEN") && plan.args.includes("GH_ORG"));
  assert.ok(plan.args.includes("API_URL=https://api.github.com"));
  assert.ok(!plan.args.some((a) => a.includes("ghp_secret_value") || a.includes("acme")));
  assert.deepEqual(plan.env, {
    PATH: "/usr/bin",
    HOME: "/home/ada",
    DOCKER_HOST: "unix:///run/user/1000/docker.sock",
    GH_ORG: "acme",
    GITHUB_TOKEN: "ghp_secret_value",
  });
  assert.ok(!JSON.stringify(plan).includes("never-passed"));
  // A CA file that does not exist is neither mounted nor named.
  assert.ok(!plan.args.some((a) => a.includes("DENO_CERT")));
  assert.equal(plan.args[plan.args.indexOf("--network") + 1], "bridge");
  assert.equal(plan.args[plan.args.indexOf("--user") + 1], "1000:1000");
  assert.ok(plan.args.includes("--lock=/deno-dir/deno.lock"));
});

Deno.test("dockerLaunchPlan() refuses to plan without a required secret", () => {
  assert.throws(
    () => dockerLaunchPlan(server(), { cacheRoot: "/c", source: { PATH: "/usr/bin" } }),
    /needs secret GITHUB_TOKEN/,
  );
});

Deno.test("dockerLaunchPlan() mounts a DENO_CERT file read-only for servers with network", () => {
  const dir = Deno.makeTempDirSync();
  const ca = `${Deno.realPathSync(dir)}/ca.pem`;
  Deno.writeTextFileSync(ca, "-----BEGIN CERTIFICATE-----");
  try {
    const withNet = dockerLaunchPlan(server(), {
      cacheRoot: "/c",
      source: { ...SOURCE, DENO_CERT: ca },
      nameSuffix: "t2",
    });
    assert.ok(withNet.args.includes(`type=bind,src=${ca},dst=${ca},readonly`));
    assert.ok(withNet.args.includes(`DENO_CERT=${ca}`));
    const noNet = dockerLaunchPlan(server({ net: [] }), {
      cacheRoot: "/c",
      source: { ...SOURCE, DENO_CERT: ca },
    });
    assert.ok(!noNet.args.some((a) => a.includes(ca)));
    assert.equal(noNet.args[noNet.args.indexOf("--network") + 1], "none");
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("dockerLaunchPlan() refuses a grant whose path a --mount value cannot carry", () => {
  const options = { cacheRoot: "/c", source: SOURCE, nameSuffix: "s1" };
  assert.throws(
    () => dockerLaunchPlan(server({ read: ["/data/a,b"] }), options),
    (e: unknown) =>
      e instanceof GrantError &&
      /^Cannot grant read access to "\/data\/a,b" in docker/.test(e.message),
  );
  assert.throws(
    () =>
      dockerLaunchPlan(server({ specifier: "/srv/a,b/main.ts", localDir: "/srv/a,b" }), options),
    (e: unknown) => e instanceof GrantError && e.field === "package",
  );
  // Positive control: the same server with a plain path is planned.
  const plan = dockerLaunchPlan(server({ read: ["/data/ab"] }), options);
  assert.ok(plan.args.includes("type=bind,src=/data/ab,dst=/data/ab,readonly"));
});

Deno.test("dockerLaunchPlan() takes its memory caps from the user, the manifest and --memory", () => {
  const at = (args: string[], flag: string) => args[args.indexOf(flag) + 1];
  const base = { cacheRoot: "/c", source: SOURCE, nameSuffix: "s", user: "1000:1000" };
  const plain = dockerLaunchPlan(server(), base).args;
  assert.equal(at(plain, "--memory"), "1024m");
  assert.ok(plain.includes("--v8-flags=--max-old-space-size=512"));
  const user = dockerLaunchPlan(server(), { ...base, limits: { heapMb: 200, memoryMb: 400 } });
  assert.equal(at(user.args, "--memory"), "400m");
  assert.ok(user.args.includes("--v8-flags=--max-old-space-size=200"));
  const asked = server({
    manifest: { limits: { memoryMb: 4096 } } as ResolvedServer["manifest"],
  });
  const raised = dockerLaunchPlan(asked, { ...base, limits: { memoryMb: 400 } }).args;
  assert.equal(at(raised, "--memory"), "4096m");
  const given = dockerLaunchPlan(asked, { ...base, memory: "300m" }).args;
  assert.equal(at(given, "--memory"), "300m");
});

Deno.test("dockerLaunchPlan() mounts an existing .git read-only whole and denies the rest", async () => {
  const root = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${root}/.git/hooks`, { recursive: true });
    await Deno.writeTextFile(`${root}/.git/config`, "");
    const plan = dockerLaunchPlan(server({ write: [root], read: [root] }), {
      cacheRoot: "/c",
      source: SOURCE,
      nameSuffix: "s",
      user: "1000:1000",
    });
    const mounts = plan.args.filter((_, i) => plan.args[i - 1] === "--mount");
    // A mount over .git/hooks would move with a renamed .git; one over .git cannot be renamed.
    assert.ok(mounts.includes(`type=bind,src=${root}/.git,dst=${root}/.git,readonly`));
    assert.ok(!mounts.some((m) => m.includes(".git/hooks")));
    const deny = plan.args.find((a) => a.startsWith("--deny-write="))!.split("=")[1].split(",");
    assert.ok(deny.includes(`${root}/.git`) && !deny.includes(`${root}/.git/hooks`));
    assert.ok(deny.includes(`${root}/.github`) && deny.includes(`${root}/.vscode`));
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
