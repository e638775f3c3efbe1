// Helper for the leftover test: a writer of <file> that holds its lock and has written its
// temporary files (for the file and its backup) when it prints "ready"; the test SIGKILLs it.
// Usage: killed_writer.ts <file>
import { basename, dirname, join } from "node:path";
import { withFileLock } from "../../../runtime/clients/_atomic_file.ts";

const [file] = Deno.args;
await withFileLock(file, async () => {
  for (const name of [`.${basename(file)}.0a1b2c3d.tmp`, `.${basename(file)}.bak.4e5f6a7b.tmp`]) {
    await Deno.writeTextFile(join(dirname(file), name), '{"mcpServers": {"half');
  }
  console.log("ready");
  await new Promise(() => setInterval(() => {}, 1000));
});
