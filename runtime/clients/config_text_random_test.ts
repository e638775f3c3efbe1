// Generated-input tests: many random existing configurations, each with an install and an
// uninstall; everything but the entry must stay as it was, and every result must parse.
import assert from "node:assert/strict";
import { isDeepStrictEqual } from "node:util";
import { findNodeAtLocation, getNodeValue, parseTree } from "jsonc-parser";
import { isMap, isSeq, type Node, type Pair, parseDocument } from "yaml";
import { lineEndAfter, lineStart } from "./_text.ts";
import { clientEntry } from "./client_entry.ts";
import { readClientEntry, withClientEntry, withoutClientEntry } from "./config_text.ts";
import { EntryConflictError } from "./entry_conflict_error.ts";
import { CLIENTS } from "./registry.ts";
import type { ClientSpec } from "./types.ts";
import type { LaunchCommand } from "./types.ts";

const RUNS = Number(Deno.env.get("CLIENT_FUZZ_RUNS") ?? 150);
const NAME = "srv";

/** Seeded PRNG (mulberry32), so a failure names a seed that reproduces it. */
function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6D2B79F5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)];
  const chance = (p: number) => next() < p;
  return { next, int, pick, chance };
}
type Rng = ReturnType<typeof prng>;

const WORDS = ["alpha", "beta", "gamma", "x", "y-z", "a_b", "über", "日本", "k9", "deep.dot"];
const STRINGS = [
  "",
  "plain",
  "with space",
  'quote " inside',
  "back\\slash",
  "line\nbreak",
  "tab\there",
  "emoji 🦕",
  "${workspaceFolder}/x",
  "# not a comment",
  "key: value",
  "- dash",
  "123",
  "true",
  "null",
  "\u2028sep",
];

function randomKey(r: Rng, taken: Set<string>): string {
  for (;;) {
    const key = r.pick(WORDS) + (r.chance(0.5) ? String(r.int(100)) : "");
    if (!taken.has(key) && key !== NAME) {
      taken.add(key);
      return key;
    }
  }
}

function randomValue(r: Rng, depth: number): unknown {
  const kind = r.int(depth > 2 ? 4 : 6);
  switch (kind) {
    case 0:
      return r.pick(STRINGS);
    case 1:
      return r.pick([0, 1, -7, 3.25, 1e21, 42]);
    case 2:
      return r.chance(0.5);
    case 3:
      return null;
    case 4:
      return Array.from({ length: r.int(4) }, () => randomValue(r, depth + 1));
    default: {
      const obj: Record<string, unknown> = {};
      const taken = new Set<string>();
      for (let i = r.int(4); i > 0; i--) obj[randomKey(r, taken)] = randomValue(r, depth + 1);
      return obj;
    }
  }
}

function randomEntry(r: Rng): LaunchCommand {
  const arg = () => r.pick(["run", "-A", "--allow-read=/tmp/a b", "npm:x@1.2.3", "ü", '"q"', "--"]);
  const env: Record<string, string> = {};
  for (let i = r.int(3); i > 0; i--) env[`VAR_${i}`] = r.pick(["1", "/x/y", "a=b", "sp ace"]);
  const secrets = Array.from({ length: r.int(3) }, (_, i) => ({
    name: `SECRET_${i}`,
    description: r.pick(["Token", "API key: 'x'"]),
  }));
  const args = Array.from({ length: 1 + r.int(5) }, arg);
  return { command: r.pick(["deno", "docker", "/usr/bin/deno"]), args, env, secrets };
}

// ---------------------------------------------------------------------------------------
// JSONC

interface JsonStyle {
  unit: string;
  eol: string;
  colon: string;
  trailing: boolean;
  comments: boolean;
}

function printJson(r: Rng, value: unknown, s: JsonStyle, indent: string, oneLine: boolean): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value);
  const isArray = Array.isArray(value);
  const entries = isArray
    ? (value as unknown[]).map((v) => [undefined, v] as const)
    : Object.entries(value as Record<string, unknown>);
  const [open, close] = isArray ? ["[", "]"] : ["{", "}"];
  if (entries.length === 0) {
    return r.chance(0.3) && !oneLine ? open + s.eol + indent + close : open + close;
  }
  const member = ([k, v]: readonly [string | undefined, unknown], inner: string, line: boolean) =>
    (k === undefined ? "" : JSON.stringify(k) + s.colon) + printJson(r, v, s, inner, line);
  if (oneLine || r.chance(0.3)) {
    const sep = r.pick([",", ", "]);
    const parts = entries.map((e) => member(e, indent, true));
    const block = s.comments && r.chance(0.3) ? " /* c */ " : "";
    return open + block + parts.join(sep) + (s.trailing && r.chance(0.5) ? "," : "") + close;
  }
  const inner = indent + s.unit;
  let out = open;
  entries.forEach((e, i) => {
    out += s.eol;
    if (s.comments && r.chance(0.2)) out += inner + "// about " + i + s.eol;
    if (r.chance(0.1)) out += s.eol;
    const last = i === entries.length - 1;
    out += inner + member(e, inner, false) + (!last || s.trailing ? "," : "");
    if (s.comments && r.chance(0.2)) out += " // end " + i;
  });
  if (s.comments && r.chance(0.15)) out += s.eol + inner + "/* closing\n   block */";
  return out + s.eol + indent + close;
}

type Existing = "absent" | "managed" | "foreign";

function jsonCase(r: Rng, spec: ClientSpec) {
  const style: JsonStyle = {
    unit: r.pick(["  ", "    ", "\t"]),
    eol: r.pick(["\n", "\n", "\r\n"]),
    colon: r.pick([": ", ":", " : "]),
    trailing: r.chance(0.4),
    comments: r.chance(0.7),
  };
  const root: Record<string, unknown> = {};
  const taken = new Set<string>([spec.containerKey, "inputs"]);
  for (let i = r.int(4); i > 0; i--) root[randomKey(r, taken)] = randomValue(r, 1);
  const containerKind = r.pick(["missing", "empty", "full", "full", "full"]);
  const existing: Existing = containerKind === "full"
    ? r.pick(["absent", "absent", "managed", "foreign"])
    : "absent";
  if (containerKind !== "missing") {
    const servers: Record<string, unknown> = {};
    const names = new Set<string>();
    if (containerKind === "full") {
      for (let i = 1 + r.int(3); i > 0; i--) servers[randomKey(r, names)] = randomValue(r, 2);
    }
    if (existing === "managed") {
      servers[NAME] = { command: "old", args: ["x"], [spec.envKey]: { MCP_RUN_MANAGED: "1" } };
    } else if (existing === "foreign") servers[NAME] = { command: "npx", args: ["-y", "s"] };
    root[spec.containerKey] = servers;
  }
  if (spec.secrets === "input" && r.chance(0.5)) {
    root.inputs = [{ type: "promptString", id: "other", description: "o", password: true }];
  }
  const keys = Object.keys(root).sort(() => r.next() - 0.5);
  const ordered = Object.fromEntries(keys.map((k) => [k, root[k]]));
  const header = style.comments && r.chance(0.5) ? "// header" + style.eol : "";
  const text = header + printJson(r, ordered, style, "", false) + (r.chance(0.7) ? style.eol : "");
  return { text, existing, containerKind };
}

function jsonValue(text: string): Record<string, unknown> {
  const root = parseTree(text.replace(/^\uFEFF/, ""), [], { allowTrailingComma: true });
  return JSON.parse(JSON.stringify(getNodeValue(root!)));
}

// ---------------------------------------------------------------------------------------
// YAML

function yamlScalar(r: Rng, v: unknown): string {
  if (typeof v === "string") {
    if (/^[a-z][a-z0-9_-]*$/i.test(v) && !/^(true|false|null|yes|no|on|off|y|n)$/i.test(v)) {
      return r.pick([v, `'${v}'`, JSON.stringify(v)]);
    }
    return !/[\n\t\u2028]/.test(v) && r.chance(0.5)
      ? `'${v.replaceAll("'", "''")}'`
      : JSON.stringify(v);
  }
  return v === null ? r.pick(["null", "~"]) : String(v);
}

function printYaml(r: Rng, value: unknown, indent: string, unit: string, block = false): string {
  // Returns text that starts right after "key:" (a space and a scalar, or a line break and a
  // block), ending with a line break.
  if (value === null || typeof value !== "object") return " " + yamlScalar(r, value) + "\n";
  if (Array.isArray(value)) {
    if (value.length === 0 || (r.chance(0.3) && value.every((v) => typeof v !== "object"))) {
      return " [" + value.map((v) => yamlScalar(r, v)).join(", ") + "]\n";
    }
    const dash = r.chance(0.5) ? indent + unit : indent;
    return "\n" + value.map((v) => {
      if (v !== null && typeof v === "object") {
        return dash + "-" +
          (Array.isArray(v) ? " " + JSON.stringify(v) + "\n" : " " + JSON.stringify(v) + "\n");
      }
      return dash + "- " + yamlScalar(r, v) + (r.chance(0.2) ? "  # item" : "") + "\n";
    }).join("");
  }
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length === 0) return " {}\n";
  if (!block && r.chance(0.1)) return " " + JSON.stringify(value) + "\n";
  const inner = indent + unit;
  return "\n" + entries.map(([k, v]) => {
    const comment = r.chance(0.15) ? inner + "# about " + k + "\n" : "";
    return comment + inner + JSON.stringify(k) + ":" + printYaml(r, v, inner, unit);
  }).join("");
}

function yamlCase(r: Rng, spec: ClientSpec) {
  const unit = r.pick(["  ", "    "]);
  const containerKind = r.pick(["missing", "empty", "null", "full", "full", "full"]);
  const existing: Existing = containerKind === "full"
    ? r.pick(["absent", "absent", "managed", "managed", "foreign"])
    : "absent";
  const managed = spec.layout === "file-list"
    ? { name: NAME, command: "old", env: { MCP_RUN_MANAGED: "1" } }
    : { cmd: "old", args: ["x"], envs: { MCP_RUN_MANAGED: "1" } };
  const foreign = spec.layout === "file-list"
    ? { name: NAME, command: "npx" }
    : { cmd: "npx", args: ["-y"] };
  let text = r.chance(0.5) ? "# config\n" : "";
  const taken = new Set<string>([spec.containerKey]);
  const top = () => {
    const key = randomKey(r, taken);
    return JSON.stringify(key) + ":" + printYaml(r, randomValue(r, 1), "", unit) +
      (r.chance(0.2) ? "\n" : "");
  };
  for (let i = r.int(3); i > 0; i--) text += top();
  if (spec.layout === "file-list") text = "name: Blocks\nversion: 1.0.0\nschema: v1\n" + text;
  if (containerKind !== "missing") {
    text += spec.containerKey + ":";
    if (containerKind === "empty") text += spec.layout === "file-list" ? " []\n" : " {}\n";
    else if (containerKind === "null") text += "\n";
    else {
      const items: [string, unknown][] = [];
      const names = new Set<string>();
      for (let i = 1 + r.int(3); i > 0; i--) {
        const name = randomKey(r, names);
        const value = randomValue(r, 2);
        items.push([
          name,
          value !== null && typeof value === "object" && !Array.isArray(value) ? value : { value },
        ]);
      }
      if (existing !== "absent") {
        items.splice(r.int(items.length + 1), 0, [
          NAME,
          existing === "managed" ? managed : foreign,
        ]);
      }
      if (spec.layout === "file-list") {
        text += "\n" + items.map(([name, v]) => {
          // Keys at the column after "- ": print at "  " + unit, then put the dash on the
          // first line.
          const body = printYaml(r, { name, ...(v as object) }, "  ", unit, true);
          return body.replace(/^\n */, unit + "- ");
        }).join("");
      } else {
        text += printYaml(r, Object.fromEntries(items), "", unit, true);
      }
    }
  }
  for (let i = r.int(2); i > 0; i--) text += top();
  if (r.chance(0.3)) text += "# end\n";
  if (r.chance(0.2)) text = text.replaceAll("\n", "\r\n");
  return { text, existing, containerKind };
}

// ---------------------------------------------------------------------------------------

function expectedAfter(
  spec: ClientSpec,
  before: Record<string, unknown>,
  value: Record<string, unknown>,
): Record<string, unknown> {
  if (spec.layout === "file-list") {
    const list = (before[spec.containerKey] as Record<string, unknown>[] | null) ?? [];
    const i = list.findIndex((x) => x?.name === NAME);
    return { ...before, [spec.containerKey]: i >= 0 ? list.with(i, value) : [...list, value] };
  }
  const map = (before[spec.containerKey] as Record<string, unknown> | null) ?? {};
  return { ...before, [spec.containerKey]: { ...map, [NAME]: value } };
}

/** Range of the existing entry's text in `before`, to prove nothing around it moved. */
function entryRange(spec: ClientSpec, text: string): [number, number] {
  if (spec.format === "jsonc") {
    const node = findNodeAtLocation(parseTree(text, [], { allowTrailingComma: true })!, [
      spec.containerKey,
      NAME,
    ])!;
    return [node.offset, node.offset + node.length];
  }
  const doc = parseDocument(text);
  const container = doc.get(spec.containerKey, true);
  if (isSeq(container)) {
    const item = (container.items as Node[]).find((it) => isMap(it) && it.get("name") === NAME)!;
    // The item's lines start at the last "- " line before its content.
    const dashes = [...text.slice(0, item.range![0]).matchAll(/^[ \t]*-[ \t]/gm)];
    return [dashes[dashes.length - 1].index!, lineEndAfter(text, item.range![1])];
  }
  assert.ok(isMap(container));
  const pair = container.items.find((p) => (p.key as { value: unknown }).value === NAME) as Pair;
  return [
    lineStart(text, (pair.key as Node).range![0]),
    lineEndAfter(text, (pair.value as Node).range![1]),
  ];
}

for (const spec of CLIENTS) {
  Deno.test(`withClientEntry() keeps everything else in ${RUNS} random ${spec.id} files`, () => {
    let roundTrips = 0;
    let replaced = 0;
    for (let run = 0; run < RUNS; run++) {
      const seed = 1000 * (CLIENTS.indexOf(spec) + 1) + run;
      const r = prng(seed);
      const { text, existing, containerKind } = spec.format === "jsonc"
        ? jsonCase(r, spec)
        : yamlCase(r, spec);
      const value = (t: string) =>
        spec.format === "jsonc"
          ? jsonValue(t)
          : (parseDocument(t).toJS() ?? {}) as Record<string, unknown>;
      const context = `seed ${seed}, ${existing}, container ${containerKind}:\n${text}`;
      try {
        const before = value(text);
        const entry = clientEntry(spec, randomEntry(r), { name: NAME });
        if (existing === "foreign") {
          assert.throws(() => withClientEntry(text, entry), EntryConflictError);
          const forced = withClientEntry(text, entry, { force: true });
          assert.deepEqual(readClientEntry(forced, spec.id, NAME), entry.value);
          continue;
        }
        const after = withClientEntry(text, entry);
        const parsed = value(after);
        const { inputs: _a, ...rest } = parsed;
        const { inputs: _b, ...expected } = expectedAfter(spec, before, entry.value);
        assert.ok(isDeepStrictEqual(rest, expected), "install changed other values");
        assert.equal(withClientEntry(after, entry), after, "second install changed the text");
        if (existing === "managed") {
          // Without VS Code's inputs (a second edit), only the old entry's text changes.
          const entryOnly = withClientEntry(text, { ...entry, inputs: [] });
          const [from, to] = entryRange(spec, text);
          assert.ok(entryOnly.startsWith(text.slice(0, from)), "text before the entry changed");
          assert.ok(entryOnly.endsWith(text.slice(to)), "text after the entry changed");
          replaced++;
        }
        const removed = withoutClientEntry(after, { client: spec.id, name: NAME });
        if (removed === null) {
          assert.equal(spec.layout, "file-list");
          continue;
        }
        const left = value(removed);
        const { [NAME]: _gone, ...others } = (before[spec.containerKey] ?? {}) as Record<
          string,
          unknown
        >;
        if (spec.layout !== "file-list") {
          assert.ok(isDeepStrictEqual(left[spec.containerKey], others), "uninstall lost entries");
        }
        const createdInputs = entry.inputs.length > 0 && !("inputs" in before);
        if (existing === "absent" && containerKind === "full" && !createdInputs) {
          assert.equal(removed, text, "install + uninstall is not the identity");
          roundTrips++;
        }
      } catch (error) {
        throw new Error(`${(error as Error).message}\n${context}`, { cause: error });
      }
    }
    // The generator must actually exercise the byte-for-byte paths.
    assert.ok(roundTrips > RUNS / 10, `only ${roundTrips} round trips`);
    assert.ok(replaced > RUNS / 10, `only ${replaced} replacements`);
  });
}
