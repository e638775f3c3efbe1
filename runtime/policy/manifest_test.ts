import assert from "node:assert/strict";
import { isReservedEnvName, ManifestError } from "./manifest.ts";
import { parseManifest } from "./manifest_text.ts";

const base = {
  name: "demo",
  description: "A demo",
  package: "npm:@scope/demo@1.2.3",
};

function problems(value: unknown): { path: string; message: string }[] {
  try {
    parseManifest(typeof value === "string" ? value : JSON.stringify(value), { file: "m.jsonc" });
  } catch (error) {
    assert.ok(error instanceof ManifestError, String(error));
    return error.problems;
  }
  return [];
}

Deno.test("parseManifest() accepts JSONC with comments and trailing commas, filling defaults", () => {
  const m = parseManifest(`{
    // a comment
    "name": "demo", "description": "A demo", "package": "npm:demo@1.0.0",
    "args": ["\${dirs}"],
    "parameters": { "dirs": { "type": "path[]", "description": "d", "required": true }, },
    "permissions": { "read": ["\${dirs}"] },
  }`);
  assert.equal(m.name, "demo");
  assert.deepEqual(m.permissions, {
    read: ["${dirs}"],
    write: [],
    net: [],
    env: [],
    sys: [],
    run: [],
    ffi: [],
  });
  assert.deepEqual(m.secrets, {});
  assert.equal(m.parameters.dirs.required, true);
});

Deno.test("parseManifest() reports every problem with its JSON path, line and column", () => {
  const text = `{
  "name": "Bad Name",
  "description": 5,
  "package": "npm:demo@^1.0.0",
  "colour": "red",
  "permissions": { "net": ["*"], "env": ["NODE_OPTIONS"], "sys": ["everything"] }
}`;
  const found = problems(text);
  const paths = found.map((p) => p.path).sort();
  assert.deepEqual(paths, [
    "colour",
    "description",
    "name",
    "package",
    "permissions.env[0]",
    "permissions.net[0]",
    "permissions.sys[0]",
  ]);
  const byPath = Object.fromEntries(found.map((p) => [p.path, p]));
  assert.match(byPath.package.message, /no ranges or tags/);
  assert.match(byPath.colour.message, /unknown field "colour"/);
  assert.equal((byPath.name as { line?: number }).line, 2);
});

Deno.test("parseManifest() error message names the file and the fix", () => {
  assert.throws(
    () => parseManifest(`{"name": "x"}`, { file: "x.jsonc" }),
    (error: Error) =>
      error instanceof ManifestError && /Invalid "x.jsonc": 2 problems/.test(error.message) &&
      /description: is required/.test(error.message),
  );
});

Deno.test("parseManifest() reports JSONC syntax errors with line and column", () => {
  const found = problems(`{\n  "name": "x",\n  "description" "y"\n}`);
  assert.equal(found.length > 0, true);
  assert.match(found[0].message, /not valid JSONC: a colon is expected \(ColonExpected\)/);
  assert.equal((found[0] as { line?: number }).line, 3);
});

Deno.test("parseManifest() says an empty file is empty", () => {
  for (const text of ["", "  \n", "\uFEFF"]) {
    const found = problems(text);
    assert.equal(found.length, 1);
    assert.match(found[0].message, /the file is empty: a manifest is a JSON object/);
  }
});

const hostile: [string, unknown, RegExp][] = [
  ["version range", { ...base, package: "npm:demo@~1.2.0" }, /exact npm package/],
  ["dist tag", { ...base, package: "npm:demo@latest" }, /exact npm package/],
  ["no version", { ...base, package: "npm:demo" }, /exact npm package/],
  ["jsr range", { ...base, package: "jsr:@s/demo@^1.0.0" }, /exact JSR package/],
  ["remote url", { ...base, package: "https://evil.example/x.ts" }, /unsupported scheme/],
  ["data url", { ...base, package: "data:text/javascript,1" }, /unsupported scheme/],
  ["bare local", { ...base, package: "server.ts" }, /not a local module/],
  ["pypi range", { ...base, package: "pypi:demo@>=1.0" }, /not an exact version/],
  ["pypi ==", { ...base, package: "pypi:demo@==1.0" }, /not an exact version/],
  ["pypi star", { ...base, package: "pypi:demo@1.*" }, /not an exact version/],
  ["pypi no version", { ...base, package: "pypi:demo" }, /names no version/],
  ["oci tag", { ...base, package: "oci:acme/server:latest" }, /tag "latest".*no tag/],
  ["oci tag and digest", {
    ...base,
    package: `oci:acme/server:1.0@sha256:${"a".repeat(64)}`,
  }, /tag "1.0"/],
  ["oci short digest", { ...base, package: "oci:acme/server@sha256:abc" }, /pinned by digest/],
  ["net all", { ...base, permissions: { net: ["all"] } }, /would grant everything/],
  ["net empty", { ...base, permissions: { net: [""] } }, /would grant everything/],
  ["comma list", { ...base, permissions: { read: ["/a,/b"] } }, /contains a comma/],
  ["relative read", { ...base, permissions: { read: ["data"] } }, /absolute path/],
  ["reserved env", { ...base, permissions: { env: ["LD_PRELOAD"] } }, /reserved/],
  ["proxy env", { ...base, permissions: { env: ["HTTPS_PROXY"] } }, /reserved/],
  ["deno env pattern", { ...base, permissions: { env: ["DENO_*"] } }, /reserved/],
  ["secret PATH", { ...base, secrets: { PATH: { description: "p" } } }, /reserved/],
  ["env from param", {
    ...base,
    parameters: { n: { type: "string", description: "n" } },
    permissions: { env: ["${n}"] },
  }, /cannot come from parameters/],
  ["unknown placeholder", { ...base, args: ["${nope}"] }, /names no parameter/],
  ["list param inside text", {
    ...base,
    parameters: { d: { type: "path[]", description: "d" } },
    args: ["--dir=${d}"],
  }, /must stand alone/],
  ["string param in read", {
    ...base,
    parameters: { s: { type: "string", description: "s" } },
    permissions: { read: ["${s}"] },
  }, /only use path parameters/],
  ["path param in net", {
    ...base,
    parameters: { p: { type: "path", description: "p" } },
    permissions: { net: ["${p}"] },
  }, /only use host parameters/],
  ["bad parameter type", {
    ...base,
    parameters: { p: { type: "url", description: "p" } },
  }, /unknown type "url"/],
  ["unknown permission", { ...base, permissions: { all: ["x"] } }, /unknown field "all"/],
  ["sys unknown", { ...base, permissions: { sys: ["exec"] } }, /not a Deno sys API/],
  ["value on secret", {
    ...base,
    secrets: { TOKEN: { description: "t", value: "x" } },
  }, /unknown field "value"/],
  ["not an object", ["a"], /must be an object/],
];

for (const [label, manifest, pattern] of hostile) {
  Deno.test(`parseManifest() refuses a hostile manifest: ${label}`, () => {
    const found = problems(manifest);
    assert.ok(found.length > 0, `expected a problem for ${label}`);
    assert.ok(
      found.some((p) => pattern.test(p.message)),
      `${label}: ${JSON.stringify(found)}`,
    );
  });
}

Deno.test("parseManifest() accepts every package form", () => {
  for (
    const pkg of [
      "npm:demo@1.0.0",
      "npm:@scope/demo@2026.8.31",
      "npm:@scope/demo@1.0.0-beta.1/bin-name",
      "jsr:@sandboxed/time@0.1.0",
      "./server.ts",
      "../x/server.js",
      "/abs/server.ts",
      "pypi:mcp-server-time@2026.10.19",
      "pypi:markitdown-mcp[all,cli]@0.0.1a4/markitdown-mcp",
      `oci:ghcr.io/acme/server@sha256:${"0".repeat(64)}`,
      `oci:localhost:5000/server@sha256:${"0".repeat(64)}`,
    ]
  ) {
    assert.equal(parseManifest(JSON.stringify({ ...base, package: pkg })).package, pkg);
  }
});

Deno.test("isReservedEnvName() covers launcher-controlled names and patterns", () => {
  for (const n of ["DENO_DIR", "node_options", "NPM_CONFIG_REGISTRY", "LD_PRELOAD", "http_proxy"]) {
    assert.equal(isReservedEnvName(n), true, n);
  }
  for (const n of ["PATH", "HOME", "JSR_URL", "DENO_*", "NODE_*", "LD_*"]) {
    assert.equal(isReservedEnvName(n), true, n);
  }
  for (const n of ["GITHUB_TOKEN", "MY_APP_*", "DENOISE"]) {
    assert.equal(isReservedEnvName(n), false, n);
  }
});

Deno.test("isReservedEnvName() reserves proxy and TLS trust names in any letter case", () => {
  const reserved = [
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
    "no_proxy",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "ssl_cert_file",
    "SSLKEYLOGFILE",
    "NODE_EXTRA_CA_CERTS",
    "DENO_CERT",
    "DENO_TLS_CA_STORE",
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
    "TMPDIR",
    "DYLD_INSERT_LIBRARIES",
    "npm_config_registry",
  ];
  for (const n of reserved) assert.equal(isReservedEnvName(n), true, n);
});

Deno.test("isReservedEnvName() reserves a pattern that can only match reserved names", () => {
  // Each of these matches nothing but reserved names: a manifest error.
  for (
    const n of ["DENO_*", "deno_*", "NODE_*", "NODE_EXTRA_*", "NPM_CONFIG_*", "LD_*", "DYLD_*"]
  ) {
    assert.equal(isReservedEnvName(n), true, n);
  }
  // These also match ordinary names (HTTP_TIMEOUT, SSL_MODE, CONFIG_FILE): allowed, and the
  // reserved names among their matches are left out when the environment is built.
  for (const n of ["HTTP_*", "HTTPS_*", "ALL_*", "SSL_*", "http_*", "CONFIG_*", "NODEJS_*"]) {
    assert.equal(isReservedEnvName(n), false, n);
  }
});

Deno.test("isReservedEnvName() reserves a pattern that matches a name the launcher sets for Deno", () => {
  // JSR_URL, NPM_CONFIG_REGISTRY and NO_COLOR are in every server's environment, where Deno's
  // --allow-env=PREFIX_* would let the server read them.
  for (const n of ["JSR_*", "NPM_*", "npm_*", "NO_*", "DENO_NO_*"]) {
    assert.equal(isReservedEnvName(n), true, n);
  }
  for (const n of ["JSRX_*", "NPMRC_*", "NOTION_*"]) assert.equal(isReservedEnvName(n), false, n);
});

Deno.test("parseManifest() refuses a pattern that can only match reserved names", () => {
  for (const pattern of ["DENO_*", "NPM_CONFIG_*", "LD_*", "node_*", "JSR_*", "NPM_*"]) {
    const found = problems({ ...base, permissions: { env: [pattern] } });
    assert.equal(found.length, 1, pattern);
    assert.equal(found[0].path, "permissions.env[0]");
    assert.match(found[0].message, /reserved for the launcher/);
  }
  // Positive control: a pattern that also matches ordinary names passes check.
  const m = parseManifest(JSON.stringify({ ...base, permissions: { env: ["HTTP_*", "SSL_*"] } }));
  assert.deepEqual(m.permissions.env, ["HTTP_*", "SSL_*"]);
});

Deno.test("parseManifest() accepts a UTF-8 byte order mark", () => {
  const text = "\uFEFF" + JSON.stringify(base, null, 2);
  assert.equal(parseManifest(text, { file: "bom.jsonc" }).name, "demo");
  // Line and column still count from the first character after the mark.
  const found = problems('\uFEFF{\n  "name": "Bad Name"\n}');
  const name = found.find((p) => p.path === "name") as { line?: number; column?: number };
  assert.deepEqual([name.line, name.column], [2, 11]);
});

Deno.test("parseManifest() reports duplicate keys with line and column", () => {
  const text = `{
  "name": "demo",
  "description": "A demo",
  "package": "npm:@scope/demo@1.2.3",
  "permissions": { "net": ["a.example"], "net": ["b.example"] },
  "name": "other"
}`;
  assert.throws(
    () => parseManifest(text, { file: "dup.jsonc" }),
    (error: Error) => {
      assert.ok(error instanceof ManifestError);
      const dups = error.problems.filter((p) => /duplicate/.test(p.message));
      assert.deepEqual(
        dups.map((p) => [p.path, p.line, p.column]),
        [["permissions.net", 5, 42], ["name", 6, 3]],
      );
      assert.match(dups[1].message, /"name" is also at line 2, column 3/);
      assert.match(error.message, /dup\.jsonc:6:3 name: /);
      return true;
    },
  );
  // Positive control: the same keys in different objects are no duplicates.
  parseManifest(JSON.stringify({
    ...base,
    parameters: {
      a: { type: "string", description: "a" },
      b: { type: "string", description: "b" },
    },
  }));
});

Deno.test("parseManifest() bounds nesting depth and names the file", () => {
  for (
    const deep of [
      "[".repeat(5000) + "]".repeat(5000),
      '{"a":'.repeat(5000) + "1" + "}".repeat(5000),
    ]
  ) {
    assert.throws(
      () => parseManifest(deep, { file: "deep.jsonc" }),
      (error: Error) =>
        error instanceof ManifestError && error.problems.length === 1 &&
        /^Invalid "deep\.jsonc"/.test(error.message) &&
        /deep\.jsonc:1:\d+ \(file\): nested more than \d+ levels deep/.test(error.message),
    );
  }
  // Brackets inside strings and comments do not count.
  const text = `// [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[
{ "name": "demo", "description": "${"[".repeat(100)}", "package": "npm:demo@1.0.0" }`;
  assert.equal(parseManifest(text).name, "demo");
});

Deno.test("parseManifest() takes a pinned image for a pypi: package only", () => {
  const digest = "d".repeat(64);
  const base = `"name": "g", "description": "G"`;
  const m = parseManifest(
    `{${base}, "package": "pypi:mcp-server-git@2026.10.19", "image": "python:3.12-bookworm@sha256:${digest}"}`,
  );
  assert.equal(m.image, `python:3.12-bookworm@sha256:${digest}`);
  assert.throws(
    () => parseManifest(`{${base}, "package": "pypi:x@1.0", "image": "python:3.12-bookworm"}`),
    /image: "python:3\.12-bookworm" is not an image pinned by digest/,
  );
  assert.throws(
    () => parseManifest(`{${base}, "package": "npm:x@1.0.0", "image": "py@sha256:${digest}"}`),
    /only a pypi: package chooses its image/,
  );
});

Deno.test("parseManifest() reads the memory caps a server asks for, within bounds", () => {
  const base = `"name": "big", "description": "d", "package": "npm:big@1.0.0"`;
  assert.deepEqual(parseManifest(`{ ${base}, "limits": { "heapMb": 2048 } }`).limits, {
    heapMb: 2048,
  });
  assert.equal(parseManifest(`{ ${base} }`).limits, undefined);
  assert.throws(
    () => parseManifest(`{ ${base}, "limits": { "memoryMb": 99999999 } }`),
    (error: Error) =>
      error instanceof ManifestError &&
      /limits: limits\.memoryMb must be a whole number of MiB from 128 to 131072/.test(
        error.message,
      ),
  );
});
