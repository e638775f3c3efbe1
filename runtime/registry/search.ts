/**
 * Searching registry entries by words.
 *
 * @module
 */
import type { Manifest } from "../policy/manifest.ts";

/**
 * Finds the manifests that match every word (case-insensitive) in their name, description,
 * package, homepage or granted hosts, best first: name matches rank above the rest.
 *
 * @param manifests The entries to search.
 * @param words Search words; empty matches everything.
 * @returns Matching manifests, best first, then by name.
 * @example
 * ```ts
 * import { parseManifest } from "../policy/manifest_text.ts";
 * import { searchManifests } from "./search.ts";
 * const m = parseManifest(`{"name": "github", "description": "Repos and issues",
 *   "package": "npm:gh@1.0.0", "permissions": {"net": ["api.github.com"]}}`);
 * console.log(searchManifests([m], ["issues"]).length); // 1
 * ```
 */
export function searchManifests<T extends Manifest>(manifests: T[], words: string[]): T[] {
  const terms = words.flatMap((w) => w.toLowerCase().split(/\s+/)).filter((w) => w !== "");
  const scored: [T, number][] = [];
  for (const m of manifests) {
    const name = m.name.toLowerCase();
    const rest = [m.description, m.package, m.homepage ?? "", ...m.permissions.net].join(" ")
      .toLowerCase();
    let score = 0;
    let all = true;
    for (const term of terms) {
      if (name === term) score += 10;
      else if (name.includes(term)) score += 5;
      else if (rest.includes(term)) score += 1;
      else all = false;
    }
    if (all) scored.push([m, score]);
  }
  return scored.sort((a, b) => b[1] - a[1] || a[0].name.localeCompare(b[0].name)).map(([m]) => m);
}
