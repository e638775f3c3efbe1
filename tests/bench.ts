/**
 * `deno task bench`: mcp-run's benchmarks. Today: `mcp-run serve` against direct stdio,
 * supergateway and mcp-proxy (see bench_serve.ts). Prints markdown tables; `--json FILE` also
 * writes the raw figures.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { benchServe, benchTables, TARGETS } from "./bench_serve.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    json: { type: "string" },
    sessions: { type: "string" },
    targets: { type: "string" },
  },
});
const serve = await benchServe({
  sessions: values.sessions?.split(",").map(Number),
  targets: values.targets?.split(","),
});
console.log("## mcp-run serve: tools/call over Streamable HTTP\n");
for (const [target, what] of Object.entries(TARGETS)) console.log(`- ${target}: ${what}`);
console.log("");
console.log(benchTables(serve.rows, serve.memory));
if (values.json) await Deno.writeTextFile(values.json, JSON.stringify({ serve }, null, 2));
