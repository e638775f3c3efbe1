/**
 * An MCP server that tells the time in any IANA time zone and converts times between zones.
 *
 * It needs no permissions at all: time zone data comes from the ICU data built into Deno, so
 * the server runs with `deno run --no-prompt` and no `--allow-*` flag.
 *
 * Tools:
 * - `get_current_time` `{ timezone? }`: the current date and time in a zone.
 * - `convert_time` `{ source_timezone, time, target_timezone }`: a wall-clock time `HH:MM`
 *   today in one zone, shown in another.
 *
 * Run it over stdio:
 * ```sh
 * deno run jsr:@sandboxed/time [--local-timezone=Europe/Paris]
 * ```
 *
 * Or use it as a library:
 * ```ts
 * import { currentTime } from "@sandboxed/time";
 * const now = currentTime("Asia/Tokyo", new Date("2025-01-01T00:00:00Z"));
 * console.log(now.datetime); // "2025-01-01T09:00:00+09:00"
 * ```
 *
 * @module
 */
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { z } from "zod";

/** The server's name and version, as announced to MCP clients. */
export const SERVER_INFO: { name: string; version: string } = {
  name: "sandboxed-time",
  version: "0.1.0",
};

/** The time in one zone at one instant. */
export interface TimeResult {
  /** IANA time zone name, e.g. `"Europe/Paris"`. */
  timezone: string;
  /** ISO 8601 local date and time with the zone's UTC offset, e.g. `"2025-07-01T14:00:00+02:00"`. */
  datetime: string;
  /** English name of the local day of the week, e.g. `"Tuesday"`. */
  day_of_week: string;
  /** Whether daylight saving time is in effect in this zone at this instant. */
  is_dst: boolean;
}

/** The result of converting a wall-clock time from one zone to another. */
export interface ConversionResult {
  /** The time in the source zone. */
  source: TimeResult;
  /** The same instant in the target zone. */
  target: TimeResult;
  /** Target offset minus source offset, e.g. `"+7.0h"` or `"-5.5h"`. */
  time_difference: string;
}

const MINUTE_MS = 60_000;

/**
 * Checks that a time zone name is known and returns its canonical spelling.
 *
 * @param timezone An IANA time zone name such as `"America/New_York"` or `"UTC"`.
 * @returns The zone name, with the canonical letter case; aliases keep the caller's spelling.
 * @throws {RangeError} If the name is not a known time zone.
 * @example
 * ```ts
 * import { validateTimezone } from "@sandboxed/time";
 * validateTimezone("Europe/Paris"); // "Europe/Paris"
 * ```
 */
export function validateTimezone(timezone: string): string {
  try {
    const resolved = new Intl.DateTimeFormat("en-US", { timeZone: timezone }).resolvedOptions()
      .timeZone;
    // Keep the caller's spelling of aliases ("Asia/Kolkata" stays, not "Asia/Calcutta").
    return resolved.toLowerCase() === timezone.toLowerCase() ? resolved : timezone;
  } catch (error) {
    throw new RangeError(
      `Cannot use time zone "${timezone}": it is not a known IANA time zone name; ` +
        `use a name such as "Europe/London" or "UTC"`,
      { cause: error },
    );
  }
}

/** Local calendar fields of an instant in a zone. */
interface LocalFields {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  weekday: string;
}

function localFields(timezone: string, instant: Date): LocalFields {
  const parts = new Intl.DateTimeFormat("en-US", {
    timeZone: timezone,
    hourCycle: "h23",
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
    weekday: "long",
  }).formatToParts(instant);
  const get = (type: Intl.DateTimeFormatPartTypes): string =>
    parts.find((part) => part.type === type)?.value ?? "";
  return {
    year: Number(get("year")),
    month: Number(get("month")),
    day: Number(get("day")),
    hour: Number(get("hour")),
    minute: Number(get("minute")),
    second: Number(get("second")),
    weekday: get("weekday"),
  };
}

/** The zone's UTC offset in minutes at an instant (east of UTC is positive). */
function offsetMinutes(timezone: string, instant: Date): number {
  const f = localFields(timezone, instant);
  const asUtc = Date.UTC(
    f.year,
    f.month - 1,
    f.day,
    f.hour,
    f.minute,
    f.second,
  );
  const wholeSeconds = Math.floor(instant.getTime() / 1000) * 1000;
  return Math.round((asUtc - wholeSeconds) / MINUTE_MS);
}

function pad(value: number, width = 2): string {
  return String(value).padStart(width, "0");
}

function formatOffset(minutes: number): string {
  const sign = minutes < 0 ? "-" : "+";
  const abs = Math.abs(minutes);
  return `${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}

function isDst(timezone: string, instant: Date): boolean {
  const year = localFields(timezone, instant).year;
  const january = offsetMinutes(timezone, new Date(Date.UTC(year, 0, 1)));
  const july = offsetMinutes(timezone, new Date(Date.UTC(year, 6, 1)));
  return january !== july &&
    offsetMinutes(timezone, instant) === Math.max(january, july);
}

/**
 * Describes an instant in a time zone.
 *
 * @param timezone An IANA time zone name.
 * @param instant The instant to describe; defaults to now.
 * @returns The local date and time, weekday and daylight saving state.
 * @throws {RangeError} If the time zone is unknown.
 * @example
 * ```ts
 * import { currentTime } from "@sandboxed/time";
 * const t = currentTime("America/New_York", new Date("2025-07-04T16:00:00Z"));
 * console.log(t.datetime, t.is_dst); // "2025-07-04T12:00:00-04:00" true
 * ```
 */
export function currentTime(
  timezone: string,
  instant: Date = new Date(),
): TimeResult {
  const zone = validateTimezone(timezone);
  const f = localFields(zone, instant);
  const offset = offsetMinutes(zone, instant);
  return {
    timezone: zone,
    datetime: `${f.year}-${pad(f.month)}-${pad(f.day)}T${pad(f.hour)}:${pad(f.minute)}:` +
      `${pad(f.second)}${formatOffset(offset)}`,
    day_of_week: f.weekday,
    is_dst: isDst(zone, instant),
  };
}

/**
 * Parses a 24-hour wall-clock time.
 *
 * @param time A time written `HH:MM`, e.g. `"09:30"`.
 * @returns The hour and minute.
 * @throws {SyntaxError} If the text is not a valid `HH:MM` time.
 * @example
 * ```ts
 * import { parseClockTime } from "@sandboxed/time";
 * parseClockTime("16:05"); // { hour: 16, minute: 5 }
 * ```
 */
export function parseClockTime(time: string): { hour: number; minute: number } {
  const match = /^([01]?\d|2[0-3]):([0-5]\d)$/.exec(time.trim());
  if (match === null) {
    throw new SyntaxError(
      `Cannot read time "${time}": expected 24-hour HH:MM, such as "14:30"`,
    );
  }
  return { hour: Number(match[1]), minute: Number(match[2]) };
}

/**
 * Converts a wall-clock time on the current day of the source zone to another zone.
 *
 * @param sourceTimezone IANA zone the time is written in.
 * @param time Wall-clock time `HH:MM` in the source zone.
 * @param targetTimezone IANA zone to convert to.
 * @param now The instant that decides "today" in the source zone; defaults to now.
 * @returns Both times and the offset difference in hours.
 * @throws {RangeError} If either zone is unknown.
 * @throws {SyntaxError} If the time is not `HH:MM`.
 * @example
 * ```ts
 * import { convertTime } from "@sandboxed/time";
 * const r = convertTime("Europe/London", "12:00", "Asia/Tokyo", new Date("2025-01-15T08:00:00Z"));
 * console.log(r.target.datetime, r.time_difference); // "2025-01-15T21:00:00+09:00" "+9.0h"
 * ```
 */
export function convertTime(
  sourceTimezone: string,
  time: string,
  targetTimezone: string,
  now: Date = new Date(),
): ConversionResult {
  const source = validateTimezone(sourceTimezone);
  const target = validateTimezone(targetTimezone);
  const { hour, minute } = parseClockTime(time);
  const today = localFields(source, now);
  const wall = Date.UTC(today.year, today.month - 1, today.day, hour, minute);
  // The offset depends on the instant, so refine it once around DST changes.
  let instant = wall - offsetMinutes(source, new Date(wall)) * MINUTE_MS;
  instant = wall - offsetMinutes(source, new Date(instant)) * MINUTE_MS;
  const at = new Date(instant);
  const hours = (offsetMinutes(target, at) - offsetMinutes(source, at)) / 60;
  const formatted = Number.isInteger(hours) ? hours.toFixed(1) : String(hours);
  return {
    source: currentTime(source, at),
    target: currentTime(target, at),
    time_difference: `${hours >= 0 ? "+" : ""}${formatted}h`,
  };
}

/** Options for {@linkcode createTimeServer}. */
export interface CreateTimeServerOptions {
  /** Zone used when a tool call names none; defaults to the system zone. */
  localTimezone?: string;
  /** Clock to read; defaults to `() => new Date()`. */
  clock?: () => Date;
}

function toolResult(
  value: unknown,
): { content: { type: "text"; text: string }[] } {
  return { content: [{ type: "text", text: JSON.stringify(value, null, 2) }] };
}

function toolError(
  error: unknown,
): { content: { type: "text"; text: string }[]; isError: true } {
  const message = error instanceof Error ? error.message : String(error);
  return { content: [{ type: "text", text: message }], isError: true };
}

/**
 * Builds the time MCP server with its two tools registered; connect it to any transport.
 *
 * @param options Default zone and clock.
 * @returns An unconnected MCP server.
 * @throws {RangeError} If `options.localTimezone` is unknown.
 * @example
 * ```ts
 * import { createTimeServer } from "@sandboxed/time";
 * const server = createTimeServer({ localTimezone: "UTC" });
 * await server.close();
 * ```
 */
export function createTimeServer(
  options: CreateTimeServerOptions = {},
): McpServer {
  const localTimezone = validateTimezone(
    options.localTimezone ?? Intl.DateTimeFormat().resolvedOptions().timeZone ??
      "UTC",
  );
  const clock = options.clock ?? (() => new Date());
  const server = new McpServer(SERVER_INFO);
  server.registerTool("get_current_time", {
    title: "Get current time",
    description: `Get the current date and time in an IANA time zone. ` +
      `Without a zone, uses "${localTimezone}".`,
    inputSchema: {
      timezone: z.string().optional().describe(
        `IANA time zone name, e.g. "America/New_York" or "Europe/London"; defaults to "${localTimezone}"`,
      ),
    },
    annotations: { readOnlyHint: true, openWorldHint: false },
  }, ({ timezone }: { timezone?: string }) => {
    try {
      return toolResult(currentTime(timezone ?? localTimezone, clock()));
    } catch (error) {
      return toolError(error);
    }
  });
  server.registerTool("convert_time", {
    title: "Convert time",
    description: "Convert a wall-clock time today from one IANA time zone to another.",
    inputSchema: {
      source_timezone: z.string().describe(
        `IANA time zone the time is written in; use "${localTimezone}" for local time`,
      ),
      time: z.string().describe("Time in 24-hour format HH:MM, e.g. 14:30"),
      target_timezone: z.string().describe(
        "IANA time zone to convert to, e.g. Asia/Tokyo",
      ),
    },
    annotations: { readOnlyHint: true, openWorldHint: false },
  }, (
    { source_timezone, time, target_timezone }: {
      source_timezone: string;
      time: string;
      target_timezone: string;
    },
  ) => {
    try {
      return toolResult(
        convertTime(source_timezone, time, target_timezone, clock()),
      );
    } catch (error) {
      return toolError(error);
    }
  });
  return server;
}

function localTimezoneArg(args: string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg.startsWith("--local-timezone=")) {
      return arg.slice("--local-timezone=".length);
    }
    if (arg === "--local-timezone") return args[i + 1];
  }
  return undefined;
}

if (import.meta.main) {
  const server = createTimeServer({
    localTimezone: localTimezoneArg(Deno.args),
  });
  await server.connect(new StdioServerTransport());
}
