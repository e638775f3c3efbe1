/**
 * The servers the gVisor benchmark (tests/bench_gvisor.ts) starts under each isolation, and the
 * tools it calls on them: registry entries with their data folders laid out, and each tool with
 * how much file work one call does, so a table can tell syscall-heavy calls from the rest.
 *
 * A server with `net` grants joins by one more entry whose `setup` starts what it talks to (a
 * faked API in a namespace) and returns the extra CLI arguments and a `cleanup`.
 *
 * @module
 */
import { join } from "node:path";

/** How much file work one call of a tool does. */
export type ToolWork = "no file I/O" | "a few file syscalls" | "hundreds of file syscalls";

/** One tool the benchmark calls, with its arguments. */
export interface BenchTool {
  /** The tool's name. */
  name: string;
  /** Its arguments. */
  arguments: Record<string, unknown>;
  /** How much file work one call does. */
  work: ToolWork;
}

/** A server laid out for one benchmark run. */
export interface BenchServerSetup {
  /** The arguments after the server's name: `-p` parameters and any other option. */
  args: string[];
  /** The tools called, with arguments naming the laid-out data. */
  tools: BenchTool[];
  /** Undoes what `setup` started (the data folder itself is removed by the caller). */
  cleanup?: () => Promise<void>;
}

/** A registry server the benchmark starts. */
export interface BenchServer {
  /** The registry entry. */
  name: string;
  /** Lays out its data in `dir` (world-writable, for the container's user). */
  setup(dir: string): Promise<BenchServerSetup>;
}

/** Files per folder and folders in the tree `directory_tree` walks. */
const TREE = { folders: 10, files: 10 };

/**
 * The servers measured: filesystem (a file to read and a tree of 110 entries to walk) and memory
 * (a graph of 50 entities in its file).
 */
export const BENCH_SERVERS: BenchServer[] = [
  {
    name: "filesystem",
    setup: async (dir) => {
      await Deno.writeTextFile(join(dir, "a.txt"), "a line of text\n".repeat(64));
      for (let f = 0; f < TREE.folders; f++) {
        const folder = join(dir, "tree", `d${f}`);
        await Deno.mkdir(folder, { recursive: true });
        for (let i = 0; i < TREE.files; i++) {
          await Deno.writeTextFile(join(folder, `f${i}.txt`), "x");
        }
      }
      return {
        args: ["-p", `dirs=${dir}`],
        tools: [
          { name: "list_allowed_directories", arguments: {}, work: "no file I/O" },
          {
            name: "read_text_file",
            arguments: { path: join(dir, "a.txt") },
            work: "a few file syscalls",
          },
          {
            name: "directory_tree",
            arguments: { path: join(dir, "tree") },
            work: "hundreds of file syscalls",
          },
        ],
      };
    },
  },
  {
    name: "memory",
    setup: async (dir) => {
      const lines = Array.from({ length: 50 }, (_, i) =>
        JSON.stringify({
          type: "entity",
          name: `entity-${i}`,
          entityType: "bench",
          observations: [`observation ${i}`],
        }));
      await Deno.writeTextFile(join(dir, "memory.jsonl"), lines.join("\n"));
      await Deno.chmod(join(dir, "memory.jsonl"), 0o666);
      return {
        args: ["-p", `dir=${dir}`],
        tools: [{ name: "read_graph", arguments: {}, work: "a few file syscalls" }],
      };
    },
  },
];
