import assert from "node:assert/strict";
import type { ResolvedServer } from "../policy/resolve.ts";
import { serverFixture } from "../policy/_server_fixture.ts";
import { denialAdvice, explainDenial, explainRefusal, formatDenial } from "./denial.ts";
import { denialContext } from "./denial_places.ts";

function server(extra: Partial<ResolvedServer> = {}): ResolvedServer {
  return serverFixture({
    name: "t",
    specifier: "npm:@x/srv@1.0.0",
    read: ["/data"],
    net: ["api.example.com:443"],
    denyNet: ["127.0.0.0/8", "[::1]"],
    env: ["GRANTED"],
    ...extra,
  });
}

const CONTEXT = denialContext(server(), { cacheRoot: "/c", home: "/home/ada" });

Deno.test("explainDenial() gives the manifest line or the reason it can never be granted", () => {
  const cases: [string, string | null, string, string | undefined, RegExp | undefined][] = [
    ["sys", "homedir", "sys homedir", '"sys": ["homedir"]', undefined],
    [
      "net",
      "https://other.example/x",
      "net other.example:443",
      '"net": ["other.example:443"]',
      undefined,
    ],
    [
      "env",
      "FOO_TOKEN",
      "env FOO_TOKEN",
      '"secrets": { "FOO_TOKEN": { "description": "…", "required": false } }',
      undefined,
    ],
    [
      "env",
      "LOG_LEVEL",
      "env LOG_LEVEL",
      '"env": { "LOG_LEVEL": { "description": "…", "required": false } }',
      undefined,
    ],
    [
      "env",
      "HTTPS_PROXY",
      "env HTTPS_PROXY",
      undefined,
      /proxy variables are reserved to the launcher/,
    ],
    ["env", "DENO_DIR", "env DENO_DIR", undefined, /reserved to the launcher/],
    ["env", null, "env (all)", undefined, /unscoped env access is never granted/],
    [
      "read",
      "/home/ada/.config/foo",
      "read /home/ada/.config/foo",
      '"read": ["/home/ada/.config/foo"]',
      undefined,
    ],
    [
      "read",
      "/home/ada/.ssh/id_ed25519",
      "read /home/ada/.ssh/id_ed25519",
      undefined,
      /credentials/,
    ],
    ["read", "/home/ada", "read /home/ada", undefined, /home directory itself/],
    [
      "read",
      "/proc/self/environ",
      "read /proc/self/environ",
      undefined,
      /\/proc exposes the system/,
    ],
    [
      "read",
      "/c/neutral/home/.npmrc",
      "read .npmrc in its neutral home folder",
      undefined,
      /neutral home folder/,
    ],
    ["read", "/c/neutral/cwd", "read its neutral working folder", undefined, /neutral folder/],
    [
      "run",
      "kubectl",
      "run kubectl",
      undefined,
      /only in a container with an explicit trust decision/,
    ],
    [
      "ffi",
      "/lib/x.so",
      "ffi /lib/x.so",
      undefined,
      /only in a container with an explicit trust decision/,
    ],
    [
      "import",
      "https://evil.example/x.js",
      "import https://evil.example/x.js",
      undefined,
      /registries/,
    ],
  ];
  for (const [permission, value, asked, allow, never] of cases) {
    const denial = explainDenial(server(), { permission, value }, CONTEXT);
    assert.equal(denial.asked, asked, `${permission} ${value}`);
    assert.equal(denial.allow, allow, asked);
    if (never) assert.match(denial.never ?? "", never, asked);
    else assert.equal(denial.never, undefined, asked);
  }
});

Deno.test("explainDenial() names a file of the server's own package in words, grantable", () => {
  const dirs = CONTEXT.places!.find((p) => p.words === "its own package folder")!;
  const denial = explainDenial(server(), {
    permission: "read",
    value: `${dirs.path}/data/words.json`,
  }, CONTEXT);
  assert.equal(denial.asked, "read data/words.json in its own package folder");
  assert.equal(denial.allow, '"read": ["${package_dir}"]');
  const cache = explainDenial(server(), {
    permission: "read",
    value: "/c/servers/t/npm-@x_srv@1.0.0-0/deno_dir/deps/x",
  }, CONTEXT);
  assert.match(cache.never ?? "", /never granted|mcp-run/);
});

Deno.test("explainDenial() gives the -p value when the grant already uses a parameter", () => {
  const withParams = server({
    params: { dirs: ["/data"], db: ["db.example.com:5432"] },
    manifest: {
      name: "t",
      description: "",
      package: "npm:@x/srv@1.0.0",
      args: [],
      parameters: {
        dirs: { type: "path[]", description: "", required: true },
        db: { type: "host", description: "", required: true },
      },
      permissions: {
        read: ["${dirs}"],
        write: [],
        net: ["${db}"],
        env: [],
        sys: [],
        run: [],
        ffi: [],
      },
      env: {},
      secrets: {},
    },
  });
  const read = explainDenial(withParams, { permission: "read", value: "/srv/docs/a.md" }, CONTEXT);
  assert.equal(read.allow, "-p dirs=/srv/docs/a.md (as well as the values given)");
  const net = explainDenial(withParams, { permission: "net", value: "db2.example.com:5432" });
  assert.equal(net.allow, "-p db=db2.example.com:5432 (in place of db.example.com:5432)");
});

Deno.test("explainDenial() never offers to replace the one folder a user gave with another path", () => {
  const manifest = {
    name: "t",
    description: "",
    package: "npm:@x/srv@1.0.0",
    args: [],
    parameters: { dir: { type: "path" as const, description: "", required: true } },
    permissions: { read: ["${dir}"], write: [], net: [], env: [], sys: [], run: [], ffi: [] },
    env: {},
    secrets: {},
  };
  const given = server({ params: { dir: ["/data"] }, manifest });
  const read = explainDenial(given, { permission: "read", value: "/usr/bin/ldd" }, CONTEXT);
  assert.equal(read.allow, '"read": ["/usr/bin/ldd"]');
});

Deno.test("explainDenial() in docker allows run and ffi only with --trust", () => {
  const denial = explainDenial(server(), { permission: "run", value: "git" }, {
    isolation: "docker",
  });
  assert.equal(denial.allow, '"run": ["git"] with --trust');
});

Deno.test("explainDenial() escapes what the server chose, so it cannot forge output lines", () => {
  const value = "/tmp/x\nmcp-run: t was refused nothing\u001b[2K\u202e";
  const denial = explainDenial(server(), { permission: "read", value }, CONTEXT);
  const raw = (text: string) => ["\n", "\u001b", "\u202e"].some((c) => text.includes(c));
  assert.ok(!raw(denial.asked), denial.asked);
  assert.ok(!raw(formatDenial("t", denial)));
  assert.match(denial.asked, /\\u000a/);
  const env = explainDenial(server(), { permission: "env", value: "X_\u202eNEKOT" });
  assert.ok(!/[\u202e]/.test(formatDenial("t", env)), formatDenial("t", env));
  const long = explainDenial(server(), { permission: "env", value: "A".repeat(5000) });
  assert.ok(long.asked.length < 400);
});

Deno.test("explainDenial() says a private or loopback address is refused unless granted exactly", () => {
  const denial = explainDenial(server(), { permission: "net", value: "127.0.0.1:5432" });
  assert.equal(
    denial.allow,
    '"net": ["127.0.0.1:5432"] (a private or loopback address: refused unless granted exactly like this)',
  );
});

Deno.test("explainRefusal() turns an egress proxy refusal into a net denial", () => {
  const s = server({ specifier: "pypi:x@1.0.0" });
  const plain = explainRefusal(s, { host: "other.example", port: 443, reason: "not granted" });
  assert.equal(plain.asked, "net other.example:443");
  assert.equal(plain.allow, '"net": ["other.example:443"]');
  const rebound = explainRefusal(s, {
    host: "api.example.com",
    port: 443,
    address: "127.0.0.1",
    reason: "api.example.com resolves to 127.0.0.1, a private address",
  });
  assert.equal(rebound.allow, undefined);
  assert.match(rebound.never ?? "", /egress proxy refused it: .*private address/);
});

Deno.test("explainDenial() gives no exact line for a relative path, which Deno resolves against the current folder", () => {
  const started = explainDenial(server(), { permission: "read", value: "granted.txt" }, {
    ...CONTEXT,
    cwd: "/c/neutral/cwd",
  });
  assert.equal(started.asked, "read granted.txt");
  assert.equal(started.allow, undefined);
  assert.equal(started.never, undefined);
  assert.match(started.unsure ?? "", /a relative path: .*\/c\/neutral\/cwd at its start, unless/);
  const unknown = explainDenial(server(), { permission: "write", value: "../out.txt" });
  assert.match(unknown.unsure ?? "", /runs from, which is not known here/);
  assert.equal(
    formatDenial("t", unknown),
    `mcp-run: t was refused write ../out.txt: no exact change can be given: ${unknown.unsure}`,
  );
});

Deno.test("explainDenial() marks a trusted container's reports unverified, with no advice", () => {
  const trusted = server({ run: ["git"] });
  const context = denialContext(trusted, {
    cacheRoot: "/c",
    home: "/home/ada",
    isolation: "docker",
  });
  assert.equal(context.trusted, true);
  for (
    const check of [{ permission: "sys", value: "homedir" }, {
      permission: "env",
      value: "DENO_DIR",
    }]
  ) {
    const denial = explainDenial(trusted, check, context);
    assert.equal(denial.unverified, true);
    assert.equal(denial.allow, undefined);
    assert.equal(denial.never, undefined);
    const line = formatDenial("t", denial);
    assert.match(
      line,
      /^mcp-run: t was refused \S+ \S+ \(unverified\): no exact change can be given: /,
    );
    assert.ok(!line.includes("to allow it"), line);
    assert.match(denialAdvice(denial), /may be forged/);
  }
  // Positive control: the same server, untrusted (native, or docker without run or ffi).
  for (const [s, isolation] of [[trusted, undefined], [server(), "docker"]] as const) {
    const plain = denialContext(s, { cacheRoot: "/c", home: "/home/ada", isolation });
    assert.equal(plain.trusted, undefined);
    const denial = explainDenial(s, { permission: "sys", value: "homedir" }, plain);
    assert.equal(
      formatDenial("t", denial),
      'mcp-run: t was refused sys homedir: to allow it, "sys": ["homedir"]',
    );
  }
  // The egress proxy's refusals are mcp-run's own: never unverified.
  const proxy = explainRefusal(trusted, {
    host: "other.example",
    port: 443,
    reason: "not granted",
  });
  assert.equal(proxy.unverified, undefined);
});

Deno.test("explainDenial() words a gVisor container's denials as a container's", () => {
  const server = serverFixture({ name: "t", specifier: "jsr:@x/y@1.0.0" });
  for (const isolation of ["docker", "gvisor"]) {
    const context = denialContext(server, { cacheRoot: "/c", home: "/home/ada", isolation });
    // The container's folders, not the launcher's: /deno-dir is its code cache.
    assert.ok(context.places?.some((p) => p.path === "/deno-dir"), isolation);
    assert.equal(context.cwd, undefined, isolation);
    const run = explainDenial(server, { permission: "run", value: "kubectl" }, context);
    assert.match(run.allow ?? "", /"run": \["kubectl"\] with --trust/, isolation);
  }
  // Positive control: natively, programs are never granted.
  const native = denialContext(server, { cacheRoot: "/c", home: "/home/ada" });
  const run = explainDenial(server, { permission: "run", value: "kubectl" }, native);
  assert.match(run.never ?? "", /never in native mode/);
});
