/**
 * The registry commands of the CLI: `list`, `search`, `show`, `diff`, `export`, `import`,
 * `index`. Thin: they call the registry modules and print.
 *
 * @module
 */
import {
  describeGrantDiff,
  diffGrants,
  type GrantChange,
  widensGrants,
} from "../policy/grant_diff.ts";
import type { Manifest } from "../policy/manifest.ts";
import { permissionLabel, permissionSummary } from "../policy/permission_label.ts";
import { buildRegistryIndex, listManifests, loadManifest } from "../registry/load.ts";
import { searchManifests } from "../registry/search.ts";
import { fromServerJson, type ServerJson, toServerJson } from "../registry/server_json.ts";
import type { CliContext } from "./context.ts";

/** What the registry commands need from the CLI. */
export type RegistryCommandContext = Pick<CliContext, "print" | "printError" | "json"> & {
  /** Where manifests come from. */
  target: Pick<CliContext["target"], "sources">;
};

function entryJson(m: Manifest) {
  return {
    name: m.name,
    description: m.description,
    package: m.package,
    permissions: permissionSummary(m),
  };
}

/** Lists every entry; one that cannot be loaded is left out, saying which file and why. */
async function listForCommand(ctx: RegistryCommandContext): Promise<Manifest[]> {
  const loaded = await listManifests({
    sources: ctx.target.sources,
    onSkip: ({ name, error }) =>
      ctx.printError(`Skipped registry entry "${name}": ${error.message}`),
  });
  return loaded.map((l) => l.manifest);
}

function printEntries(ctx: RegistryCommandContext, manifests: Manifest[]): void {
  if (ctx.json) {
    ctx.print(JSON.stringify(manifests.map(entryJson), null, 2));
    return;
  }
  const width = Math.max(0, ...manifests.map((m) => m.name.length));
  for (const m of manifests) {
    ctx.print(
      `${m.name.padEnd(width)}  ${m.description}\n${" ".repeat(width)}  [${permissionSummary(m)}]`,
    );
  }
}

/**
 * `mcp-run list`: every registry entry with its description and a permission summary. An entry
 * that cannot be loaded (invalid, unreadable) is left out with a message naming its file.
 *
 * @param ctx Sources and output.
 * @returns The exit code.
 */
export async function listCommand(ctx: RegistryCommandContext): Promise<number> {
  printEntries(ctx, await listForCommand(ctx));
  return 0;
}

/**
 * `mcp-run search <words>`: entries matching every word.
 *
 * @param ctx Sources and output.
 * @param words Search words.
 * @returns 0 when something matched, 1 otherwise.
 */
export async function searchCommand(ctx: RegistryCommandContext, words: string[]): Promise<number> {
  const all = await listForCommand(ctx);
  const found = searchManifests(all, words);
  if (found.length === 0 && !ctx.json) {
    ctx.printError(`No server matches "${words.join(" ")}". Run mcp-run list to see them all.`);
  }
  printEntries(ctx, found);
  return found.length ? 0 : 1;
}

/**
 * `mcp-run show <name>`: one entry, its parameters and its plain-language permission label.
 *
 * @param ctx Sources and output.
 * @param name A registry name or manifest path.
 * @returns The exit code.
 */
export async function showCommand(ctx: RegistryCommandContext, name: string): Promise<number> {
  const { manifest: m, file } = await loadManifest(name, { sources: ctx.target.sources });
  const label = permissionLabel(m);
  if (ctx.json) {
    ctx.print(JSON.stringify({ file, ...m, label }, null, 2));
    return 0;
  }
  ctx.print([
    `${m.name} — ${m.description}`,
    `package: ${m.package}`,
    ...(m.homepage ? [`homepage: ${m.homepage}`] : []),
    ...(Object.keys(m.parameters).length ? ["parameters:"] : []),
    ...Object.entries(m.parameters).map(([k, s]) =>
      `  -p ${k}=<${s.type}>${s.required ? " (required)" : ""}${
        s.default !== undefined ? ` (default ${[s.default].flat().join(",")})` : ""
      }  ${s.description}`
    ),
    ...(Object.keys(m.secrets).length ? ["secrets (set in the environment):"] : []),
    ...Object.entries(m.secrets).map(([k, s]) =>
      `  ${k}${s.required ? " (required)" : ""}  ${s.description}`
    ),
    "it may:",
    ...label.map((line) => `  ${line}`),
  ].join("\n"));
  return 0;
}

function printDiff(ctx: RegistryCommandContext, changes: GrantChange[], header: string): void {
  if (ctx.json) {
    ctx.print(JSON.stringify({ widens: widensGrants(changes), changes }, null, 2));
    return;
  }
  ctx.print([header, ...describeGrantDiff(changes).map((l) => `  ${l}`)].join("\n"));
}

/**
 * `mcp-run diff <old> <new>`: what the new manifest may touch that the old one could not.
 *
 * @param ctx Sources and output.
 * @param before Registry name or manifest path in use.
 * @param after Registry name or manifest path of the candidate.
 * @returns 0 when nothing widens, 1 when the new one gets more access.
 */
export async function diffCommand(
  ctx: RegistryCommandContext,
  before: string,
  after: string,
): Promise<number> {
  const a = (await loadManifest(before, { sources: ctx.target.sources })).manifest;
  const b = (await loadManifest(after, { sources: ctx.target.sources })).manifest;
  const changes = diffGrants(a, b);
  printDiff(ctx, changes, `${a.package} -> ${b.package}:`);
  return widensGrants(changes) ? 1 : 0;
}

/**
 * `mcp-run export <name>`: the entry as an official MCP registry server.json, permissions under
 * `_meta`.
 *
 * @param ctx Sources and output.
 * @param name A registry name or manifest path.
 * @returns The exit code.
 */
export async function exportCommand(ctx: RegistryCommandContext, name: string): Promise<number> {
  const { manifest } = await loadManifest(name, { sources: ctx.target.sources });
  ctx.print(JSON.stringify(toServerJson(manifest), null, 2));
  return 0;
}

/**
 * `mcp-run import <server.json>`: prints a manifest (or a draft to complete) from a server.json
 * file or URL.
 *
 * @param ctx Output.
 * @param source A file path or http(s) URL of a server.json.
 * @returns 0 for a complete manifest, 3 for a draft.
 */
export async function importCommand(ctx: RegistryCommandContext, source: string): Promise<number> {
  const text = /^https?:\/\//.test(source)
    ? await (await fetch(source)).text()
    : await Deno.readTextFile(source);
  let json: ServerJson;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new SyntaxError(`Cannot import "${source}": not JSON`, { cause: error });
  }
  const imported = fromServerJson(json);
  if (ctx.json) {
    ctx.print(JSON.stringify({ draft: imported.draft, todo: imported.todo, text: imported.text }));
  } else ctx.print(imported.text.trimEnd());
  if (imported.draft) {
    ctx.printError(
      `This server.json says nothing about permissions: the manifest above is a draft.\n` +
        imported.todo.map((t) => `  TODO ${t}`).join("\n"),
    );
  }
  return imported.draft ? 3 : 0;
}

/**
 * `mcp-run index <folder>`: the `index.json` (names and sha256 digests) to serve a folder of
 * manifests as a URL registry source.
 *
 * @param ctx Output.
 * @param dir The folder.
 * @returns The exit code.
 */
export async function indexCommand(ctx: RegistryCommandContext, dir: string): Promise<number> {
  ctx.print(JSON.stringify(await buildRegistryIndex(dir), null, 2));
  return 0;
}
