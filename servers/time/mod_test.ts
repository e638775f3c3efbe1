import assert from "node:assert/strict";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import {
  convertTime,
  createTimeServer,
  currentTime,
  parseClockTime,
  validateTimezone,
} from "./mod.ts";

Deno.test("currentTime() gives local time, offset, weekday and DST state", () => {
  const cases: [string, string, string, string, boolean][] = [
    [
      "UTC",
      "2025-03-01T10:20:30Z",
      "2025-03-01T10:20:30+00:00",
      "Saturday",
      false,
    ],
    [
      "America/New_York",
      "2025-07-04T16:00:00Z",
      "2025-07-04T12:00:00-04:00",
      "Friday",
      true,
    ],
    [
      "America/New_York",
      "2025-01-04T16:00:00Z",
      "2025-01-04T11:00:00-05:00",
      "Saturday",
      false,
    ],
    [
      "Asia/Kolkata",
      "2025-01-01T00:00:00Z",
      "2025-01-01T05:30:00+05:30",
      "Wednesday",
      false,
    ],
    [
      "Asia/Kathmandu",
      "2025-01-01T00:00:00Z",
      "2025-01-01T05:45:00+05:45",
      "Wednesday",
      false,
    ],
    // Southern hemisphere: DST in January.
    [
      "Australia/Sydney",
      "2025-01-01T00:00:00Z",
      "2025-01-01T11:00:00+11:00",
      "Wednesday",
      true,
    ],
    [
      "Australia/Sydney",
      "2025-07-01T00:00:00Z",
      "2025-07-01T10:00:00+10:00",
      "Tuesday",
      false,
    ],
    [
      "Pacific/Kiritimati",
      "2025-12-31T11:00:00Z",
      "2026-01-01T01:00:00+14:00",
      "Thursday",
      false,
    ],
  ];
  for (const [zone, instant, datetime, weekday, dst] of cases) {
    const result = currentTime(zone, new Date(instant));
    assert.deepEqual(result, {
      timezone: zone,
      datetime,
      day_of_week: weekday,
      is_dst: dst,
    });
  }
});

Deno.test("validateTimezone() refuses unknown zones with a RangeError", () => {
  for (const bad of ["Mars/Olympus", "", "../../etc/passwd", "UTC; rm -rf /"]) {
    assert.throws(() => validateTimezone(bad), RangeError);
  }
  assert.equal(validateTimezone("europe/paris"), "Europe/Paris");
  assert.equal(validateTimezone("Asia/Kolkata"), "Asia/Kolkata");
});

Deno.test("parseClockTime() accepts HH:MM and refuses anything else", () => {
  assert.deepEqual(parseClockTime("09:05"), { hour: 9, minute: 5 });
  assert.deepEqual(parseClockTime("23:59"), { hour: 23, minute: 59 });
  for (const bad of ["24:00", "12:60", "12", "noon", "12:00:00", "-1:00"]) {
    assert.throws(() => parseClockTime(bad), SyntaxError);
  }
});

Deno.test("convertTime() converts across zones, days and half-hour offsets", () => {
  const now = new Date("2025-01-15T08:00:00Z");
  const tokyo = convertTime("Europe/London", "12:00", "Asia/Tokyo", now);
  assert.equal(tokyo.source.datetime, "2025-01-15T12:00:00+00:00");
  assert.equal(tokyo.target.datetime, "2025-01-15T21:00:00+09:00");
  assert.equal(tokyo.time_difference, "+9.0h");

  const honolulu = convertTime(
    "Asia/Kolkata",
    "01:30",
    "Pacific/Honolulu",
    now,
  );
  assert.equal(honolulu.source.datetime, "2025-01-15T01:30:00+05:30");
  assert.equal(honolulu.target.datetime, "2025-01-14T10:00:00-10:00");
  assert.equal(honolulu.time_difference, "-15.5h");

  // In July New York observes DST, so the gap to London stays 5 hours.
  const summer = convertTime(
    "America/New_York",
    "09:00",
    "Europe/London",
    new Date("2025-07-01T12:00:00Z"),
  );
  assert.equal(summer.source.datetime, "2025-07-01T09:00:00-04:00");
  assert.equal(summer.target.datetime, "2025-07-01T14:00:00+01:00");
  assert.equal(summer.source.is_dst, true);
});

async function connectedClient(): Promise<Client> {
  const server = createTimeServer({
    localTimezone: "Europe/Paris",
    clock: () => new Date("2025-06-01T10:00:00Z"),
  });
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await server.connect(serverSide);
  const client = new Client({ name: "test", version: "1.0.0" });
  await client.connect(clientSide);
  return client;
}

function text(result: Awaited<ReturnType<Client["callTool"]>>): string {
  const content = result.content as { type: string; text: string }[];
  return content[0].text;
}

Deno.test("createTimeServer() serves both tools to an MCP client", async () => {
  const client = await connectedClient();
  try {
    const { tools } = await client.listTools();
    assert.deepEqual(tools.map((tool: { name: string }) => tool.name).sort(), [
      "convert_time",
      "get_current_time",
    ]);

    const now = await client.callTool({
      name: "get_current_time",
      arguments: {},
    });
    assert.equal(JSON.parse(text(now)).datetime, "2025-06-01T12:00:00+02:00");

    const converted = await client.callTool({
      name: "convert_time",
      arguments: {
        source_timezone: "Europe/Paris",
        time: "18:00",
        target_timezone: "UTC",
      },
    });
    assert.equal(
      JSON.parse(text(converted)).target.datetime,
      "2025-06-01T16:00:00+00:00",
    );

    const bad = await client.callTool({
      name: "get_current_time",
      arguments: { timezone: "Nowhere/Land" },
    });
    assert.equal(bad.isError, true);
    assert.match(text(bad), /Cannot use time zone "Nowhere\/Land"/);
  } finally {
    await client.close();
  }
});

Deno.test("mod.ts runs as a stdio server with no permissions at all", async () => {
  const transport = new StdioClientTransport({
    command: Deno.execPath(),
    args: [
      "run",
      "--no-prompt",
      "--config",
      new URL("./deno.json", import.meta.url).pathname,
      new URL("./mod.ts", import.meta.url).pathname,
      "--local-timezone=Asia/Tokyo",
    ],
    stderr: "pipe",
  });
  const client = new Client({ name: "test", version: "1.0.0" });
  await client.connect(transport);
  try {
    const result = await client.callTool({
      name: "get_current_time",
      arguments: {},
    });
    const parsed = JSON.parse(text(result));
    assert.equal(parsed.timezone, "Asia/Tokyo");
    assert.match(parsed.datetime, /\+09:00$/);
    // The same zone data the server uses, computed here: the server's clock agrees with ours.
    const drift = Math.abs(Date.parse(parsed.datetime) - Date.now());
    assert.ok(drift < 60_000, `server clock is off by ${drift} ms`);
  } finally {
    await client.close();
  }
});
