/**
 * Sample arguments for a tool, from its input schema, so a learn run can call every tool once
 * and see what it reaches for (hosts, files, programs) without the user writing calls. The run
 * is a throwaway sandbox, so a call acts on scratch folders only.
 *
 * @module
 */

/** What a sample may refer to. */
export interface ProbeContext {
  /** A path to use for arguments that name files or folders (a scratch folder). */
  path: string;
}

/** The JSON Schema subset read here. */
interface Schema {
  type?: string | string[];
  enum?: unknown[];
  const?: unknown;
  default?: unknown;
  examples?: unknown[];
  minimum?: number;
  exclusiveMinimum?: number;
  minLength?: number;
  format?: string;
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  minItems?: number;
  anyOf?: Schema[];
  oneOf?: Schema[];
}

const PATH_NAME = /(^|_|[a-z])(path|file|dir|directory|folder|root|filename)s?$/i;
const URL_NAME = /(url|uri|link|href|endpoint)s?$/i;
const MAX_DEPTH = 4;
/** Longest sample string: a schema's `minLength` is the server's to choose. */
const MAX_STRING = 256;
/** Most items in a sample array. */
const MAX_ITEMS = 3;

/** The hosts learn's own sample values name (a URL, an e-mail address). */
export const SAMPLE_HOSTS: readonly string[] = ["example.com"];

/**
 * Builds arguments that satisfy a tool's input schema: its required properties only, each the
 * schema's own example, default or first allowed value when it gives one, else a plain value of
 * the type (a scratch path for names that look like paths, an example URL for URLs). Bounded
 * whatever the schema says: strings at 256 characters, arrays at 3 items, 4 levels deep.
 *
 * @param schema The tool's `inputSchema`.
 * @param context The scratch path to use.
 * @returns The arguments object.
 *
 * @example
 * ```ts
 * import { probeArguments } from "./_probe_arguments.ts";
 * const schema = {
 *   type: "object",
 *   properties: { query: { type: "string" }, count: { type: "number", minimum: 1 } },
 *   required: ["query", "count"],
 * };
 * console.log(probeArguments(schema, { path: "/tmp/x" })); // { query: "mcprun1", count: 1 }
 * ```
 */
export function probeArguments(schema: unknown, context: ProbeContext): Record<string, unknown> {
  const value = sample(schema as Schema, "", context, 0);
  return value && typeof value === "object" && !Array.isArray(value)
    ? value as Record<string, unknown>
    : {};
}

function sample(
  schema: Schema | undefined,
  name: string,
  context: ProbeContext,
  depth: number,
): unknown {
  if (!schema || typeof schema !== "object" || depth > MAX_DEPTH) return null;
  if ("const" in schema) return schema.const;
  if (Array.isArray(schema.examples) && schema.examples.length) return schema.examples[0];
  if ("default" in schema) return schema.default;
  if (Array.isArray(schema.enum) && schema.enum.length) return schema.enum[0];
  const alternative = schema.anyOf?.[0] ?? schema.oneOf?.[0];
  const type = Array.isArray(schema.type) ? schema.type.find((t) => t !== "null") : schema.type;
  if (!type && alternative) return sample(alternative, name, context, depth + 1);
  switch (type ?? (schema.properties ? "object" : "string")) {
    case "object": {
      // `required` is the server's: anything but a list of names is ignored.
      const required = Array.isArray(schema.required)
        ? schema.required.filter((k): k is string => typeof k === "string")
        : [];
      const properties = schema.properties && typeof schema.properties === "object"
        ? schema.properties
        : {};
      return Object.fromEntries(
        required.map((key) => [
          key,
          sample(
            Object.hasOwn(properties, key) ? properties[key] : undefined,
            key,
            context,
            depth + 1,
          ),
        ]),
      );
    }
    case "array": {
      const count = Math.min(finite(schema.minItems, 0), MAX_ITEMS);
      const item: unknown = sample(schema.items, name.replace(/s$/, ""), context, depth + 1);
      return Array.from({ length: count || (PATH_NAME.test(name) ? 1 : 0) }, () => item);
    }
    case "number":
    case "integer":
      return Math.max(finite(schema.minimum, 1), finite(schema.exclusiveMinimum, 0) + 1);
    case "boolean":
      return false;
    case "null":
      return null;
    default:
      return sampleString(schema, name, context);
  }
}

function sampleString(schema: Schema, name: string, context: ProbeContext): string {
  if (schema.format === "uri" || schema.format === "url" || URL_NAME.test(name)) {
    return "https://example.com/";
  }
  if (schema.format === "date-time") return "2026-01-01T00:00:00Z";
  if (schema.format === "date") return "2026-01-01";
  if (schema.format === "email") return "user@example.com";
  if (PATH_NAME.test(name)) return context.path;
  // Letters and digits only: ids and keys are often checked to be alphanumeric.
  return "mcprun1".padEnd(Math.min(finite(schema.minLength, 0), MAX_STRING), "0");
}

/** A number the schema gives, or the fallback when it gives none (or not a number). */
function finite(value: unknown, fallback: number): number {
  return typeof value === "number" && Number.isFinite(value) ? value : fallback;
}
