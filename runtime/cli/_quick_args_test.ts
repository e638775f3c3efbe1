import assert from "node:assert/strict";
import { parseArgs } from "node:util";
import { quickParseArgs } from "./_quick_args.ts";
import { OPTIONS } from "./options.ts";

/** node:util's answer, as plain data, or the error it threw. */
function node(args: string[]): unknown {
  try {
    const parsed = parseArgs({ args, allowPositionals: true, tokens: true, options: OPTIONS });
    return JSON.parse(JSON.stringify(parsed));
  } catch (error) {
    return error;
  }
}

Deno.test("quickParseArgs() answers the command lines MCP clients start as parseArgs does", () => {
  const lines = [
    ["run", "filesystem", "-p", "dirs=/tmp", "--cache", "/c", "--offline"],
    ["run", "github", "--registry", "a", "--registry=b", "-p", "x=1", "-p", "y=", "--yes"],
    ["serve", "time", "--port", "0", "--allowed-host", "h", "--format=json", "-h"],
    ["run", "x", "--isolation", "docker", "--image", "i:1", "--memory=512m", "--trust"],
    ["--cache=/c", "run", "x", "-p", "=a"],
    [],
  ];
  for (const args of lines) {
    const quick = quickParseArgs(args, OPTIONS);
    assert.notEqual(quick, undefined, args.join(" "));
    assert.deepEqual(JSON.parse(JSON.stringify(quick)), node(args), args.join(" "));
  }
});

Deno.test("quickParseArgs() leaves to parseArgs every line it might read otherwise", () => {
  const unsure = [
    ["run", "--nope"],
    ["run", "-z"],
    ["run", "-ph"],
    ["run", "--offline=yes"],
    ["run", "--cache"],
    ["run", "--cache", "--offline"],
    ["run", "-p", "-x"],
    ["run", "-"],
    ["run", "-5"],
    ["--=x"],
    ["---cache", "x"],
    ["--no-offline"],
    ["--__proto__", "x"],
  ];
  for (const args of unsure) assert.equal(quickParseArgs(args, OPTIONS), undefined, args.join(" "));
});

Deno.test("quickParseArgs() answers only what parseArgs answers, on generated command lines", () => {
  const words = [
    "run",
    "x",
    "-p",
    "a=1",
    "-p=b",
    "-h",
    "-z",
    "-",
    "--cache",
    "/c",
    "--cache=",
    "--offline",
    "--offline=",
    "--format",
    "json",
    "--registry",
    "--registry=r",
    "--nope",
    "--",
    "-ph",
    "=",
    "--yes",
    "--port",
    "-1",
    "--trust-proxy",
    "10.0.0.1",
  ];
  let seed = 11;
  const random = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  let answered = 0;
  for (let round = 0; round < 5000; round++) {
    const args = Array.from({ length: random(7) }, () => words[random(words.length)])
      .filter((w) => w !== "--"); // the CLI parses only what comes before --
    const quick = quickParseArgs(args, OPTIONS);
    if (quick === undefined) continue;
    answered++;
    assert.deepEqual(JSON.parse(JSON.stringify(quick)), node(args), args.join(" "));
  }
  assert.ok(answered > 500 && answered < 5000, `answered ${answered}`);
});
