/**
 * Tool parameters mirrored into headers (protocol 2026-07-28, `x-mcp-header`): a tool's input
 * schema may name parameters that conforming clients copy into `Mcp-Param-{Name}` headers, for
 * intermediaries to route on. A server that reads the body must check that each such header
 * matches the body (after decoding the base64 sentinel), and that none is missing, so that what
 * an intermediary routed on is what runs. Pure: reads schemas, headers and arguments.
 *
 * @module
 */
import { isObject } from "./_messages.ts";
import { decodeHeaderValue } from "./_protocol_era.ts";

/** One parameter a tool mirrors into a header. */
export interface HeaderParam {
  /** The header's name part: `Mcp-Param-{name}`. */
  name: string;
  /** The chain of `properties` keys from the schema root to the parameter. */
  path: string[];
  /** Its JSON Schema type. */
  type: "string" | "integer" | "boolean";
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** An integer as a header carries it: decimal digits, an optional sign and `.0…` tail. */
const INTEGER = /^-?\d+(\.0+)?$/;

/**
 * The parameters a tool's input schema mirrors into headers. Only properties reached through
 * `properties` keys count; an annotation that breaks the spec's rules (not a header token, a
 * non-primitive or `number` type, a duplicate name) makes the tool invalid.
 *
 * @param inputSchema The tool's `inputSchema`.
 * @returns The parameters, or undefined when an annotation is invalid.
 */
export function headerParamsOf(inputSchema: unknown): HeaderParam[] | undefined {
  const found: HeaderParam[] = [];
  const seen = new Set<string>();
  let valid = true;
  const walk = (schema: Record<string, unknown>, path: string[], depth: number) => {
    if (depth > 32) return;
    const properties = schema.properties;
    if (!isObject(properties)) return;
    for (const [key, property] of Object.entries(properties)) {
      if (!isObject(property)) continue;
      const name = property["x-mcp-header"];
      if (name !== undefined) {
        const type = property.type;
        if (
          typeof name !== "string" || !TOKEN.test(name) || seen.has(name.toLowerCase()) ||
          (type !== "string" && type !== "integer" && type !== "boolean")
        ) {
          valid = false;
          continue;
        }
        seen.add(name.toLowerCase());
        found.push({ name, path: [...path, key], type });
      }
      walk(property, [...path, key], depth + 1);
    }
  };
  if (isObject(inputSchema)) walk(inputSchema, [], 0);
  return valid ? found : undefined;
}

function valueAt(args: unknown, path: string[]): unknown {
  let value = args;
  for (const key of path) {
    if (!isObject(value)) return undefined;
    value = value[key];
  }
  return value;
}

/**
 * Checks a call's `Mcp-Param-*` headers against its arguments.
 *
 * @param headers The request headers.
 * @param params The tool's header parameters ({@linkcode headerParamsOf}).
 * @param args The call's `arguments`.
 * @returns Undefined when they match, else what does not (for a `HeaderMismatch` error).
 */
export function paramHeaderMismatch(
  headers: Headers,
  params: readonly HeaderParam[],
  args: unknown,
): string | undefined {
  for (const param of params) {
    const header = `Mcp-Param-${param.name}`;
    const raw = headers.get(header);
    const value = valueAt(args, param.path);
    const absent = value === undefined || value === null;
    if (absent && raw === null) continue; // neither in the body nor in a header
    if (absent) {
      return `${header} header ${
        JSON.stringify(raw)
      } names a value the body does not have: send the header only with its argument`;
    }
    if (raw === null) return `${header} header is missing; the body has ${JSON.stringify(value)}`;
    const text = decodeHeaderValue(raw);
    const matches = text !== undefined && (
      param.type === "integer"
        ? typeof value === "number" && INTEGER.test(text) && Number(text) === value
        : param.type === "boolean"
        ? text === String(value) && typeof value === "boolean"
        : text === value
    );
    if (!matches) {
      return `${header} header ${JSON.stringify(raw)} does not match the body's ${
        JSON.stringify(value)
      }`;
    }
  }
  return undefined;
}
