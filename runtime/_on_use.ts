/**
 * Modules loaded only when used. Deno reads every module that a literal `import("…")` names,
 * and every module those import, before the program starts, even when that import never runs:
 * every `mcp-run run` would read the HTTP bridge, the client writers and their npm packages so.
 * A module imported by a computed URL is read when the import runs.
 *
 * Each such import names its module's type too (`as Promise<typeof import("./x.ts")>`): besides
 * typing it, that keeps the module in the graph `deno cache` fetches, so that a launcher cached
 * from JSR and started with `--cached-only` finds it (a test checks every use).
 *
 * @module
 */

/**
 * The URL to import a module by when it is used.
 *
 * @param path The module's path, relative to `base`.
 * @param base The importing module's `import.meta.url`.
 * @returns The module's URL, for `import()`; give the result the module's type
 *   (`as typeof import("./x.ts")`), which the type checker reads and Deno does not load.
 *
 * @example
 * ```ts
 * import { onUse } from "./_on_use.ts";
 * type PathModule = typeof import("./_path.ts");
 * const path = await (import(onUse("./_path.ts", import.meta.url)) as Promise<PathModule>);
 * console.log(path.posixPath.join("a", "b")); // a/b
 * ```
 */
export function onUse(path: string, base: string): string {
  return new URL(path, base).href;
}
