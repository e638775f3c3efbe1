import assert from "node:assert/strict";
import { isGranted, netCheckTarget, parseCheckLine } from "./permission_check.ts";
import { serverFixture } from "../policy/_server_fixture.ts";

Deno.test("parseCheckLine() reads Deno's audit lines and broker questions", () => {
  assert.deepEqual(
    parseCheckLine(
      '{"v":1,"datetime":"2026-11-30T05:29:42Z","permission":"read","value":"/etc/x"}',
    ),
    { permission: "read", value: "/etc/x" },
  );
  assert.deepEqual(
    parseCheckLine('{"v":1,"pid":7,"id":4,"datetime":"x","permission":"run","value":null}'),
    { permission: "run", value: null },
  );
});

Deno.test("parseCheckLine() refuses what Deno does not write", () => {
  for (
    const line of [
      "",
      "not json",
      "[]",
      "null",
      '{"permission":"teleport","value":"x"}',
      '{"permission":"read","value":7}',
      '{"value":"/etc/x"}',
      `{"permission":"read","value":"${"a".repeat(20_000)}"}`,
    ]
  ) {
    assert.equal(parseCheckLine(line), undefined, line.slice(0, 60));
  }
});

Deno.test("netCheckTarget() reads URLs, host:port and bracketed IPv6", () => {
  assert.deepEqual(netCheckTarget("http://a.example/x"), { host: "a.example", port: 80 });
  assert.deepEqual(netCheckTarget("A.example:8443"), { host: "a.example", port: 8443 });
  assert.deepEqual(netCheckTarget("[::1]:5432"), { host: "[::1]", port: 5432 });
  assert.deepEqual(netCheckTarget("a.example"), { host: "a.example", port: undefined });
});

Deno.test("isGranted() decides as the server's --allow flags do", () => {
  const server = serverFixture({
    read: ["/data"],
    write: ["/data/out"],
    net: ["api.example.com:443", "*.cdn.example"],
    denyNet: ["10.0.0.1"],
    env: ["FOO_TOKEN", "APP_*"],
    sys: ["homedir"],
  });
  const yes = [
    ["read", "/data/a/b"],
    ["write", "/data/out/x"],
    ["net", "api.example.com:443"],
    ["net", "https://api.example.com/v1"],
    ["net", "img.cdn.example:443"],
    ["env", "FOO_TOKEN"],
    ["env", "APP_MODE"],
    ["sys", "homedir"],
  ];
  const no = [
    ["read", "/database"],
    ["write", "/data/in"],
    ["net", "api.example.com:80"],
    ["net", "10.0.0.1:80"],
    ["env", "FOO"],
    ["sys", "hostname"],
    ["run", "ls"],
    ["ffi", "/lib/x.so"],
    ["read", null],
  ];
  for (const [permission, value] of yes) assert.ok(isGranted(server, { permission, value }));
  for (const [permission, value] of no) {
    assert.equal(
      isGranted(server, { permission: permission!, value }),
      false,
      `${permission} ${value}`,
    );
  }
});

Deno.test("isGranted() resolves a relative path against the working folder given, else refuses it", () => {
  const server = serverFixture({ read: ["/srv/data"], write: ["/srv/out"] });
  const read = { permission: "read", value: "granted.txt" };
  assert.equal(isGranted(server, read), false);
  assert.equal(isGranted(server, read, { cwd: "/srv/data" }), true);
  assert.equal(isGranted(server, read, { cwd: "/srv" }), false);
  assert.equal(
    isGranted(server, { permission: "write", value: "../out/x" }, { cwd: "/srv/data" }),
    true,
  );
  assert.equal(
    isGranted(server, { permission: "read", value: "../../etc/passwd" }, { cwd: "/srv/data" }),
    false,
  );
  assert.equal(isGranted(server, { permission: "read", value: "/srv/data/x" }, { cwd: "/" }), true);
});
