import assert from "node:assert/strict";
import { parseManifest } from "../policy/manifest_text.ts";
import { searchManifests } from "./search.ts";

function manifest(name: string, description: string, extra: Record<string, unknown> = {}) {
  return parseManifest(JSON.stringify({
    name,
    description,
    package: `npm:${name}@1.0.0`,
    ...extra,
  }));
}

const entries = [
  manifest("github", "Repositories and issues", { permissions: { net: ["api.github.com"] } }),
  manifest("gitlab", "Merge requests and issues", { homepage: "https://gitlab.com" }),
  manifest("memory", "A knowledge graph kept in one file"),
  manifest("git-tools", "Local repositories"),
];

function names(words: string[]): string[] {
  return searchManifests(entries, words).map((m) => m.name);
}

Deno.test("searchManifests() with no words returns everything, by name", () => {
  assert.deepEqual(names([]), ["git-tools", "github", "gitlab", "memory"]);
  assert.deepEqual(names(["", "  "]), ["git-tools", "github", "gitlab", "memory"]);
});

Deno.test("searchManifests() ranks an exact name above a partial name above other fields", () => {
  assert.deepEqual(names(["github"]), ["github"]);
  assert.deepEqual(names(["git"]), ["git-tools", "github", "gitlab"]);
  assert.deepEqual(names(["repositories"]), ["git-tools", "github"]);
  assert.deepEqual(names(["memory"]), ["memory"]);
});

Deno.test("searchManifests() needs every word, in any letter case, split on spaces", () => {
  assert.deepEqual(names(["ISSUES"]), ["github", "gitlab"]);
  assert.deepEqual(names(["issues merge"]), ["gitlab"]);
  assert.deepEqual(names(["issues", "graph"]), []);
});

Deno.test("searchManifests() searches the package, homepage and granted hosts", () => {
  assert.deepEqual(names(["api.github.com"]), ["github"]);
  assert.deepEqual(names(["https://gitlab"]), ["gitlab"]);
  assert.deepEqual(names(["npm:memory@"]), ["memory"]);
});
