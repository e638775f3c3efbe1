import assert from "node:assert/strict";
import {
  chooseConsoleScript,
  consoleScripts,
  entryScript,
  lockFromReport,
  parseLock,
} from "./python_lock.ts";

const HASH = "ab".repeat(32);
const pkg = { name: "mcp-server-time", extras: [], version: "2026.10.19" };

function entry(name: string, version: string, file: string, extra: Record<string, unknown> = {}) {
  return {
    metadata: { name, version },
    download_info: {
      url: `https://files.pythonhosted.org/packages/x/${file}`,
      archive_info: { hashes: { sha256: HASH } },
    },
    is_direct: false,
    ...extra,
  };
}

Deno.test("lockFromReport() locks every distribution with its sha256, sorted", () => {
  const { text, dists } = lockFromReport({
    install: [
      entry("mcp-server-time", "2026.10.19", "mcp_server_time-2026.10.19-py3-none-any.whl"),
      entry("PyJWT", "2.15.1", "pyjwt-2.15.1-py3-none-any.whl"),
      entry("anyio", "4.16.0", "anyio-4.16.0-py3-none-any.whl"),
    ],
  }, pkg);
  assert.equal(dists.length, 3);
  assert.equal(
    text,
    `anyio==4.16.0 --hash=sha256:${HASH}\nmcp-server-time==2026.10.19 --hash=sha256:${HASH}\n` +
      `PyJWT==2.15.1 --hash=sha256:${HASH}\n`,
  );
});

Deno.test("lockFromReport() refuses source distributions unless allowBuild", () => {
  const report = {
    install: [
      entry("mcp-server-time", "2026.10.19", "mcp_server_time-2026.10.19-py3-none-any.whl"),
      entry("termcolor", "1.1.0", "termcolor-1.1.0.tar.gz"),
    ],
  };
  assert.throws(() => lockFromReport(report, pkg), /termcolor==1.1.0 has no wheel.*--allow-build/);
  const { dists } = lockFromReport(report, pkg, { allowBuild: true });
  assert.equal(dists.find((d) => d.name === "termcolor")?.sdist, true);
});

Deno.test("lockFromReport() refuses hostile or incomplete reports", () => {
  const ok = entry("mcp-server-time", "2026.10.19", "m-2026.10.19-py3-none-any.whl");
  const cases: [unknown, RegExp][] = [
    [{}, /no install list/],
    [{ install: [{ ...ok, download_info: { url: ok.download_info.url } }] }, /no sha256/],
    [
      { install: [entry("mcp-server-time", "2026.10.19", "m.whl", { is_direct: true })] },
      /package index/,
    ],
    [{ install: [entry("x --index-url http://evil", "1.0", "x.whl"), ok] }, /not a project name/],
    [{ install: [entry("x", "1.0 --hash=sha256:00", "x.whl"), ok] }, /not a version/],
    [{ install: [entry("x\n--extra-index-url=http://evil", "1.0", "x.whl"), ok] }, /not a project/],
    [{
      install: [{
        ...ok,
        download_info: { ...ok.download_info, archive_info: { hashes: { sha256: "zz" } } },
      }],
    }, /no sha256/],
    [{ install: [entry("other", "1.0", "o.whl")] }, /without the package itself/],
    [{ install: [entry("mcp-server-time", "2026.10.20", "m.whl")] }, /without the package itself/],
  ];
  for (const [report, pattern] of cases) {
    assert.throws(() => lockFromReport(report, pkg), pattern, JSON.stringify(report));
  }
});

Deno.test("consoleScripts() reads only plain console_scripts targets", () => {
  const text = [
    "[console_scripts]",
    "mcp-server-time = mcp_server_time:main",
    "with-extra = pkg.cli:run [cli]",
    "evil = os:system('id')",
    "evil2 = __import__('os').system",
    "nested = pkg:App.main",
    "[gui_scripts]",
    "gui = pkg:gui",
  ].join("\n");
  assert.deepEqual(consoleScripts(text), {
    "mcp-server-time": "mcp_server_time:main",
    "with-extra": "pkg.cli:run",
    nested: "pkg:App.main",
  });
});

Deno.test("chooseConsoleScript() takes the named, the like-named, or the only script", () => {
  const two = { "mcp-server-time": "a:b", helper: "c:d" };
  assert.equal(chooseConsoleScript(two, pkg), "mcp-server-time");
  assert.equal(chooseConsoleScript(two, { ...pkg, script: "helper" }), "helper");
  assert.equal(chooseConsoleScript({ run: "a:b" }, pkg), "run");
  assert.throws(
    () => chooseConsoleScript({ a: "a:b", b: "c:d" }, pkg),
    /which console script.*\(it has: a, b\).*pypi:mcp-server-time@2026.10.19\/a/,
  );
  assert.throws(
    () => chooseConsoleScript(two, { ...pkg, script: "nope" }),
    /no console script "nope"/,
  );
  assert.throws(() => chooseConsoleScript({}, pkg), /installs no console script/);
});

Deno.test("entryScript() writes only validated names into Python code", () => {
  const text = entryScript("t", "pkg.cli:App.main", "/mcp-run-code/lib");
  assert.match(text, /sys\.path\.insert\(0, "\/mcp-run-code\/lib"\)/);
  assert.match(text, /import_module\("pkg\.cli"\)/);
  assert.match(text, /"App\.main"\.split/);
  for (
    const [script, target, lib] of [
      ["t", "os:system('id')", "/l"],
      ['t"); import os; ("', "a:b", "/l"],
      ["t", "a:b", '/l"); import os; ("'],
    ]
  ) {
    assert.throws(() => entryScript(script, target, lib), TypeError);
  }
});

Deno.test("parseLock() reads back only what lockFromReport() writes", () => {
  const { text } = lockFromReport({
    install: [entry("mcp-server-time", "2026.10.19", "m-2026.10.19-py3-none-any.whl")],
  }, pkg);
  assert.deepEqual(parseLock(text), [{
    name: "mcp-server-time",
    version: "2026.10.19",
    sha256: HASH,
  }]);
  for (
    const hostile of [
      "",
      "x>=1.0\n",
      `x==1.0 --hash=sha256:${HASH} --index-url=http://evil\n`,
      `-e git+https://evil/x#egg=x\n`,
      `--extra-index-url http://evil\nx==1.0 --hash=sha256:${HASH}\n`,
    ]
  ) {
    assert.equal(parseLock(hostile), undefined, hostile);
  }
});
