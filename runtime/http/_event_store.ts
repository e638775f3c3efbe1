/**
 * Resumable event streams (protocol 2025-11-25): what a session's streams sent, kept so that a
 * client reconnecting with `Last-Event-ID` gets what it missed. One store per session, dropped
 * with it; bounded per stream and per session, in events and in bytes (the oldest go first).
 * Event ids are `<stream key>.<sequence>`, the key 128 random bits per stream: an id from another
 * session, or a forged one, names no stream here and replays nothing.
 *
 * @module
 */
import type {
  EventId,
  EventStore,
  StreamId,
} from "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js";
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";

/** Limits of one {@linkcode SessionEventStore}. */
export interface EventStoreLimits {
  /** Most events kept per stream. Default 100. */
  maxEventsPerStream?: number;
  /** Most bytes (of JSON text) kept per stream. Default 1 MiB. */
  maxBytesPerStream?: number;
  /** Most events kept for the whole session. Default 1000. */
  maxEvents?: number;
  /** Most bytes kept for the whole session. Default 4 MiB. */
  maxBytes?: number;
}

interface StoredEvent {
  readonly stream: StreamState;
  readonly seq: number;
  readonly message: JSONRPCMessage;
  readonly bytes: number;
}

interface StreamState {
  readonly id: StreamId;
  readonly key: string;
  /** The last sequence number handed out. */
  seq: number;
  /** Kept events, oldest first. */
  readonly events: StoredEvent[];
  bytes: number;
}

/** An event id, parsed: the stream key and the sequence number. */
const EVENT_ID = /^([A-Za-z0-9_-]{22})\.(\d{1,15})$/;

function randomKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_")
    .replace(/=+$/, "");
}

/** The events of one session's streams, for replay after a reconnect. */
export class SessionEventStore implements EventStore {
  readonly #limits: Required<EventStoreLimits>;
  readonly #byId = new Map<StreamId, StreamState>();
  readonly #byKey = new Map<string, StreamState>();
  /** Every kept event, oldest first (across streams), for the session-wide bound. */
  readonly #order = new Set<StoredEvent>();
  #bytes = 0;

  /**
   * @param limits Per-stream and per-session bounds.
   * @throws {RangeError} If a limit is not a positive integer.
   */
  constructor(limits: EventStoreLimits = {}) {
    this.#limits = {
      maxEventsPerStream: 100,
      maxBytesPerStream: 1024 * 1024,
      maxEvents: 1000,
      maxBytes: 4 * 1024 * 1024,
      ...Object.fromEntries(Object.entries(limits).filter(([, v]) => v !== undefined)),
    };
    for (const [name, value] of Object.entries(this.#limits)) {
      if (!Number.isSafeInteger(value) || value <= 0) {
        throw new RangeError(`Cannot create the event store: "${name}" must be a positive integer`);
      }
    }
  }

  /** Events kept, across streams. */
  get size(): number {
    return this.#order.size;
  }

  /** Bytes kept, across streams. */
  get bytes(): number {
    return this.#bytes;
  }

  /**
   * Keeps an event and names it. An empty message (the SDK's priming event) gets an id and is
   * not kept: it carries nothing to replay.
   *
   * @param streamId The SDK's stream id.
   * @param message The message sent on it.
   * @returns Its event id.
   */
  storeEvent(streamId: StreamId, message: JSONRPCMessage): Promise<EventId> {
    const stream = this.#stream(streamId);
    const seq = ++stream.seq;
    const id = `${stream.key}.${seq}`;
    if (Object.keys(message).length === 0) return Promise.resolve(id);
    const bytes = JSON.stringify(message).length;
    const event: StoredEvent = { stream, seq, message, bytes };
    stream.events.push(event);
    stream.bytes += bytes;
    this.#order.add(event);
    this.#bytes += bytes;
    const limits = this.#limits;
    while (
      stream.events.length > limits.maxEventsPerStream || stream.bytes > limits.maxBytesPerStream
    ) this.#drop(stream.events[0]);
    while (this.#order.size > limits.maxEvents || this.#bytes > limits.maxBytes) {
      this.#drop(this.#order.values().next().value as StoredEvent);
    }
    if (this.#byId.size > limits.maxEvents) this.#forgetEmptyStream(stream);
    return Promise.resolve(id);
  }

  /**
   * The stream an event id belongs to, when it is one of this session's.
   *
   * @param eventId The `Last-Event-ID` header.
   * @returns The SDK's stream id, or undefined for an id that names no stream here.
   */
  getStreamIdForEventId(eventId: EventId): Promise<StreamId | undefined> {
    return Promise.resolve(this.#find(eventId)?.stream.id);
  }

  /**
   * Sends the events of `lastEventId`'s stream that came after it, oldest first. Events already
   * dropped by the bounds are not sent; the client resumes from the oldest one kept.
   *
   * @param lastEventId The `Last-Event-ID` header.
   * @param sink Where the SDK writes them.
   * @returns The stream's SDK id.
   * @throws {RangeError} If the id names no stream of this session (the SDK answers 400 first).
   */
  async replayEventsAfter(
    lastEventId: EventId,
    sink: { send: (eventId: EventId, message: JSONRPCMessage) => Promise<void> },
  ): Promise<StreamId> {
    const found = this.#find(lastEventId);
    if (found === undefined) {
      throw new RangeError(`Cannot resume the stream: event id "${lastEventId}" is not known`);
    }
    const { stream, seq } = found;
    for (const event of [...stream.events]) {
      if (event.seq > seq) await sink.send(`${stream.key}.${event.seq}`, event.message);
    }
    return stream.id;
  }

  /** Forgets every stream and event (the session ended). */
  clear(): void {
    this.#byId.clear();
    this.#byKey.clear();
    this.#order.clear();
    this.#bytes = 0;
  }

  #stream(streamId: StreamId): StreamState {
    let stream = this.#byId.get(streamId);
    if (stream === undefined) {
      stream = { id: streamId, key: randomKey(), seq: 0, events: [], bytes: 0 };
      this.#byId.set(streamId, stream);
      this.#byKey.set(stream.key, stream);
    }
    return stream;
  }

  #find(eventId: EventId): { stream: StreamState; seq: number } | undefined {
    const match = EVENT_ID.exec(eventId);
    if (match === null) return undefined;
    const stream = this.#byKey.get(match[1]);
    const seq = Number(match[2]);
    if (stream === undefined || seq > stream.seq) return undefined;
    return { stream, seq };
  }

  /** Forgets the oldest stream with nothing kept, so that stream records stay bounded too. */
  #forgetEmptyStream(current: StreamState): void {
    for (const stream of this.#byId.values()) {
      if (stream === current || stream.events.length > 0) continue;
      this.#byId.delete(stream.id);
      this.#byKey.delete(stream.key);
      return;
    }
  }

  #drop(event: StoredEvent): void {
    const { stream } = event;
    // Events leave in order: per stream, and across streams, the oldest is dropped first.
    const index = stream.events.indexOf(event);
    if (index >= 0) stream.events.splice(index, 1);
    stream.bytes -= event.bytes;
    this.#order.delete(event);
    this.#bytes -= event.bytes;
  }
}
