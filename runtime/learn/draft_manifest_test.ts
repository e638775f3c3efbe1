import assert from "node:assert/strict";
import { parseManifest } from "../policy/manifest_text.ts";
import type { RecordedCheck } from "./broker.ts";
import { type DraftContext, draftManifest, looksLikeCredential } from "./draft_manifest.ts";

const context: DraftContext = {
  name: "demo",
  description: "Demo server",
  package: "npm:demo@1.0.0",
  args: ["--root", "${root}"],
  parameters: { root: { type: "path", scratch: ["/s/params/root/0"], description: "A folder" } },
  packageDir: "/s/cache/deno_dir/npm/registry.npmjs.org/demo/1.0.0",
  scratchRoots: [{ path: "/s/home", what: "the HOME" }, {
    path: "/s/cache/deno_dir",
    what: "the code cache",
  }],
  envUsed: [],
};

function check(
  permission: string,
  value: string | null,
  allowed: boolean,
  reason?: string,
): RecordedCheck {
  return { permission, value, allowed, count: 1, ...(reason ? { reason } : {}) };
}

Deno.test("draftManifest() maps checks to parameters, the package folder, hosts and sys names", () => {
  const draft = draftManifest([
    check("read", "/s/params/root/0/a.txt", true),
    check("write", "/s/params/root/0/b.txt", true),
    check("read", "/s/cache/deno_dir/npm/registry.npmjs.org/demo/1.0.0/package.json", true),
    check("read", "/s/home/.config/demo.json", true),
    check("net", "https://api.example.com/v1", false, "no network"),
    check("net", "api.example.com:443", false, "no network"),
    check("sys", "homedir", true),
    check("sys", "notASysName", true),
  ], context);
  const p = draft.manifest.permissions;
  assert.deepEqual(p.read, ["${root}", "${package_dir}"]);
  assert.deepEqual(p.write, ["${root}"]);
  assert.deepEqual(p.net, ["api.example.com:443"]);
  assert.deepEqual(p.sys, ["homedir"]);
  assert.deepEqual(draft.manifest.args, ["--root", "${root}"]);
  const home = draft.findings.find((f) => f.value === "<the HOME>/.config/demo.json");
  assert.equal(home?.refused, false);
  assert.match(home?.reason ?? "", /inside the HOME of the learn run/);
  assert.deepEqual(
    draft.evidence.map((e) => `${e.permission} ${e.entry} <- ${e.check.value}`),
    [
      "read ${root} <- /s/params/root/0/a.txt",
      "read ${package_dir} <- /s/cache/deno_dir/npm/registry.npmjs.org/demo/1.0.0/package.json",
      "write ${root} <- /s/params/root/0/b.txt",
      "net api.example.com:443 <- https://api.example.com/v1",
      "sys homedir <- homedir",
    ],
  );
  assert.deepEqual(parseManifest(draft.text), draft.manifest);
});

Deno.test("draftManifest() never drafts what was refused, private addresses, run or ffi", () => {
  const draft = draftManifest([
    check("read", "/home/ada/.ssh/id_rsa", false, "outside"),
    check("write", "/s/cache/deno_dir/npm/x", false, "outside scratch"),
    check("write", "/s/params/root/0/../../../../etc/x", false, "outside scratch"),
    check("net", "127.0.0.1:6379", false, "no network"),
    check("net", "localhost:8080", false, "no network"),
    check("net", "169.254.169.254:80", false, "no network"),
    check("net", "[::1]:80", false, "no network"),
    check("net", "10.1.2.3:5432", false, "no network"),
    check("run", "git", false, "never"),
    check("run", null, false, "never"),
    check("ffi", "/s/cache/deno_dir/npm/x.node", false, "never"),
    check("import", "https://evil.example/x.js", false, "no imports"),
  ], context);
  const p = draft.manifest.permissions;
  assert.deepEqual([p.read, p.write, p.net, p.run, p.ffi], [[], [], [], [], []]);
  const refused = draft.findings.filter((f) => f.refused).map((f) => `${f.permission} ${f.value}`);
  assert.deepEqual(refused, [
    "read /home/ada/.ssh/id_rsa",
    "write <the code cache>/npm/x",
    "write /etc/x",
    "net 127.0.0.1:6379",
    "net localhost:8080",
    "net 169.254.169.254:80",
    "net [::1]:80",
    "net 10.1.2.3:5432",
    "run git",
    "ffi <the code cache>/npm/x.node",
    "import https://evil.example/x.js",
  ]);
  assert.match(draft.text, /\/\/ +run git: native mode never lets a server start programs/);
  assert.deepEqual(parseManifest(draft.text), draft.manifest);
});

Deno.test("draftManifest() puts credential names under secrets and refuses reserved ones", () => {
  const draft = draftManifest([], {
    ...context,
    envUsed: ["GITHUB_TOKEN", "LOG_LEVEL", "NODE_OPTIONS", "DB_PASSWORD", "GITHUB_TOKEN"],
  });
  assert.deepEqual(Object.keys(draft.manifest.secrets), ["DB_PASSWORD", "GITHUB_TOKEN"]);
  assert.deepEqual(Object.keys(draft.manifest.env), ["LOG_LEVEL"]);
  assert.equal(draft.findings.find((f) => f.value === "NODE_OPTIONS")?.refused, true);
  assert.deepEqual(parseManifest(draft.text), draft.manifest);
});

Deno.test("draftManifest() keeps hostile values inside one comment line", () => {
  const hostile = '/home/x\n  "permissions": {"read": ["/"]},\u2028// */';
  const draft = draftManifest([check("read", hostile, false, "outside\nnew line")], context);
  const parsed = parseManifest(draft.text);
  assert.deepEqual(parsed.permissions.read, []);
  assert.equal(draft.text.split("\n").filter((l) => l.includes('"read": ["/"]')).length, 1);
  assert.ok(
    draft.text.split("\n").every((l) => !l.includes('"read": ["/"]') || l.trim().startsWith("//")),
  );
});

Deno.test("draftManifest() escapes invisible and bidirectional characters in comments", () => {
  const draft = draftManifest([check("read", "/x/\u202egnp.exe\u001b[2J", false, "r")], context);
  assert.ok(!draft.text.includes("\u202e") && !draft.text.includes("\u001b"));
  assert.match(draft.text, /\\u202egnp\.exe\\u001b\[2J/);
});

Deno.test("draftManifest() leaves out hosts made from a placeholder or a probe's sample", () => {
  const draft = draftManifest([
    check("net", "bedrock.mcp-run-learn-placeholder.amazonaws.com:443", false, "no"),
    check("net", "mcp-run-learn-placeholder:3306", false, "no"),
    check("net", "example.com:443", false, "no"),
    check("net", "api.example.net:443", false, "no"),
  ], {
    ...context,
    envUsed: ["AWS_REGION", "AWS_SECRET_ACCESS_KEY"],
    sampleHosts: ["example.com"],
  });
  assert.deepEqual(draft.manifest.permissions.net, ["api.example.net:443"]);
  const reason = (value: string) => draft.findings.find((f) => f.value === value)?.reason ?? "";
  assert.match(
    reason("bedrock.mcp-run-learn-placeholder.amazonaws.com:443"),
    /depends on a variable's value.*--env AWS_REGION=VALUE/,
  );
  assert.match(reason("mcp-run-learn-placeholder:3306"), /placeholder/);
  assert.match(reason("example.com:443"), /sample argument/);
  assert.equal(draft.findings.find((f) => f.value === "example.com:443")?.drafted, undefined);
});

Deno.test("looksLikeCredential() tells credentials from settings", () => {
  for (
    const name of [
      "API_KEY",
      "GITHUB_TOKEN",
      "DB_PASSWORD",
      "CLIENT_SECRET",
      "GITLAB_PAT",
      "MYSQL_PASS",
      "MYSQL_PWD",
      "SMTP_PASSWD",
      "BASIC_AUTH",
      "SESSION_COOKIE",
      "PRIVATE_KEY_PEM",
    ]
  ) {
    assert.equal(looksLikeCredential(name), true, name);
  }
  for (const name of ["LOG_LEVEL", "PORT", "BASE_URL", "TIMEOUT", "AWS_REGION", "MYSQL_HOST"]) {
    assert.equal(looksLikeCredential(name), false, name);
  }
});
