import assert from "node:assert/strict";
import {
  isContainerOnly,
  normalizePypiName,
  packageKind,
  packageProblem,
  parseOciPackage,
  parsePypiPackage,
} from "./package_kind.ts";

const DIGEST = `sha256:${"ab".repeat(32)}`;

Deno.test("packageKind() tells each kind by its scheme, anything else being local", () => {
  const cases: [string, string][] = [
    ["npm:x@1.0.0", "npm"],
    ["jsr:@s/x@1.0.0", "jsr"],
    ["pypi:x@1.0", "pypi"],
    [`oci:x@${DIGEST}`, "oci"],
    ["./server.ts", "local"],
    ["/abs/pypi:x.ts", "local"],
  ];
  for (const [specifier, kind] of cases) assert.equal(packageKind(specifier), kind, specifier);
  assert.equal(isContainerOnly("pypi:x@1.0"), true);
  assert.equal(isContainerOnly(`oci:x@${DIGEST}`), true);
  assert.equal(isContainerOnly("npm:x@1.0.0"), false);
  assert.equal(isContainerOnly("./pypi.ts"), false);
});

Deno.test("parsePypiPackage() returns name, extras, exact version and script", () => {
  assert.deepEqual(parsePypiPackage("pypi:mcp-server-time@2026.10.19"), {
    name: "mcp-server-time",
    extras: [],
    version: "2026.10.19",
  });
  assert.deepEqual(parsePypiPackage("pypi:Some_Pkg[a,b-c]@1.0rc1.post2.dev3/run-it"), {
    name: "Some_Pkg",
    extras: ["a", "b-c"],
    version: "1.0rc1.post2.dev3",
    script: "run-it",
  });
});

Deno.test("parsePypiPackage() refuses ranges, operators and hostile text, saying how to write it", () => {
  const hostile = [
    "pypi:x@>=1.0",
    "pypi:x@==1.0",
    "pypi:x@~=1.0",
    "pypi:x@1.*",
    "pypi:x@1.0,<2",
    "pypi:x",
    "pypi:x@",
    "pypi:x@latest",
    "pypi:-x@1.0",
    "pypi:x[@1.0",
    "pypi:x[]@1.0",
    "pypi:x@1.0/../../bin/sh",
    "pypi:x@1.0/a b",
    "pypi:x@1.0 ; os_name=='nt'",
    "pypi:x @ https://evil.example/x.whl",
    "pypi:x@1.0+local",
    "pypi:x@1.0\n",
    "npm:x@1.0.0",
  ];
  for (const specifier of hostile) {
    assert.throws(() => parsePypiPackage(specifier), (error: Error) => {
      assert.ok(error instanceof SyntaxError, specifier);
      return /pypi:name@1\.2\.3|is not pypi:/.test(error.message);
    }, specifier);
  }
  assert.match(packageProblem("pypi:x@>=1.0")!, /no ranges, ==, \*/);
});

Deno.test("parseOciPackage() requires a digest and refuses tags, saying how to fix it", () => {
  assert.deepEqual(parseOciPackage(`oci:ghcr.io/acme/srv@${DIGEST}`), {
    name: "ghcr.io/acme/srv",
    digest: DIGEST,
    reference: `ghcr.io/acme/srv@${DIGEST}`,
  });
  assert.equal(parseOciPackage(`oci:localhost:5000/srv@${DIGEST}`).name, "localhost:5000/srv");
  const hostile: [string, RegExp][] = [
    ["oci:acme/srv:latest", /the tag "latest".*oci:acme\/srv@sha256:<64 hex digits>/],
    ["oci:acme/srv:1.0", /the tag "1.0"/],
    [`oci:acme/srv:1.0@${DIGEST}`, /the tag "1.0"/],
    ["oci:acme/srv", /has no digest/],
    ["oci:acme/srv@sha256:ABC", /not an image pinned by digest/],
    [`oci:acme/srv@sha512:${"a".repeat(64)}`, /not an image pinned by digest/],
    [`oci:--privileged@${DIGEST}`, /not an image pinned by digest/],
    [`oci:Acme/srv@${DIGEST}`, /not an image pinned by digest/],
    [`oci:acme/srv@${DIGEST} --rm`, /not an image pinned by digest/],
  ];
  for (const [specifier, pattern] of hostile) {
    assert.throws(() => parseOciPackage(specifier), SyntaxError, specifier);
    assert.match(packageProblem(specifier)!, pattern, specifier);
  }
});

Deno.test("normalizePypiName() makes names of one project equal", () => {
  assert.equal(normalizePypiName("MCP_Server.Time"), normalizePypiName("mcp-server--time"));
});
