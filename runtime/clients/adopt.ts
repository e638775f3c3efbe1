/**
 * Adopting a client's existing servers: read its configuration, plan each entry (a catalogue
 * server, an approved draft manifest, or left as it is with the reason), and rewrite only the
 * adopted entries in place, keeping what undoing needs.
 *
 * @module
 */
import type { Manifest } from "../policy/manifest.ts";
import { updateFile } from "./_atomic_file.ts";
import { jsoncValueAt } from "./_jsonc_edit.ts";
import { yamlValue } from "./_yaml_edit.ts";
import { type AdoptPackage, recogniseEntry } from "./adopt_entry.ts";
import {
  type AdoptManifest,
  type AdoptMapping,
  findManifest,
  mapToManifest,
} from "./adopt_plan.ts";
import { recordAdoption } from "./adopt_undo.ts";
import type { ClientEntry } from "./client_entry.ts";
import { withClientEntry } from "./config_text.ts";
import { getClient } from "./registry.ts";
import type { ClientId } from "./types.ts";
import { freeDraftPath, learnCommand, writeNewDraft } from "./_adopt_drafts.ts";

/** A draft manifest for a server outside the catalogue, as `learnServer` returns it. */
export interface AdoptDraft {
  /** The draft. */
  manifest: Manifest;
  /** Its text, as it would be written. */
  text: string;
  /** The plain-language label of what it grants, one line each. */
  label: string[];
}

/**
 * Drafts a manifest for a package (`npm:x@1.2.3`, `pypi:y@1.0`, …) run with these arguments,
 * giving each named variable a placeholder value (the shape of `learnServer`).
 */
export type AdoptLearn = (
  target: string,
  options: { args: string[]; env: string[] },
) => Promise<AdoptDraft>;

/** What adopt does with one entry. */
export type AdoptAction =
  /** Rewritten (or, in a dry run, would be) to run under mcp-run. */
  | "adopt"
  /** Left as it is; `reason` says why. */
  | "leave"
  /** A draft manifest waits for approval; the entry is left as it is. */
  | "approve";

/** The plan for one entry, and what was done. */
export interface AdoptEntryPlan {
  /** The entry's name (kept). */
  name: string;
  /** The file it is in. */
  file: string;
  /** What is done with it. */
  action: AdoptAction;
  /** Why it is left, or waits. */
  reason?: string;
  /** How it ran (`npx`, `uvx`, `docker run`, …). */
  via?: string;
  /** The package it runs, as a manifest names it (`npm:name@1.2.3`). */
  package?: string;
  /** The registry name or manifest path the new entry runs. */
  target?: string;
  /** Whether the target is a catalogue server (else a draft manifest). */
  catalogue?: boolean;
  /** Parameters taken from the entry. */
  params?: Record<string, string[]>;
  /** Secrets whose values leave the file, and where they go. */
  secrets?: string[];
  /** The draft's label and the file it is (or would be) written to. */
  draft?: { label: string[]; text: string; file: string };
  /** The env file the secret values go to (clients that cannot reference a secret). */
  envFile?: string;
  /** Sentences for the user: versions, values left out, where secrets go. */
  notes: string[];
}

/** What {@link adoptConfig} did. */
export interface AdoptResult {
  /** The client. */
  client: ClientId;
  /** Every entry of every file, in file order. */
  entries: AdoptEntryPlan[];
  /** The files rewritten, with their undo records. */
  written: { file: string; undo: string }[];
}

/** What {@link AdoptConfigOptions.entryFor} builds an entry from. */
export interface AdoptEntryRequest {
  /** Entry name. */
  name: string;
  /** The file the entry is in. */
  file: string;
  /** The mapping: target, parameters, extra arguments, the entry's variables. */
  mapping: AdoptMapping;
  /** The manifest the target names. */
  manifest: Manifest;
  /**
   * For a client that cannot reference a secret: the env file (mode 0600) the entry's secret
   * values go to, which the entry passes to `docker run --env-file` (see
   * {@link AdoptConfigOptions.secretsFile}).
   */
  envFile?: string;
}

/** Options for {@link adoptConfig}. */
export interface AdoptConfigOptions {
  /** The client whose files these are. */
  client: ClientId;
  /** The files to adopt (one, or Continue's block files). */
  files: string[];
  /** Plan only: write nothing, run nothing. */
  dryRun?: boolean;
  /** Catalogue servers entries are mapped onto. */
  catalogue: readonly AdoptManifest[];
  /**
   * Draft manifests approved before (the files in `manifestDir`), matched after the catalogue:
   * a server drafted once is not learned again.
   */
  drafts?: readonly AdoptManifest[];
  /** Exact version of a package whose command pins none (default: unknown). */
  resolveVersion?: (pkg: AdoptPackage) => Promise<string | undefined>;
  /** Drafts manifests for packages outside the catalogue (without it they are left). */
  learn?: AdoptLearn;
  /** Asked for each draft; true accepts it (without it drafts wait for approval). */
  approve?: (plan: AdoptEntryPlan) => Promise<boolean>;
  /** Folder approved drafts are written to, as `<scope>-<name>.jsonc`. */
  manifestDir: string;
  /**
   * mcp-run's folder for undo records (see `recordAdoption()`): they hold the original bytes,
   * secret values included, so they never go beside a file that may be in a repository.
   */
  undoDir: string;
  /**
   * Where the secret values of an entry go for a client with no way to reference a secret
   * (Claude Desktop, Zed): an env file per entry. Without it such entries are left.
   */
  secretsFile?: (entryName: string) => string;
  /**
   * Why there is no env file, and what to do instead, for the reason an entry with secrets of
   * such a client is left (default: give `secretsFile`).
   */
  noSecretsFile?: string;
  /**
   * Why an entry whose secret values would go to an env file cannot be adopted that way (its
   * entry could not read the file), if it cannot: the entry is then left with that reason.
   */
  envFileProblem?: (request: { manifest: Manifest; mapping: AdoptMapping }) => string | undefined;
  /** Builds (and readies: pulls) the new entry for a mapping. */
  entryFor: (request: AdoptEntryRequest) => Promise<ClientEntry>;
}

/**
 * Adopt the servers of a client's files: each `npx`, `npm exec`, `node`, `uvx`, `pipx run`,
 * `python -m`, `deno run` and `docker run` entry is mapped onto its catalogue server (its
 * arguments becoming parameters, its secrets the client's own references), or onto a draft
 * manifest from `learn` once approved (written to `manifestDir`); every other entry is left
 * with the reason. Only the adopted entries are rewritten, under their own names: comments,
 * order, line endings and a byte order mark elsewhere are kept, the write is atomic, and the
 * original bytes are kept for `undoAdoption()` in `undoDir` (mode 0600). A dry run plans without learning,
 * pulling or writing. Requires read and write access to the files, and what `entryFor` needs.
 *
 * @param options Client, files, catalogue, learn, approval, entry builder.
 * @returns The plan of every entry and the files written.
 * @throws {SyntaxError} When a file cannot be parsed (nothing is written).
 * @example
 * ```ts ignore
 * import { adoptConfig } from "./adopt.ts";
 * const result = await adoptConfig({
 *   client: "cursor", files: ["/home/a/.cursor/mcp.json"], catalogue, manifestDir,
 *   entryFor: async ({ name, mapping }) => buildTheEntry(name, mapping),
 * });
 * for (const e of result.entries) console.log(e.name, e.action, e.reason ?? e.target);
 * ```
 */
export async function adoptConfig(options: AdoptConfigOptions): Promise<AdoptResult> {
  const result: AdoptResult = { client: options.client, entries: [], written: [] };
  // Every file is read and parsed before any is written: a file that cannot be parsed stops
  // the adoption with nothing changed.
  const files = [];
  for (const given of options.files) {
    // The real path: the rewrite lands on a symlink's target, and so does the undo record.
    const file = await Deno.realPath(given);
    const bytes = await Deno.readFile(file);
    const text = readText(bytes, file);
    files.push({ file, bytes, text, entries: listEntries(text, options.client, file) });
  }
  for (const { file, bytes, text, entries } of files) {
    const built: ClientEntry[] = [];
    for (const [name, value] of entries) {
      const plan = await planEntry(name, value, file, options);
      result.entries.push(plan);
      if (plan.action !== "adopt" || options.dryRun) continue;
      try {
        built.push(await buildFor(plan, value, options));
      } catch (error) {
        plan.action = "leave";
        plan.reason = `its new entry could not be made: ${(error as Error).message}`;
      }
    }
    if (built.length === 0) continue;
    let next = text;
    for (const entry of built) next = withClientEntry(next, entry, { force: true, file });
    if (next === text) continue;
    // The undo record is kept before the file changes, so no rewrite is ever without one.
    const bom = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? "\uFEFF" : "";
    const undo = await recordAdoption(file, bytes, new TextEncoder().encode(bom + next), {
      dir: options.undoDir,
    });
    const update = await updateFile(file, (current) => {
      if (current !== text) {
        throw new Error(
          `Cannot adopt "${file}": it changed while adopt was planning; run adopt again`,
        );
      }
      return next;
    }, { backup: false });
    result.written.push({ file: update.file, undo });
  }
  return result;
}

/** A file's text without its byte order mark (as the editors see it). */
function readText(bytes: Uint8Array, file: string): string {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch (error) {
    throw new SyntaxError(`Cannot read "${file}": it is not UTF-8 text; it was left untouched`, {
      cause: error,
    });
  }
}

/** The entries of one file, by name, in file order. */
function listEntries(text: string, client: ClientId, file: string): [string, unknown][] {
  const spec = getClient(client);
  const container = spec.format === "jsonc"
    ? jsoncValueAt(text, file, [spec.containerKey])
    : yamlValue(text, file)[spec.containerKey];
  if (container === undefined || container === null) return [];
  if (spec.layout === "file-list") {
    if (!Array.isArray(container)) {
      throw new TypeError(`Cannot read "${file}": "${spec.containerKey}" is not a list`);
    }
    return container.map((item, i) => [String(item?.name ?? `#${i + 1}`), item]);
  }
  if (typeof container !== "object" || Array.isArray(container)) {
    throw new TypeError(`Cannot read "${file}": "${spec.containerKey}" is not a mapping`);
  }
  return Object.entries(container as Record<string, unknown>);
}

/** The package as a manifest names it. */
function specifierOf(pkg: AdoptPackage): string {
  if (pkg.kind === "local") return pkg.name;
  const version = pkg.version ? `@${pkg.version}` : "";
  // npm addresses a bin other than the default one after the version (`npm:pkg@1.0.0/bin`).
  const bin = pkg.kind === "npm" && pkg.bin !== undefined ? `/${pkg.bin}` : "";
  return `${pkg.kind}:${pkg.name}${version}${bin}`;
}

async function planEntry(
  name: string,
  value: unknown,
  file: string,
  options: AdoptConfigOptions,
): Promise<AdoptEntryPlan> {
  const found = recogniseEntry(value, options.client);
  if (!found.adoptable) return { name, file, action: "leave", reason: found.reason, notes: [] };
  let pkg = found.package;
  const notes: string[] = [];
  if (pkg.version === undefined && options.resolveVersion) {
    try {
      const version = await options.resolveVersion(pkg);
      if (version !== undefined) pkg = { ...pkg, version };
    } catch (error) {
      notes.push(`its version is unknown: ${(error as Error).message}`);
    }
  }
  notes.push(...pkg.notes ?? []);
  if (pkg.guessed) notes.push(`took the module's project to be ${pkg.name} (a guess)`);
  const plan: AdoptEntryPlan = { name, file, action: "adopt", via: pkg.via, notes };
  plan.package = specifierOf(pkg);
  const known = findManifest(pkg, options.catalogue);
  if (known) return withMapping(plan, pkg, known, true, options);
  const drafted = findManifest(pkg, options.drafts ?? []);
  if (drafted) {
    plan.notes.push(`uses the draft manifest approved before, ${drafted.target}`);
    return withMapping(plan, pkg, drafted, false, options);
  }
  return await draftPlan(plan, pkg, options);
}

/** The plan of an entry mapped onto a manifest. */
function withMapping(
  plan: AdoptEntryPlan,
  pkg: AdoptPackage,
  target: AdoptManifest,
  catalogue: boolean,
  options: AdoptConfigOptions,
): AdoptEntryPlan {
  const mapping = mapToManifest(pkg, target);
  plan.target = mapping.target;
  plan.catalogue = catalogue;
  plan.params = mapping.params;
  plan.secrets = mapping.secrets;
  plan.notes.push(...mapping.notes);
  if (mapping.problem) {
    plan.action = "leave";
    plan.reason = mapping.problem;
  } else if (mapping.secrets.length > 0) {
    const spec = getClient(options.client);
    const names = mapping.secrets.join(", ");
    const file = spec.secrets === "none" ? options.secretsFile?.(plan.name) : undefined;
    if (spec.secrets !== "none") {
      plan.notes.push(`${names} leave the file: ${spec.secretHint(mapping.secrets)}`);
    } else if (file !== undefined) {
      const problem = options.envFileProblem?.({ manifest: target.manifest, mapping });
      if (problem !== undefined) {
        plan.action = "leave";
        plan.reason = problem;
        return plan;
      }
      plan.envFile = file;
      plan.notes.push(
        `${names} leave the file: ${spec.displayName} cannot reference a secret, so the ` +
          `values go to ${file} (readable only by you) and the entry runs in docker with it, ` +
          "so adopting it needs Docker",
      );
    } else {
      plan.action = "leave";
      plan.reason = `${spec.displayName} cannot reference a secret (${names}), so the values ` +
        `need an env file: ${options.noSecretsFile ?? "give one for them (secretsFile)"}`;
    }
  }
  return plan;
}

/** A package outside the catalogue: a draft from learn, once approved. */
async function draftPlan(
  plan: AdoptEntryPlan,
  pkg: AdoptPackage,
  options: AdoptConfigOptions,
): Promise<AdoptEntryPlan> {
  if (pkg.kind !== "local" && pkg.version === undefined) {
    return { ...plan, action: "leave", reason: `no exact version of ${pkg.name} is known` };
  }
  if (!options.learn) {
    return {
      ...plan,
      action: "leave",
      reason: "it is not in the catalogue and no manifest drafter (learn) is available",
    };
  }
  if (options.dryRun) {
    return {
      ...plan,
      action: "approve",
      reason: "it is not in the catalogue: adopting it drafts its manifest with a learn run (a " +
        "throwaway native sandbox whose accesses Deno's permission broker refuses, whatever " +
        "the isolation) and asks for approval; preview the draft with " +
        learnCommand(plan.package!, pkg),
    };
  }
  let draft: AdoptDraft;
  try {
    draft = await options.learn(plan.package!, { args: pkg.args, env: Object.keys(pkg.env) });
  } catch (error) {
    return { ...plan, action: "leave", reason: `learn failed: ${(error as Error).message}` };
  }
  let file = await freeDraftPath(options.manifestDir, pkg);
  plan.draft = { label: draft.label, text: draft.text, file };
  const approved = options.approve ? await options.approve(plan) : false;
  if (!approved) {
    return {
      ...plan,
      action: "approve",
      reason: "its draft manifest needs approval: review it, then run again with --yes " +
        "(or on a terminal)",
    };
  }
  await Deno.mkdir(options.manifestDir, { recursive: true });
  file = await writeNewDraft(options.manifestDir, pkg, draft.text);
  plan.draft.file = file;
  // The draft maps the entry's own arguments like a catalogue entry would.
  return withMapping(plan, pkg, { target: file, manifest: draft.manifest }, false, options);
}

async function buildFor(
  plan: AdoptEntryPlan,
  value: unknown,
  options: AdoptConfigOptions,
): Promise<ClientEntry> {
  const found = recogniseEntry(value, options.client);
  if (!found.adoptable) throw new TypeError(found.reason);
  const target = plan.catalogue
    ? options.catalogue.find((c) => c.target === plan.target)!
    : { target: plan.target!, manifest: await readDraft(plan) };
  const mapping = mapToManifest(found.package, target);
  return await options.entryFor({
    name: plan.name,
    file: plan.file,
    mapping,
    manifest: target.manifest,
    ...(plan.envFile ? { envFile: plan.envFile } : {}),
  });
}

async function readDraft(plan: AdoptEntryPlan): Promise<Manifest> {
  const { parseManifest } = await import("../policy/manifest_text.ts");
  return parseManifest(await Deno.readTextFile(plan.target!));
}
