/**
 * The CLI commands that write client configurations: `install`, `uninstall`, `clients` and
 * `config`. Thin: parse-level checks, then runtime functions, then printing.
 *
 * @module
 */
import { absolute, readIfExists, secretValues } from "./_entry_files.ts";
import type { CliContext } from "./context.ts";
import {
  ClientUsageError,
  formOf,
  formOption,
  NO_PINS,
  refuseDenoForm,
  refuseNativeUnderGvisor,
  refuseUnguarded,
} from "./_entry_forms.ts";
import { type ClientEntry, clientEntry } from "../clients/client_entry.ts";
import { readClientEnvironment } from "../clients/client_environment.ts";
import { clientConfigPath, scopeFor } from "../clients/config_path.ts";
import { withClientEntry } from "../clients/config_text.ts";
import { detectClients } from "../clients/detect_clients.ts";
import { entryVariables } from "../clients/entry_variables.ts";
import { cacheLauncher, resolveLauncher } from "../clients/launcher_cache.ts";
import { type CachedLauncher, launcherCommand } from "../clients/launcher_command.ts";
import { writeSecretEnvFile } from "../clients/secret_env_file.ts";
import { defaultContainerUser } from "../sandbox/docker_launch.ts";
import { GVISOR_RUNTIME } from "../sandbox/docker_names.ts";
import type { Isolation } from "../sandbox/create_sandbox.ts";
import { findPrlimit, noProcessCapNote } from "../sandbox/resource_caps.ts";
import { directCommand, type DirectCommandOptions } from "../clients/direct_command.ts";
import type { LaunchCommand } from "../clients/types.ts";
import { getClient, isClientId } from "../clients/registry.ts";
import type { ClientEnvironment, ClientId, ConfigScope } from "../clients/types.ts";
import { removeClientEntry, writeClientConfig } from "../clients/write_client_config.ts";
import type { LoadedManifest } from "../registry/load.ts";
import { resolveTarget } from "../registry/resolve_target.ts";
import type { ResolvedServer } from "../policy/resolve.ts";
import { isContainerOnly } from "../policy/package_kind.ts";

export { ClientUsageError } from "./_entry_forms.ts";

/** What the client commands need from the CLI: its common context. */
export type ClientCommandContext = CliContext;

/** Client options of the commands, as parsed. */
export interface ClientCommandOptions {
  /** `--client`. */
  client?: string;
  /** `--scope`. */
  scope?: string;
  /** `--form` (default `deno`). */
  form?: string;
  /** `--name`: the entry name (default: the manifest's name). */
  name?: string;
  /** `--file`: edit this file instead of the client's standard one. */
  file?: string;
  /** `--force`: replace or remove an entry mcp-run did not write. */
  force?: boolean;
  /** `--launcher`: the mcp-run the launcher form runs (a checkout, or a pinned `jsr:` one). */
  launcher?: string;
  /** `--env-file`: docker form, write the secrets to this file (mode 0600) and use it. */
  envFile?: string;
  /** Extra server arguments after `--`. */
  extraArgs: string[];
  /** The guard options a launcher-form entry passes on (`--tools`, `--exclude-tools`, `--scan`). */
  guard?: string[];
}

/**
 * `mcp-run install <server> --client C`: resolve the server, pull its code (so the entry
 * starts offline), and write the entry into the client's configuration.
 *
 * @param ctx CLI context.
 * @param target Registry name or manifest path.
 * @param options Client, scope, form, name, file, force.
 * @returns Exit code 0.
 * @throws {ClientUsageError} For a missing or unknown client, scope or form.
 */
export async function installCommand(
  ctx: ClientCommandContext,
  target: string,
  options: ClientCommandOptions,
): Promise<number> {
  const built = await buildEntry(ctx, target, options);
  const { entry, file } = built;
  // Refuse a corrupt file or a foreign entry before downloading anything.
  withClientEntry(await readIfExists(file), entry, { force: options.force, file });
  // Pull when never pulled and verify the cache: the entry then starts offline.
  await makeReady(ctx, built);
  if (built.envFile) {
    await writeSecretEnvFile(built.envFile.path, built.envFile.values);
    ctx.printError(
      `Wrote ${Object.keys(built.envFile.values).join(", ")} to ${built.envFile.path} ` +
        "(readable only by you); the entry passes it to docker with --env-file",
    );
  }
  const result = await writeClientConfig(entry, { file, force: options.force });
  if (ctx.json) {
    const { client, name, notices } = entry;
    ctx.print(JSON.stringify({ ...result, client, name, notices }, null, 2));
  } else {
    const client = getClient(entry.client).displayName;
    ctx.print(
      result.changed
        ? `Installed "${entry.name}" for ${client} in ${result.file}`
        : `"${entry.name}" is already installed for ${client} in ${result.file}`,
    );
    if (result.backup) ctx.print(`Previous file kept as ${result.backup}`);
  }
  for (const notice of entry.notices) ctx.printError(notice);
  return 0;
}

/**
 * `mcp-run config <server>`: pull the server if needed and print its entry. With `--client C`,
 * as a snippet of that client's file, writing nothing (an `--env-file` is not written either);
 * without, as the plain `command`/`args`/`env` entry of the deno or docker form.
 *
 * @param ctx CLI context.
 * @param target Registry name or manifest path.
 * @param options Client, scope, form, name.
 * @returns Exit code 0.
 * @throws {ClientUsageError} For a missing or unknown client, scope or form.
 */
export async function configCommand(
  ctx: ClientCommandContext,
  target: string,
  options: ClientCommandOptions,
): Promise<number> {
  if (options.client === undefined) return await printPlainEntry(ctx, target, options);
  const built = await buildEntry(ctx, target, options);
  const { entry, file } = built;
  await makeReady(ctx, built);
  if (ctx.json) {
    ctx.print(JSON.stringify(
      {
        client: entry.client,
        file,
        name: entry.name,
        entry: entry.value,
        inputs: entry.inputs,
        notices: entry.notices,
      },
      null,
      2,
    ));
  } else {
    ctx.printError(`Add to ${file}:`);
    ctx.print(withClientEntry(null, entry).trimEnd());
  }
  for (const notice of entry.notices) ctx.printError(notice);
  return 0;
}

/**
 * `mcp-run uninstall <entry> --client C`: remove an entry mcp-run wrote.
 *
 * @param ctx CLI context.
 * @param name Entry name.
 * @param options Client, scope, file, force.
 * @returns Exit code 0 (also when there was nothing to remove).
 * @throws {ClientUsageError} For a missing or unknown client or scope.
 */
export async function uninstallCommand(
  ctx: ClientCommandContext,
  name: string,
  options: ClientCommandOptions,
): Promise<number> {
  const client = clientOption(options);
  const environment = environmentOf(ctx);
  const scope = scopeOption(options);
  const file = options.file ??
    clientConfigPath(client, { scope, environment, name });
  const result = await removeClientEntry(client, name, { file, force: options.force });
  const display = getClient(client).displayName;
  if (ctx.json) ctx.print(JSON.stringify({ ...result, client, name }, null, 2));
  else if (!result.changed) ctx.print(`"${name}" is not installed for ${display} in ${file}`);
  else {
    ctx.print(`Removed "${name}" for ${display} from ${result.file}`);
    if (result.deleted) ctx.print(`Deleted ${result.file}, which held no other server`);
    if (result.backup) ctx.print(`Previous file kept as ${result.backup}`);
  }
  return 0;
}

/**
 * `mcp-run clients`: which clients are set up here and where their configuration lives.
 *
 * @param ctx CLI context.
 * @returns Exit code 0.
 */
export async function clientsCommand(ctx: ClientCommandContext): Promise<number> {
  const rows = await detectClients({ environment: environmentOf(ctx) });
  if (ctx.json) {
    ctx.print(JSON.stringify(rows, null, 2));
    return 0;
  }
  const width = Math.max(...rows.map((r) => r.client.length));
  for (const r of rows) {
    const status = r.configured ? "configured" : r.present ? "present   " : "not found ";
    ctx.print(`${r.client.padEnd(width)}  ${r.scope.padEnd(7)}  ${status}  ${r.file}`);
  }
  return 0;
}

function environmentOf(ctx: ClientCommandContext): ClientEnvironment {
  return readClientEnvironment(ctx.env);
}

function clientOption(options: ClientCommandOptions): ClientId {
  if (!options.client) throw new ClientUsageError("give the client with --client");
  if (!isClientId(options.client)) {
    // getClient names the known clients in its message.
    try {
      getClient(options.client);
    } catch (error) {
      throw new ClientUsageError((error as Error).message);
    }
  }
  return options.client as ClientId;
}

function scopeOption(options: ClientCommandOptions): ConfigScope | undefined {
  const scope = options.scope;
  if (scope === undefined || scope === "user" || scope === "project") return scope;
  throw new ClientUsageError(`--scope must be user or project, got "${scope}"`);
}

/** `config` without a client: the self-contained entry of the isolation's form, as JSON. */
async function printPlainEntry(
  ctx: ClientCommandContext,
  target: string,
  options: ClientCommandOptions,
): Promise<number> {
  // The entry form of the same name as the isolation (docker for a package that runs only in
  // a container), unless one is chosen.
  const chosen = options.form !== undefined ? formOption(options.form, "deno") : undefined;
  if (chosen === "launcher") {
    throw new ClientUsageError(
      "--form launcher writes the entry for one client: add --client C (claude-desktop, " +
        "vscode, cursor, …)",
    );
  }
  const { loaded, server, isolation } = await resolveTarget(target, {
    ...ctx.target,
    extraArgs: options.extraArgs,
    isolation: chosen ?? ctx.target.isolation,
    isolationGiven: chosen !== undefined || ctx.target.isolationGiven,
  });
  const form = chosen ?? (isolation === "gvisor" ? "docker" : isolation);
  refuseNativeUnderGvisor(ctx.target, form, ctx.printError);
  refuseDenoForm(form, server, "use --form docker (or install it for a client: --client C)");
  refuseUnguarded(form, options.guard);
  // A docker-form entry runs under gVisor when that is the isolation chosen (resolved for
  // docker when --form docker is given, so asked of the CLI's isolation, not the resolved one).
  const gvisor = form === "docker" && ctx.target.isolation === "gvisor";
  // Built first: an entry that cannot be written is refused before anything is downloaded.
  const entry = directEntry(ctx, server, {
    form,
    ...(gvisor ? { runtime: gvisorRuntime(ctx) } : {}),
    cacheRoot: ctx.target.cacheRoot,
    secretDescriptions: Object.fromEntries(
      Object.entries({ ...loaded.manifest.env, ...loaded.manifest.secrets })
        .map(([name, spec]) => [name, spec.description]),
    ),
  });
  await pullAndVerify(ctx, gvisor ? "gvisor" : form, server);
  const value: Record<string, unknown> = { command: entry.command, args: entry.args };
  if (Object.keys(entry.env).length > 0) value.env = entry.env;
  ctx.print(JSON.stringify(ctx.json ? entry : value, null, 2));
  if (!ctx.json) ctx.printError(NO_PINS);
  if (!ctx.json && entry.secrets.length > 0) {
    ctx.printError(
      `The client must set ${entry.secrets.map((s) => s.name).join(", ")} in this entry's ` +
        "environment (mcp-run never writes their values).",
    );
  }
  return 0;
}

/** The engine runtime a docker-form entry names under gVisor isolation. */
function gvisorRuntime(ctx: ClientCommandContext): string {
  return ctx.docker.gvisorRuntime ?? GVISOR_RUNTIME;
}

/** The self-contained entry of the deno or docker form, with the CLI's docker settings. */
function directEntry(
  ctx: ClientCommandContext,
  server: ResolvedServer,
  options: Omit<DirectCommandOptions, "user">,
): LaunchCommand {
  return directCommand(server, {
    ...ctx.docker,
    prlimit: options.form === "deno" ? findPrlimit() : undefined,
    ...options,
    user: ctx.docker.user ??
      (options.form === "docker" ? defaultContainerUser(server) : undefined),
  });
}

/** Pulls the server (when not pulled yet) into its sandbox's cache and checks that cache. */
async function pullAndVerify(
  ctx: ClientCommandContext,
  isolation: Isolation,
  server: ResolvedServer,
): Promise<void> {
  const sandbox = await ctx.sandboxFor(isolation);
  await (await sandbox.prepare(server)).verify();
}

/** Makes an entry startable: its server pulled and checked, a launcher form's launcher cached. */
async function makeReady(ctx: ClientCommandContext, built: BuiltEntry): Promise<void> {
  await pullAndVerify(ctx, built.isolation, built.server);
  if (!built.launcher) return;
  await cacheLauncher(built.launcher.launcher, {
    source: ctx.env,
    manifest: built.launcher.manifest,
    progress: ctx.printError,
  });
}

/** What {@link buildEntry} produces. */
interface BuiltEntry {
  entry: ClientEntry;
  file: string;
  server: ResolvedServer;
  /** Where the server runs (and is pulled). */
  isolation: Isolation;
  /** The env file to write, for `--env-file`. */
  envFile?: { path: string; values: Record<string, string> };
  /** The launcher form's launcher to cache, and the manifest it saves for a registry name. */
  launcher?: { launcher: CachedLauncher; manifest?: LoadedManifest["manifest"] };
}

/** Resolve the server and build the client entry, its file path and env file. Pure but for reading the manifest. */
async function buildEntry(
  ctx: ClientCommandContext,
  target: string,
  options: ClientCommandOptions,
): Promise<BuiltEntry> {
  const client = clientOption(options);
  const scope = scopeFor(getClient(client), scopeOption(options));
  // Under gVisor an entry is the launcher form unless one is chosen: a deno-form entry would run
  // natively, and only a launcher gives a server with network grants the proxy it needs.
  let form = formOption(options.form, ctx.target.isolation === "gvisor" ? "launcher" : "deno");
  refuseNativeUnderGvisor(ctx.target, form, ctx.printError);
  if (options.envFile !== undefined && form !== "docker") {
    throw new ClientUsageError("--env-file needs --form docker");
  }
  // Resolved exactly as `run` does, for the entry's isolation: a package that runs only in a
  // container resolves for docker, and gets the launcher form unless one is chosen.
  const resolved = await resolveTarget(target, {
    ...ctx.target,
    extraArgs: options.extraArgs,
    isolation: form === "launcher" ? ctx.target.isolation : form,
    isolationGiven: options.form === undefined
      ? false
      : form !== "launcher" || ctx.target.isolationGiven,
  });
  const { loaded, server } = resolved;
  if (options.form === undefined && isContainerOnly(server.specifier)) form = "launcher";
  // A docker-form entry runs under gVisor when that is the isolation chosen.
  const isolation = form === "launcher"
    ? resolved.isolation
    : form === "docker" && ctx.target.isolation === "gvisor"
    ? "gvisor"
    : form;
  refuseUnguarded(form, options.guard);
  refuseDenoForm(
    formOf(ctx.target.isolationGiven ? ctx.target.isolation : isolation),
    server,
    options.form === "docker"
      ? "leave out --isolation deno"
      : "leave out --isolation deno (its entry then runs it in docker), or use --form docker",
  );
  const vars = entryVariables(server, loaded.manifest, { source: ctx.env });
  const envFile = options.envFile === undefined
    ? undefined
    : { path: absolute(options.envFile), values: secretValues(ctx, vars.secrets) };
  const { launch, launcher } = form === "launcher"
    ? await launcherLaunch(ctx, target, loaded, server, { ...options, isolation })
    : {
      launch: directEntry(ctx, server, {
        form,
        ...(isolation === "gvisor" ? { runtime: gvisorRuntime(ctx) } : {}),
        cacheRoot: absolute(ctx.target.cacheRoot),
        registries: ctx.registries,
        envFile: envFile && { path: envFile.path, names: Object.keys(envFile.values) },
      }),
    };
  // The client supplies the secrets install-time settled on (none that the env file holds).
  const fromFile = new Set(Object.keys(envFile?.values ?? {}));
  const mcp: LaunchCommand = {
    command: launch.command,
    args: launch.args,
    env: { ...launch.env, ...vars.values },
    secrets: vars.secrets.filter((s) => !fromFile.has(s.name)),
  };
  const name = options.name ?? loaded.manifest.name;
  const entry = clientEntry(client, mcp, { name, description: loaded.manifest.description });
  if (form !== "launcher") entry.notices.push(NO_PINS);
  // A deno-form entry without prlimit caps the V8 heap alone.
  if (form === "deno" && !findPrlimit()) entry.notices.push(noProcessCapNote());
  const file = options.file ??
    clientConfigPath(client, { scope, environment: environmentOf(ctx), name });
  return { entry, file, server, isolation, envFile, launcher };
}

/** The launcher form's command, and the launcher to cache for it. */
async function launcherLaunch(
  ctx: ClientCommandContext,
  target: string,
  loaded: LoadedManifest,
  server: ResolvedServer,
  options: ClientCommandOptions & { isolation: Isolation },
): Promise<{ launch: LaunchCommand; launcher: BuiltEntry["launcher"] }> {
  const isPath = target.includes("/") || /\.jsonc?$/.test(target);
  const cacheRoot = absolute(ctx.target.cacheRoot);
  let cached: CachedLauncher;
  try {
    cached = await resolveLauncher({
      launcher: options.launcher,
      cacheRoot,
      registries: ctx.registries,
    });
  } catch (error) {
    if (error instanceof RangeError) throw new ClientUsageError(error.message);
    throw error;
  }
  // A manifest path needs no saved registry copy.
  if (isPath) cached = { ...cached, manifests: undefined };
  const launch = launcherCommand(server, {
    target: isPath ? loaded.file : target,
    cacheRoot,
    launcher: cached,
    registrySources: ctx.registrySources.map(absolute),
    registries: ctx.registries,
    extraArgs: options.extraArgs,
    guardArgs: options.guard,
    // A container package's image comes from the launcher's own user config at each start,
    // unless --image named one.
    docker: options.isolation !== "deno"
      ? {
        image: isContainerOnly(server.specifier) ? ctx.target.imageGiven : ctx.docker.image,
        isolation: options.isolation,
      }
      : undefined,
  });
  return { launch, launcher: { launcher: cached, manifest: isPath ? undefined : loaded.manifest } };
}

/**
 * The entry `install` would write for `target`, made startable (the server and its images pulled
 * as `pull` does, the cache checked, a launcher cached, an `--env-file` written), without writing the client's file: what `adopt`
 * puts in place of an existing entry.
 *
 * @param ctx CLI context (its `env` supplies the values of plain variables and secrets).
 * @param target Registry name or manifest path.
 * @param options Client, scope, form, name, file, extra arguments.
 * @returns The client entry.
 * @throws {ClientUsageError} For a missing or unknown client, scope or form.
 */
export async function readyClientEntry(
  ctx: ClientCommandContext,
  target: string,
  options: ClientCommandOptions,
): Promise<ClientEntry> {
  const built = await buildEntry(ctx, target, options);
  // As `mcp-run pull` does: images too, which a launch never fetches.
  await (await ctx.sandboxFor(built.isolation)).pull(built.server);
  await makeReady(ctx, built);
  if (built.envFile) await writeSecretEnvFile(built.envFile.path, built.envFile.values);
  return built.entry;
}
