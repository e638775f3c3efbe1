import assert from "node:assert/strict";
import { LineSplitter, type SplitLine } from "./line_splitter.ts";

const enc = (s: string) => new TextEncoder().encode(s);

async function split(chunks: Uint8Array[], max: number): Promise<SplitLine[]> {
  return await Array.fromAsync(ReadableStream.from(chunks).pipeThrough(new LineSplitter(max)));
}

Deno.test("LineSplitter splits lines across chunk boundaries and strips CR", async () => {
  const out = await split([enc("ab"), enc("c\r\nd"), enc("e\nf")], 100);
  assert.deepEqual(
    out.map((l) => l.kind === "line" ? new TextDecoder().decode(l.bytes) : "!"),
    ["abc", "de", "f"],
  );
});

Deno.test("LineSplitter drops an oversized line, keeping its size and edges", async () => {
  const out = await split([enc("x".repeat(50)), enc("y".repeat(300) + '"id":7}\nok\n')], 100);
  assert.equal(out.length, 2);
  assert.equal(out[0].kind, "oversized");
  if (out[0].kind !== "oversized") return;
  assert.equal(out[0].size, 357);
  assert.ok(new TextDecoder().decode(out[0].head).startsWith("xxxxx"));
  assert.ok(new TextDecoder().decode(out[0].tail).endsWith('"id":7}'));
  assert.equal(out[1].kind === "line" && new TextDecoder().decode(out[1].bytes), "ok");
});

Deno.test("LineSplitter holds a bounded amount while streaming a huge line", async () => {
  const chunk = new Uint8Array(1 << 20).fill(65);
  let held = 0;
  const splitter = new LineSplitter(1 << 16);
  const source = new ReadableStream<Uint8Array>({
    start(controller) {
      for (let i = 0; i < 64; i++) controller.enqueue(chunk);
      controller.enqueue(enc("\n"));
      controller.close();
    },
  });
  for await (const piece of source.pipeThrough(splitter)) {
    held = piece.kind === "oversized" ? piece.head.length + piece.tail.length : -1;
    assert.equal(piece.kind === "oversized" && piece.size, 64 << 20);
  }
  assert.ok(held > 0 && held <= 512);
});
