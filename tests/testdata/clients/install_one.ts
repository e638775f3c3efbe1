// Helper for the concurrent-install test: installs one Cursor entry into a shared file.
// Usage: install_one.ts <file> <name> <write|locked-slow|unlocked-slow> <go-file>
// It waits for <go-file> to exist so that all helpers start together. The slow modes sleep
// 150 ms between reading and writing, widening the window in which writers can collide.
import { updateFile, writeAtomic } from "../../../runtime/clients/_atomic_file.ts";
import { clientEntry } from "../../../runtime/clients/client_entry.ts";
import { withClientEntry } from "../../../runtime/clients/config_text.ts";
import { writeClientConfig } from "../../../runtime/clients/write_client_config.ts";

const [file, name, mode, go] = Deno.args;
const entry = clientEntry(
  "cursor",
  { command: "deno", args: ["run", name], env: {}, secrets: [] },
  { name },
);
const sleep = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

while (!(await Deno.stat(go).then(() => true, () => false))) sleep(5);

if (mode === "write") {
  await writeClientConfig(entry, { file });
} else if (mode === "locked-slow") {
  await updateFile(file, (text) => {
    sleep(150);
    return withClientEntry(text, entry);
  });
} else {
  const text = await Deno.readTextFile(file);
  sleep(150);
  await writeAtomic(file, withClientEntry(text, entry));
}
