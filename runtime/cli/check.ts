/**
 * The `check` command of the CLI: manifests checked as `run` would check them, nothing started.
 *
 * @module
 */
import { ManifestError } from "../policy/manifest.ts";
import { manifestGrantProblems } from "../policy/resolve.ts";
import { loadManifest } from "../registry/load.ts";
import { type CliContext, type CommandLine, EXIT, expectArgs } from "./context.ts";

/**
 * `mcp-run check <manifest>…`: validates manifests and applies the grant policy `run` applies,
 * to what each manifest decides by itself; exits 3 when one fails.
 *
 * @param ctx CLI context.
 * @param line The manifest files.
 * @returns The exit code.
 * @throws {UsageError} When given no file.
 */
export async function checkCommand(ctx: CliContext, line: CommandLine): Promise<number> {
  expectArgs(line.rest, 1, Infinity, "give one or more manifest files");
  const files = line.rest;
  const results: { file: string; ok: boolean; problems: unknown[] }[] = [];
  for (const file of files) {
    try {
      const loaded = await loadManifest(file.includes("/") ? file : `./${file}`);
      // The grant policy run applies, to what the manifest decides by itself.
      const { home, cacheRoot, isolation, trust } = ctx.target;
      const problems = manifestGrantProblems(loaded.manifest, {
        home,
        cacheRoot,
        isolation,
        trust,
      });
      if (problems.length > 0) throw new ManifestError(problems, loaded.file);
      results.push({ file, ok: true, problems: [] });
    } catch (error) {
      if (!(error instanceof ManifestError)) throw error;
      results.push({ file, ok: false, problems: error.problems });
      if (!ctx.json) ctx.printError(error.message);
    }
  }
  if (ctx.json) ctx.print(JSON.stringify(results, null, 2));
  else for (const r of results) if (r.ok) ctx.print(`${r.file}: ok`);
  return results.every((r) => r.ok) ? EXIT.ok : EXIT.invalid;
}
