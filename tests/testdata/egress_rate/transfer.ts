// Sends a bounded number of bytes to itself over 127.0.0.1 and prints how many arrived and how
// long it took, as JSON. Run inside the network namespace under test.
const total = Number(Deno.args[0]);
const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
const { port } = listener.addr as Deno.NetAddr;
const received = (async () => {
  const conn = await listener.accept();
  let got = 0;
  const buffer = new Uint8Array(65536);
  for (;;) {
    const n = await conn.read(buffer);
    if (n === null) break;
    got += n;
  }
  conn.close();
  return got;
})();
const start = performance.now();
const conn = await Deno.connect({ hostname: "127.0.0.1", port });
const chunk = new Uint8Array(65536);
let sent = 0;
while (sent < total) sent += await conn.write(chunk.subarray(0, Math.min(chunk.length, total - sent)));
conn.close();
const got = await received;
listener.close();
console.log(JSON.stringify({ bytes: got, ms: performance.now() - start }));
