/**
 * The building block of manifest validation: typed reads of JSON values that record a problem,
 * with its JSON path, instead of throwing.
 *
 * @module
 */
import type { ManifestProblem } from "./manifest.ts";

/** A parsed JSON value. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Collects problems while reading a manifest's values, each check returning what is valid. */
export class Checker {
  /** Every problem found so far. */
  problems: ManifestProblem[] = [];
  add(path: string, message: string): void {
    this.problems.push({ path, message });
  }
  object(value: Json | undefined, path: string): Record<string, Json> | undefined {
    if (value === undefined) return undefined;
    if (value === null || typeof value !== "object" || Array.isArray(value)) {
      this.add(path, `must be an object, got ${describe(value)}`);
      return undefined;
    }
    return value;
  }
  keys(obj: Record<string, Json>, path: string, allowed: readonly string[]): void {
    for (const key of Object.keys(obj)) {
      if (!allowed.includes(key)) {
        this.add(
          join(path, key),
          `unknown field "${key}"; allowed fields are ${allowed.map((k) => `"${k}"`).join(", ")}`,
        );
      }
    }
  }
  string(value: Json | undefined, path: string, required: boolean): string | undefined {
    if (value === undefined) {
      if (required) this.add(path, "is required");
      return undefined;
    }
    if (typeof value !== "string") {
      this.add(path, `must be a string, got ${describe(value)}`);
      return undefined;
    }
    return value;
  }
  boolean(value: Json | undefined, path: string): boolean | undefined {
    if (value === undefined) return undefined;
    if (typeof value !== "boolean") {
      this.add(path, `must be true or false, got ${describe(value)}`);
      return undefined;
    }
    return value;
  }
  strings(value: Json | undefined, path: string): string[] {
    if (value === undefined) return [];
    if (!Array.isArray(value)) {
      this.add(path, `must be a list of strings, got ${describe(value)}`);
      return [];
    }
    const out: string[] = [];
    value.forEach((item, i) => {
      if (typeof item !== "string") {
        this.add(`${path}[${i}]`, `must be a string, got ${describe(item)}`);
      } else out.push(item);
    });
    return out;
  }
}

/** Appends a key to a JSON path. */
export function join(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

function describe(value: Json | undefined): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "an object";
  return `${typeof value} ${JSON.stringify(value)}`;
}
