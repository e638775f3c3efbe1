/**
 * `mcp-run adopt`: move a client's existing servers under mcp-run, and `adopt --undo`. Thin:
 * which files, then `adoptConfig()` / `undoAdoption()`, then printing.
 *
 * @module
 */
import { onUse } from "../_on_use.ts";
import { basename, dirname, join } from "../_path.ts";
import { absolute } from "./_entry_files.ts";
import { type CliContext, EXIT, UsageError } from "./context.ts";
import { askYesNo, canAsk, type QuestionOptions } from "./_question.ts";
import { readyClientEntry } from "./clients.ts";
import { userConfigPath } from "./user_config.ts";
import {
  adoptConfig,
  type AdoptDraft,
  type AdoptEntryPlan,
  type AdoptLearn,
  type AdoptResult,
} from "../clients/adopt.ts";
import { resolveAdoptVersion } from "../clients/adopt_version.ts";
import { undoAdoption } from "../clients/adopt_undo.ts";
import { readClientEnvironment } from "../clients/client_environment.ts";
import { clientConfigPath, scopeFor } from "../clients/config_path.ts";
import { getClient, isClientId } from "../clients/registry.ts";
import type { ClientId, ConfigScope } from "../clients/types.ts";
import { isContainerOnly } from "../policy/package_kind.ts";
import { GrantError } from "../policy/grant_error.ts";
import type { Isolation } from "../sandbox/create_sandbox.ts";
import { listManifests } from "../registry/load.ts";
import { type Manifest, placeholders } from "../policy/manifest.ts";

/** Options of `mcp-run adopt`, as parsed (plus what the program wires in). */
export interface AdoptCommandOptions extends QuestionOptions {
  /** `--client`. */
  client?: string;
  /** `--file`: adopt this file (the client is then told by its name when not given). */
  file?: string;
  /** `--scope`. */
  scope?: string;
  /** `--form`: deno, docker or launcher (default: deno, docker for container-only packages). */
  form?: string;
  /** `--dry-run`: print the plan only. */
  dryRun?: boolean;
  /** `--yes`: approve every draft manifest. */
  yes?: boolean;
  /** `--undo`: restore the files adopt rewrote. */
  undo?: boolean;
  /** `--force` (with `--undo`): restore even a file changed since. */
  force?: boolean;
  /** Drafts manifests for servers outside the catalogue (`learnServer`). */
  learn?: AdoptLearn;
}

/**
 * Drafts a manifest for an entry outside the catalogue with a learn run (a throwaway sandbox):
 * a server that did not start under it gives no draft, so its entry is left with the reason.
 */
async function learnDraft(
  ctx: CliContext,
  target: string,
  options: { args: string[]; env: string[] },
): Promise<AdoptDraft> {
  const { learnServer } =
    await (import(onUse("../learn/learn_server.ts", import.meta.url)) as Promise<
      typeof import("../learn/learn_server.ts")
    >);
  if (ctx.target.isolation === "gvisor") {
    ctx.printError(
      `mcp-run adopt: ${target} is not in the catalogue: learn drafts its manifest by running ` +
        "it natively (scratch folders, every access refused by Deno's permission broker), not " +
        "under gVisor; the entry it gets runs under gVisor",
    );
  }
  const learned = await learnServer(target, {
    registries: ctx.registries,
    source: ctx.env,
    home: ctx.target.home,
    args: options.args,
    env: options.env,
    probe: true,
    progress: ctx.printError,
  });
  if (!learned.initialized) {
    throw new Error(`it did not start under learn: ${learned.failure ?? "no answer"}`);
  }
  return learned;
}

/** Folder an approved draft manifest is written to: beside the user's config file. */
function manifestFolder(env: Record<string, string>): string {
  const config = userConfigPath(env);
  if (config === undefined) {
    throw new TypeError("Cannot find a folder for draft manifests: set HOME or XDG_CONFIG_HOME");
  }
  return join(dirname(config), "manifests");
}

/** mcp-run's folder for undo records: beside the draft manifests, never beside the file. */
function undoFolder(env: Record<string, string>): string {
  return join(dirname(manifestFolder(env)), "undo");
}

/**
 * The client a file belongs to, from its name (`claude_desktop_config.json`, `.vscode/mcp.json`,
 * `.cursor/mcp.json`, `.mcp.json`, `.claude.json`, `mcp_config.json`, `settings.json`, goose's
 * `config.yaml`, a Continue block).
 *
 * @param file A configuration file path.
 * @returns The client, or undefined when the name does not tell.
 * @example
 * ```ts
 * import { clientOfFile } from "./adopt.ts";
 * console.assert(clientOfFile("/p/.vscode/mcp.json") === "vscode");
 * ```
 */
export function clientOfFile(file: string): ClientId | undefined {
  const path = file.replaceAll("\\", "/");
  const name = basename(path);
  const folder = basename(dirname(path));
  if (name === "claude_desktop_config.json") return "claude-desktop";
  if (name === "mcp.json") return folder === ".vscode" || folder === "User" ? "vscode" : "cursor";
  if (name === ".mcp.json" || name === ".claude.json") return "claude-code";
  if (name === "mcp_config.json") return "windsurf";
  if (name === "settings.json") return "zed";
  if (folder === "mcpServers" || path.includes("/.continue/")) return "continue";
  if (name === "config.yaml" && folder === "goose") return "goose";
  return undefined;
}

function chooseClient(options: AdoptCommandOptions): ClientId {
  const client = options.client ?? (options.file ? clientOfFile(options.file) : undefined);
  if (client === undefined) {
    throw new UsageError(
      options.file
        ? `cannot tell the client of "${options.file}" from its name: add --client C`
        : "give the client with --client C, or the file with --file F",
    );
  }
  if (!isClientId(client)) {
    try {
      getClient(client);
    } catch (error) {
      throw new UsageError((error as Error).message, { cause: error });
    }
  }
  return client as ClientId;
}

/** The files to adopt: the one given, the client's file, or every Continue block file. */
async function filesOf(
  ctx: CliContext,
  client: ClientId,
  options: AdoptCommandOptions,
): Promise<string[]> {
  const spec = getClient(client);
  if (options.scope !== undefined && !["user", "project"].includes(options.scope)) {
    throw new UsageError(`--scope must be user or project, got "${options.scope}"`);
  }
  const environment = readClientEnvironment(ctx.env);
  let path = options.file === undefined ? undefined : absolute(options.file);
  if (path === undefined && spec.layout === "file-list") {
    const scope = scopeFor(spec, options.scope as ConfigScope | undefined);
    path = join(spec.presenceDir(scope, environment), "mcpServers");
  }
  path ??= clientConfigPath(client, {
    scope: options.scope as ConfigScope | undefined,
    environment,
    name: "",
  });
  const stat = await Deno.stat(path).catch(() => null);
  if (stat === null) {
    throw new Deno.errors.NotFound(
      `Cannot adopt "${path}": it does not exist; give the file with --file F or another --scope`,
    );
  }
  if (!stat.isDirectory) return [path];
  const files: string[] = [];
  for await (const entry of Deno.readDir(path)) {
    if (entry.isFile && /\.ya?ml$/.test(entry.name)) files.push(join(path, entry.name));
  }
  return files.sort();
}

/**
 * `mcp-run adopt [--client C | --file F] [--scope …] [--dry-run] [--form …] [--yes]`: plans every
 * entry of the client's configuration and rewrites those it can adopt; `--undo [--force]`
 * restores the files byte for byte.
 *
 * @param ctx CLI context.
 * @param options The command's options, and the drafter and prompt the program wires in.
 * @returns Exit code: 0, or 1 when an undo was refused.
 * @throws {UsageError} For a missing or unknown client, scope or form.
 */
export async function adoptCommand(
  ctx: CliContext,
  options: AdoptCommandOptions,
): Promise<number> {
  const client = chooseClient(options);
  if (options.form !== undefined && !["deno", "docker", "launcher"].includes(options.form)) {
    throw new UsageError(`--form must be deno, launcher or docker, got "${options.form}"`);
  }
  const files = await filesOf(ctx, client, options);
  if (options.undo) return await undoCommand(ctx, files, options);
  const catalogue = (await listManifests({ sources: ctx.target.sources })).map((l) => ({
    target: l.manifest.name,
    manifest: l.manifest,
  }));
  const drafts = await approvedDrafts(manifestFolder(ctx.env));
  const scope = options.scope;
  const result = await adoptConfig({
    client,
    files,
    dryRun: options.dryRun,
    catalogue,
    drafts,
    resolveVersion: (pkg) => resolveAdoptVersion(pkg, { env: { ...ctx.env, ...ctx.registries } }),
    learn: options.learn ?? ((target, o) => learnDraft(ctx, target, o)),
    approve: (plan) => approve(ctx, plan, options),
    manifestDir: manifestFolder(ctx.env),
    undoDir: undoFolder(ctx.env),
    secretsFile: options.form === "deno" || options.form === "launcher"
      ? undefined
      : (name) => join(dirname(manifestFolder(ctx.env)), "secrets", envFileName(client, name)),
    noSecretsFile: `--form ${options.form} has no way to pass the values (its entry would ` +
      "hold them); leave out --form (or use --form docker): adopt then writes them to a file " +
      "readable only by you and the entry runs in docker with it (this needs Docker)",
    envFileProblem: ({ manifest, mapping }) =>
      ctx.target.isolation === "gvisor" && netGranted(manifest, mapping.params)
        ? gvisorSecretsReason(client)
        : undefined,
    entryFor: ({ name, file, mapping, manifest, envFile }) =>
      gvisorSecretsProblem(
        readyClientEntry(
          {
            ...ctx,
            env: { ...ctx.env, ...mapping.env },
            target: { ...ctx.target, params: { ...mapping.params } },
          },
          mapping.target,
          {
            client,
            scope,
            // Under gVisor, the launcher form unless secrets need an env file (docker's).
            form: options.form ??
              (envFile
                ? "docker"
                : ctx.target.isolation === "gvisor"
                ? "launcher"
                : isContainerOnly(manifest.package)
                ? "docker"
                : "deno"),
            envFile,
            name,
            file,
            force: true,
            extraArgs: mapping.extraArgs,
          },
        ),
        { envFile, client, isolation: ctx.target.isolation },
      ),
  });
  noteDocker(result, [...catalogue, ...drafts], options, ctx.target.isolation);
  printResult(ctx, result, options);
  return EXIT.ok;
}

/**
 * An entry whose secrets go to an env file is the docker form; under gVisor a server with
 * network grants has none (only a launcher starts the egress proxy), and the launcher form
 * cannot read an env file. The refusal then says what does work.
 */
async function gvisorSecretsProblem<T>(
  entry: Promise<T>,
  options: { envFile?: string; client: ClientId; isolation: Isolation },
): Promise<T> {
  try {
    return await entry;
  } catch (error) {
    if (
      !(error instanceof GrantError) || options.envFile === undefined ||
      options.isolation !== "gvisor" || error.field !== "permissions.net"
    ) throw error;
    throw new GrantError(error.field, gvisorSecretsReason(options.client), { cause: error });
  }
}

/** Why a server with network grants and secrets in an env file is not adopted under gVisor. */
function gvisorSecretsReason(client: ClientId): string {
  return "under gVisor its network grants are reached only through mcp-run's egress proxy, " +
    `which only the launcher form starts, and ${getClient(client).displayName} cannot ` +
    "reference a secret, so a launcher entry would have to hold the values. Adopt it with " +
    "--isolation docker (its docker entry reads them from the env file), or install it " +
    "under gVisor for a client that references secrets (mcp-run install <server> " +
    "--isolation gvisor --client vscode, cursor, …)";
}

/**
 * Whether a manifest grants network access with these parameters: a literal entry, or one whose
 * parameters are all given or have defaults.
 */
function netGranted(manifest: Manifest, params: Record<string, string[]>): boolean {
  return manifest.permissions.net.some((entry) =>
    placeholders(entry).every((name) =>
      (params[name]?.length ?? 0) > 0 || manifest.parameters[name]?.default !== undefined
    )
  );
}

/**
 * A file name for an entry's env file. The entry's name is chosen by whoever wrote the client's
 * file: only its safe characters are kept (no folder, no `..`), and a hash of the whole name
 * keeps two names that differ only in the others apart.
 */
function envFileName(client: string, name: string): string {
  const safe = name.replace(/[^A-Za-z0-9_-]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 64);
  if (safe === name) return `${client}-${name}.env`;
  // FNV-1a: short and stable; it only tells names apart, it guards nothing.
  let hash = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(name)) {
    hash = Math.imul(hash ^ byte, 0x01000193) >>> 0;
  }
  return `${client}-${safe || "entry"}-${hash.toString(16).padStart(8, "0")}.env`;
}

/** Says which adopted entries run in a container, so the plan tells that Docker is needed. */
function noteDocker(
  result: AdoptResult,
  manifests: { target: string; manifest: Manifest }[],
  options: AdoptCommandOptions,
  isolation: Isolation,
): void {
  for (const e of result.entries) {
    if (e.action !== "adopt" || e.envFile !== undefined) continue;
    if (isolation === "gvisor" && options.form !== "deno") {
      e.notes.push(
        "its entry runs under gVisor, so adopting it needs Docker with gVisor's runtime " +
          "registered (the image is pulled then)",
      );
      continue;
    }
    const manifest = manifests.find((m) => m.target === e.target)?.manifest;
    const container = manifest !== undefined && isContainerOnly(manifest.package);
    if (options.form === "docker" || (options.form === undefined && container)) {
      e.notes.push(
        "its entry runs in a container, so adopting it needs Docker (the image is pulled then)",
      );
    }
  }
}

/** The drafts approved before: valid manifests in the folder (others are skipped). */
async function approvedDrafts(folder: string): Promise<{ target: string; manifest: Manifest }[]> {
  const exists = await Deno.stat(folder).then((s) => s.isDirectory, () => false);
  if (!exists) return [];
  const loaded = await listManifests({ sources: [folder], onSkip: () => {} });
  return loaded.map((l) => ({ target: l.file, manifest: l.manifest }));
}

/** Asks for a draft's approval: `--yes`, else on a terminal, else not approved. */
async function approve(
  ctx: CliContext,
  plan: AdoptEntryPlan,
  options: AdoptCommandOptions,
): Promise<boolean> {
  if (options.yes) return true;
  if (!canAsk(options) || !plan.draft) return false;
  const shown = `"${plan.name}" runs ${plan.package}, which is not in the catalogue. Draft ` +
    `manifest (${plan.draft.file}):\n${plan.draft.label.join("\n")}\n\n${plan.draft.text}`;
  ctx.printError(shown.split("\n").map(printable).join("\n"));
  return await askYesNo(printable(`Adopt "${plan.name}" with this manifest? [y/N] `), options);
}

function printResult(ctx: CliContext, result: AdoptResult, options: AdoptCommandOptions): void {
  if (ctx.json) {
    ctx.print(JSON.stringify({ ...result, dryRun: options.dryRun ?? false }, null, 2));
    return;
  }
  let file: string | undefined;
  // Names, reasons and notes carry text the client's file or the server chose: escaped, so a
  // control or invisible character cannot rewrite what the terminal shows.
  const print = (text: string) => ctx.print(printable(text));
  for (const e of result.entries) {
    if (e.file !== file) print(`${(file = e.file)}:`);
    print(`  ${e.name}: ${describe(e, options.dryRun ?? false)}`);
    for (const note of e.notes) print(`    - ${note}`);
    if (e.action === "approve" && e.draft) {
      // What approving would grant, so the user can decide before running again with --yes.
      print(`    draft manifest (${e.draft.file}):`);
      for (const line of e.draft.label) print(`      ${line}`);
    }
  }
  if (result.entries.length === 0) ctx.print("No entries found.");
  for (const w of result.written) {
    print(
      `Rewrote ${w.file}; \`mcp-run adopt --undo\` restores it (original kept in ${w.undo}, ` +
        "readable only by you: it may hold secret values, delete it once you no longer need it)",
    );
  }
  if (options.dryRun) ctx.print("Dry run: nothing was written.");
}

/**
 * Text with control, bidirectional and zero-width characters shown as `\u{…}` escapes. Kept
 * here until a shared escape helper exists.
 */
function printable(text: string): string {
  return text.replace(UNPRINTABLE, (c) => `\\u{${c.codePointAt(0)!.toString(16)}}`);
}

// deno-lint-ignore no-control-regex
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/g;

function describe(e: AdoptEntryPlan, dryRun: boolean): string {
  if (e.action === "leave") return `left as it is: ${e.reason}`;
  if (e.action === "approve") return `waits for approval (${e.package}): ${e.reason}`;
  const params = Object.entries(e.params ?? {}).flatMap(([k, vs]) => vs.map((v) => `-p ${k}=${v}`));
  return `${dryRun ? "would be adopted" : "adopted"} as ${e.target}${
    e.catalogue ? " (catalogue)" : " (approved draft)"
  }${params.length ? ` ${params.join(" ")}` : ""} [was ${e.via} ${e.package}]`;
}

async function undoCommand(
  ctx: CliContext,
  files: string[],
  options: AdoptCommandOptions,
): Promise<number> {
  const results = [];
  const dir = undoFolder(ctx.env);
  for (const file of files) {
    results.push(await undoAdoption(file, { dir, force: options.force }));
  }
  if (ctx.json) ctx.print(JSON.stringify(results, null, 2));
  else {
    for (const r of results) {
      ctx.print(
        printable(r.restored ? `Restored ${r.file}` : `Left ${r.file} as it is: ${r.reason}`),
      );
    }
  }
  return results.some((r) => !r.restored && /changed since/.test(r.reason ?? ""))
    ? EXIT.error
    : EXIT.ok;
}
