import assert from "node:assert/strict";
import { HELP, SHARED_OPTIONS, USAGE } from "./help.ts";
import { OPTIONS, parseCommandLine, strayOption } from "./options.ts";
import { main } from "../cli.ts";

type OptionName = keyof typeof OPTIONS;
const NAMES = Object.keys(OPTIONS) as OptionName[];

/** The commands the usage text lists, in its order. */
const LISTED = [...USAGE.matchAll(/^ {2}mcp-run ([a-z]+)/gm)].map((m) => m[1]);

/** Whether `command` takes `--name` (asked of the same check the CLI runs). */
async function accepts(command: string, name: OptionName): Promise<boolean> {
  const args = OPTIONS[name].type === "boolean" ? [`--${name}`] : [`--${name}`, "x"];
  return strayOption(command, (await parseCommandLine(args)).tokens) === undefined;
}

Deno.test("HELP has a text for exactly the commands USAGE lists", () => {
  assert.ok(LISTED.length >= 18, `only ${LISTED.length} commands found in USAGE`);
  assert.deepEqual([...LISTED].sort(), Object.keys(HELP).sort());
  for (const command of LISTED) {
    assert.ok(HELP[command].startsWith(`mcp-run ${command}`), command);
  }
});

Deno.test("main() dispatches every listed command and prints its help for --help", async () => {
  const home = await Deno.makeTempDir();
  try {
    for (const command of LISTED) {
      const out: string[] = [];
      assert.equal(await main([command, "--help"], { print: (t) => out.push(t) }), 0, command);
      assert.deepEqual(out, [`${HELP[command]}\n\n${SHARED_OPTIONS}`]);
      // With a bad argument count (or none) every command reaches its own code, never
      // "unknown command".
      const errors: string[] = [];
      await main([command, "a", "b", "c", "d"], {
        print: () => {},
        printError: (t) => errors.push(t),
        env: { HOME: home, MCP_RUN_CACHE: `${home}/cache`, PATH: "/usr/bin:/bin" },
      });
      assert.ok(!errors.join("\n").includes("unknown command"), `${command}: ${errors}`);
    }
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("main() prints the usage for an unknown command, with --help or without", async () => {
  const out: string[] = [];
  assert.equal(await main(["frobnicate", "--help"], { print: (t) => out.push(t) }), 0);
  assert.deepEqual(out, [USAGE]);
  const errors: string[] = [];
  const home = await Deno.makeTempDir();
  try {
    const code = await main(["frobnicate"], {
      printError: (t) => errors.push(t),
      env: { HOME: home, MCP_RUN_CACHE: `${home}/cache` },
    });
    assert.equal(code, 2);
    assert.ok(errors[0].startsWith('mcp-run: unknown command "frobnicate"'), errors[0]);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("a command's help, or the general usage, mentions every option it accepts", async () => {
  for (const command of LISTED) {
    for (const name of NAMES) {
      if (!await accepts(command, name)) continue;
      assert.ok(
        HELP[command].includes(`--${name}`) || USAGE.includes(`--${name}`),
        `mcp-run ${command} accepts --${name} but no help text mentions it`,
      );
    }
  }
});

Deno.test("a command's help offers only options that command accepts", async () => {
  for (const command of LISTED) {
    // "run --dry-run" in another command's text names run's option, not this one's.
    for (const m of HELP[command].matchAll(/(\S*) --([a-z][a-z-]*)/g)) {
      if (m[1] !== command && LISTED.includes(m[1])) continue;
      const name = m[2] as OptionName;
      assert.ok(Object.hasOwn(OPTIONS, name), `${command} help names unknown option --${name}`);
      assert.ok(await accepts(command, name), `${command} help offers --${name}, which it refuses`);
    }
  }
});

Deno.test("the usage line of each command shows only options that command accepts", async () => {
  for (const m of USAGE.matchAll(/^ {2}mcp-run ([a-z]+) (.*)$/gm)) {
    for (const option of m[2].matchAll(/--([a-z][a-z-]*)/g)) {
      assert.ok(await accepts(m[1], option[1] as OptionName), `${m[1]}: --${option[1]}`);
    }
  }
});

Deno.test("every option of the parser is documented somewhere", () => {
  const all = [USAGE, ...Object.values(HELP)].join("\n");
  for (const name of NAMES) assert.ok(all.includes(`--${name}`), `--${name} is undocumented`);
  assert.ok(USAGE.includes("-p, --param") && USAGE.includes("-h, --help"), "short forms");
});
