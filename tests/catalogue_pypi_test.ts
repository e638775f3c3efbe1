/**
 * End to end: each `pypi:` catalogue entry is pulled with `mcp-run pull` (real PyPI, pinned
 * lock) and run with `mcp-run run <entry>` under exactly its manifest, started by the real MCP
 * SDK client over stdio. Entries that call internet APIs run with the launcher inside a fake
 * internet (see fake_internet.ts), whose CA reaches the container through `SSL_CERT_FILE` and
 * `REQUESTS_CA_BUNDLE`. Each test calls a tool and checks the answer (positive control), then
 * shows what the manifest does not allow refused from inside the running container: a variable
 * set in the launcher but not declared (the canary), a folder not mounted, a host not granted
 * (through the egress proxy: 403 and a refusal line; directly: no route).
 *
 * Pulls are shared by the tests of this file (one cache folder; each pull is verified before a
 * launch). Requires root (network namespaces, a repository owned by another user), openssl,
 * the Docker engine with the stand-ins of tools/docker_setup.sh, and PyPI for the first pull.
 * In CI (CI=true) these tests never skip.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import type { FakeRoute } from "./fake_api.ts";
import { makeTestCertificates, PUBLIC_ADDRESS, type TestCertificates } from "./fake_internet.ts";
import { dockerProblem } from "./_docker.ts";
import { resultText, ROOT, tempDir } from "./_helpers.ts";
import {
  CANARY_NAME,
  CANARY_VALUE,
  probe,
  pullEntry,
  type RunningEntry,
  standInConfig,
  startEntry,
  waitGone,
} from "./_catalogue_container.ts";

const problem = await dockerProblem("catalogue_pypi_test.ts: skipping", { python: true });

/** Pulled code is kept between runs of this file (each pull is verified before a launch). */
const cache = Deno.env.get("MCP_RUN_TEST_CACHE") ?? join(ROOT, ".cache", "catalogue-pypi");
const work = problem ? "" : tempDir("mcp-run-catalogue-pypi-");
const config = problem ? "" : standInConfig(work);
/** A host no manifest grants, faked too: reached only if a refusal fails. */
const UNGRANTED = "ungranted.example.com";
const HOSTS = [
  "docs.example.com",
  "search.nixos.org",
  "html.duckduckgo.com",
  "en.wikipedia.org",
  UNGRANTED,
];
const MARK = "Mark-3b9c";

let certificates: TestCertificates | undefined;
async function internet(routes: FakeRoute[]) {
  certificates ??= await makeTestCertificates(tempDir("mcp-run-ca-"), HOSTS);
  const hosts = Object.fromEntries(HOSTS.map((h) => [h, PUBLIC_ADDRESS]));
  return { hosts, certificates, routes, dir: tempDir("mcp-run-fake-internet-") };
}

/** A folder the manifest never grants, with a canary file. */
function secretFolder(): string {
  const dir = tempDir("mcp-run-not-granted-");
  Deno.writeTextFileSync(join(dir, "secret.txt"), CANARY_VALUE);
  return dir;
}

/**
 * What every running entry must refuse: the canary variable, a folder not mounted, a direct
 * connection, and (for an entry with net grants) an ungranted host through the proxy.
 */
async function assertConfined(running: RunningEntry, egress: boolean): Promise<void> {
  const secret = secretFolder();
  const found = await probe(running, PUBLIC_ADDRESS, `http://${UNGRANTED}/`, [
    secret,
    join(secret, "secret.txt"),
  ]);
  assert.equal(found.canary, null, "the undeclared variable reached the container");
  const containerEnv = await running.containerEnv();
  // Positive control: the configuration is read, and holds what the plan sets.
  assert.ok(containerEnv.includes("HOME=/tmp"), containerEnv.join(" "));
  assert.ok(
    !containerEnv.some((e) => e.startsWith(`${CANARY_NAME}=`)),
    "the undeclared variable is in the container's configuration",
  );
  assert.deepEqual(Object.values(found.paths), [false, false], JSON.stringify(found.paths));
  assert.match(found.direct, /^error: .*(unreachable|Errno 101|Errno 111|refused)/i);
  if (egress) {
    assert.match(found.proxied, /^403 mcp-run egress proxy refused ungranted\.example\.com:80/);
    assert.match(running.stderr(), /mcp-run egress: refused ungranted\.example\.com:80/);
    assert.ok(!running.requests().some((r) => r.host.startsWith(UNGRANTED)));
  } else {
    assert.match(found.proxied, /^error: /);
  }
}

const test = (name: string, fn: () => Promise<void>) =>
  Deno.test({
    name,
    ignore: problem !== undefined,
    sanitizeResources: false,
    sanitizeOps: false,
    fn,
  });

/** Pulls, starts, runs `use`, checks confinement, stops; no container is left. */
async function withEntry(
  entry: string,
  options: { params?: Record<string, string>; routes?: FakeRoute[]; egress: boolean },
  use: (running: RunningEntry) => Promise<void>,
): Promise<void> {
  await pullEntry(entry, { cache, config, params: options.params });
  const running = await startEntry(entry, entry, {
    cache,
    config,
    params: options.params,
    internet: options.routes ? await internet(options.routes) : undefined,
  });
  try {
    await use(running);
    await assertConfined(running, options.egress);
  } catch (error) {
    throw new Error(`${(error as Error).message}\nlauncher stderr:\n${running.stderr()}`, {
      cause: error,
    });
  } finally {
    await running.close();
  }
  assert.deepEqual(await waitGone(entry), [], "containers left running");
}

async function call(running: RunningEntry, name: string, args: Record<string, unknown>) {
  const result = await running.client.callTool({ name, arguments: args });
  return { text: resultText(result), isError: result.isError === true };
}

test("mcp-server-time answers in a container with no network, variable or folder", async () => {
  await withEntry("mcp-server-time", { egress: false }, async (running) => {
    const { text, isError } = await call(running, "get_current_time", {
      timezone: "Asia/Tokyo",
    });
    assert.equal(isError, false, text);
    const answer = JSON.parse(text);
    assert.equal(answer.timezone, "Asia/Tokyo");
    assert.match(answer.datetime, /\+09:00$/);
  });
});

test("mcp-server-fetch fetches a granted host through the proxy, and no other", async () => {
  const routes: FakeRoute[] = [
    { path: "/robots.txt", text: "User-agent: *\nAllow: /\n" },
    {
      path: "/page",
      text: `<html><head><title>Docs</title></head><body><h1>Docs ${MARK}</h1>` +
        "<p>The granted page.</p></body></html>",
      contentType: "text/html",
    },
  ];
  const params = { hosts: "docs.example.com" };
  await withEntry("mcp-server-fetch", { params, routes, egress: true }, async (running) => {
    const ok = await call(running, "fetch", { url: "https://docs.example.com/page" });
    assert.equal(ok.isError, false, ok.text);
    assert.match(ok.text, new RegExp(`Docs ${MARK}`));
    const paths = running.requests().map((r) => `${r.method} ${r.host} ${r.path}`);
    assert.ok(paths.includes("GET docs.example.com /page"), paths.join("\n"));

    // The server asked for a host the manifest does not grant: the proxy refuses it.
    const refused = await call(running, "fetch", { url: `https://${UNGRANTED}/page` });
    assert.doesNotMatch(refused.text, new RegExp(MARK));
    assert.match(running.stderr(), /mcp-run egress: refused ungranted\.example\.com:443/);
    assert.ok(!running.requests().some((r) => r.host.startsWith(UNGRANTED)));
  });
});

test("mcp-nixos searches packages on search.nixos.org through the proxy only", async () => {
  const alias = "latest-50-nixos-unstable";
  const routes: FakeRoute[] = [
    { path: "/backend/_cat/aliases", json: [{ alias }] },
    { path: `/backend/${alias}/_count`, method: "POST", json: { count: 1 } },
    {
      path: `/backend/${alias}/_search`,
      method: "POST",
      json: {
        hits: {
          hits: [{
            _source: {
              package_pname: "ripgrep",
              package_attr_name: "ripgrep",
              package_pversion: "14.1.1",
              package_description: `Fast grep ${MARK}`,
            },
          }],
        },
      },
    },
  ];
  await withEntry("mcp-nixos", { routes, egress: true }, async (running) => {
    const { text, isError } = await call(running, "nix", {
      action: "search",
      source: "nixos",
      type: "packages",
      query: "ripgrep",
    });
    assert.equal(isError, false, text);
    assert.match(text, /ripgrep/);
    assert.match(text, new RegExp(MARK));
    assert.ok(running.requests().some((r) => r.host.startsWith("search.nixos.org")));
  });
});

test("duckduckgo searches html.duckduckgo.com through the proxy only", async () => {
  const target = encodeURIComponent("https://deno.com/");
  const routes: FakeRoute[] = [{
    path: "/html",
    method: "POST",
    contentType: "text/html",
    text: '<html><body><div class="result"><h2 class="result__title">' +
      `<a class="result__a" href="//duckduckgo.com/l/?uddg=${target}&amp;rut=x">Deno ${MARK}</a>` +
      '</h2><a class="result__snippet">A modern runtime</a></div></body></html>',
  }];
  await withEntry("duckduckgo", { routes, egress: true }, async (running) => {
    const { text, isError } = await call(running, "search", { query: "deno" });
    assert.equal(isError, false, text);
    assert.match(text, new RegExp(`Deno ${MARK}`));
    assert.match(text, /https:\/\/deno\.com\//);
  });
});

test("wikipedia searches en.wikipedia.org through the proxy only", async () => {
  const routes: FakeRoute[] = [{
    path: "/w/api.php",
    json: {
      query: {
        search: [{
          title: `Deno ${MARK}`,
          snippet: "A <span>runtime</span>",
          pageid: 1,
          wordcount: 100,
          timestamp: "2025-01-01T00:00:00Z",
        }],
      },
    },
  }];
  await withEntry("wikipedia", { routes, egress: true }, async (running) => {
    const { text, isError } = await call(running, "search_wikipedia", { query: "deno" });
    assert.equal(isError, false, text);
    assert.match(text, new RegExp(`Deno ${MARK}`));
    const api = running.requests().filter((r) => r.path === "/w/api.php");
    assert.ok(api.length > 0 && api.every((r) => r.host.startsWith("en.wikipedia.org")));
  });
});

/** A repository with one commit, owned by an unprivileged user (the container runs as it). */
async function makeRepository(dir: string, message: string): Promise<void> {
  Deno.mkdirSync(dir);
  const git = async (...args: string[]) => {
    const out = await new Deno.Command("git", { args, cwd: dir, stdout: "null", stderr: "piped" })
      .output();
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  };
  await git("init", "-q", "-b", "main");
  Deno.writeTextFileSync(join(dir, "README.md"), "hello\n");
  await git("add", "README.md");
  await git("-c", "user.name=T", "-c", "user.email=t@example.com", "commit", "-q", "-m", message);
  Deno.writeTextFileSync(join(dir, "new.txt"), "untracked\n");
  await new Deno.Command("chown", { args: ["-R", "1993:1993", dir] }).output();
}

test("mcp-server-git reads its repository and cannot reach the one beside it", async () => {
  const base = tempDir("mcp-run-git-");
  Deno.chmodSync(base, 0o755);
  const repo = join(base, "repo");
  const other = join(base, "other");
  await makeRepository(repo, `First ${MARK}`);
  await makeRepository(other, `Secret ${CANARY_VALUE}`);
  const params = { repository: repo };
  try {
    await withEntry("mcp-server-git", { params, egress: false }, async (running) => {
      const status = await call(running, "git_status", { repo_path: repo });
      assert.equal(status.isError, false, status.text);
      assert.match(status.text, /new\.txt/);
      const log = await call(running, "git_log", { repo_path: repo });
      assert.equal(log.isError, false, log.text);
      assert.match(log.text, new RegExp(`First ${MARK}`));

      // The repository beside it is not mounted: the server cannot read it.
      const beside = await call(running, "git_log", { repo_path: other });
      assert.doesNotMatch(beside.text, new RegExp(CANARY_VALUE));
      // The container runs as the repository's owner, not as root.
      assert.equal(
        (await running.exec(["python3", "-c", "import os; print(os.getuid())"])).stdout.trim(),
        "1993",
      );
      const found = await probe(running, PUBLIC_ADDRESS, "http://x/", [repo, other]);
      assert.deepEqual(found.paths, { [repo]: true, [other]: false });
    });
  } finally {
    await Deno.remove(base, { recursive: true }).catch(() => {});
  }
});

globalThis.addEventListener("unload", () => {
  if (work) Deno.removeSync(work, { recursive: true });
});
