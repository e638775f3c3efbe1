// Editing cost of one install into a large configuration: mcp-run's minimal-diff edit
// against jsonc-parser's modify() (which the edit replaced because it reflows neighbouring
// lines) and against the yaml package's document API for goose.
// Run: deno bench -A runtime/clients/config_text_bench.ts
import { applyEdits, modify } from "jsonc-parser";
import { parseDocument } from "yaml";
import { clientEntry } from "./client_entry.ts";
import { withClientEntry } from "./config_text.ts";

const SOURCE = {
  command: "deno",
  args: ["run", "--cached-only", "npm:@modelcontextprotocol/server-memory@2026.8.31"],
  env: { DENO_DIR: "/cache/deno_dir" },
  secrets: [],
};

// ~1 MB, shaped like a long-used ~/.claude.json: many projects with history.
const projects: Record<string, unknown> = {};
for (let i = 0; i < 400; i++) {
  projects[`/home/ada/src/project-${i}`] = {
    allowedTools: [],
    history: Array.from({ length: 12 }, (_, j) => ({ display: `prompt ${j} `.repeat(16) })),
    mcpServers: {},
  };
}
const claudeJson = JSON.stringify({ numStartups: 900, projects, mcpServers: { a: {} } }, null, 2);
const claudeEntry = clientEntry("claude-code", SOURCE, { name: "memory" });

Deno.bench(
  "withClientEntry() into a 1 MB ~/.claude.json",
  { group: "json", baseline: true },
  () => {
    withClientEntry(claudeJson, claudeEntry);
  },
);

Deno.bench("jsonc-parser modify() + applyEdits() on the same file", { group: "json" }, () => {
  const edits = modify(claudeJson, ["mcpServers", "memory"], claudeEntry.value, {
    formattingOptions: { insertSpaces: true, tabSize: 2, eol: "\n" },
  });
  applyEdits(claudeJson, edits);
});

// A goose config with 200 extensions.
let gooseYaml = "# goose\nGOOSE_MODE: auto\nextensions:\n";
for (let i = 0; i < 200; i++) {
  gooseYaml +=
    `  ext${i}:\n    type: stdio\n    cmd: npx\n    args:\n      - -y\n      - pkg${i}\n` +
    `    envs: {}\n    enabled: true  # on\n    timeout: 300\n`;
}
const gooseEntry = clientEntry("goose", SOURCE, { name: "memory" });

Deno.bench("withClientEntry() into a goose config with 200 extensions", {
  group: "yaml",
  baseline: true,
}, () => {
  withClientEntry(gooseYaml, gooseEntry);
});

Deno.bench("yaml document API setIn() + toString() on the same file", { group: "yaml" }, () => {
  const doc = parseDocument(gooseYaml);
  doc.setIn(["extensions", "memory"], doc.createNode(gooseEntry.value));
  doc.toString();
});
