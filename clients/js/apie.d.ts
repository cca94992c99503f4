// Types of apie.js, the apie HTTP API client.

/** The SHA-256 of nothing: the prevHash of a log's first event. */
export const EMPTY_HASH: string;

/** An event as apie stores and returns it. */
export interface Event {
  seq: number;
  eventId: string;
  eventType: string;
  /** Any JSON value; null once erased. */
  body: unknown;
  bodyHash: string;
  /** 32 lowercase hex, on events stored with a salted body hash. */
  bodySalt?: string;
  createdBy: string;
  createdAt: string;
  prevHash: string;
  hash: string;
  /** Members added by later versions, covered by the hash rule. */
  [member: string]: unknown;
}

/** An event to append. */
export interface NewEvent {
  eventType: string;
  body: unknown;
  /** A UUID; made by the client when absent, so retries are safe. */
  eventId?: string;
  /** The stream it joins, a path such as "/orders/42". */
  stream?: string;
  /** Append only if stream is at this version just before it (0: no events yet); the request's earlier events count. Never stored. */
  expectedVersion?: number;
  [member: string]: unknown;
}

export interface RetryOptions {
  /** How many times a request is sent at most (default 4). */
  attempts?: number;
  /** Pause in ms before the second try, doubling after (default 100). */
  wait?: number;
  /** Longest pause in ms (default 2000). */
  maxWait?: number;
}

export interface ApieOptions {
  /** Basic auth, used only to take bearer tokens from POST /auth/token. */
  user?: string;
  password?: string;
  /** A bearer token to use as it is (it cannot be renewed without user and password). */
  token?: string;
  /** When that token expires. */
  expires?: string | Date;
  /** Renew a token this many ms before its expiry (default 60000). */
  renewBefore?: number;
  /** Called with each new token (to keep it, say in sessionStorage). */
  onToken?: (token: { token: string; expires: Date | null }) => void;
  retry?: RetryOptions;
  /** The fetch to use (default globalThis.fetch). */
  fetch?: typeof fetch;
}

export interface ReadParams {
  from?: string;
  after?: string;
  to?: string;
  /** Stop after this many events in all. */
  limit?: number;
  /** Events a page (default 1000). */
  pageSize?: number;
  /** Passed to the server (streams). */
  stream?: string;
  recursive?: boolean;
  /** Start just after this consumer's position (not with from or after). */
  consumer?: string;
  /** Keep only these types ("a,b" or a list); applied by the client. */
  eventType?: string | string[];
  signal?: AbortSignal;
}

/** Where a follow's replay reached the log's head. */
export interface CaughtUp {
  /** The log's head then; null on an empty log. */
  head: string | null;
  count: number;
}

export interface FollowParams {
  /** Start after this hash; "head" for only new events; EMPTY_HASH before the first event. Default: the whole log. */
  after?: string;
  /** Start at this hash (inclusive). */
  from?: string;
  /** Start just after this consumer's position (not with from or after). */
  consumer?: string;
  /** Sent to the server (stream=, recursive=true). */
  stream?: string;
  recursive?: boolean;
  /** Only these types ("a,b" or a list), filtered by the server. */
  eventType?: string | string[];
  /** Called each time a connection's replay reaches the head. */
  onCaughtUp?: (c: CaughtUp) => void;
  /** Called before each pause after a failed or dropped connection. */
  onRetry?: (r: { attempt: number; delay: number; error: unknown }) => void;
  /** Pauses between reconnections: wait doubling to maxWait (ms; defaults 250 and 15000). */
  retry?: { wait?: number; maxWait?: number };
  /** Abort to stop: the iterator then ends without an error. */
  signal?: AbortSignal;
}

export interface WaitParams {
  /** A hash, "head", or EMPTY_HASH. */
  after?: string;
  /** How long the server holds the request (default 30; at most 300 under apie-serve, 55 under CGI). */
  seconds?: number;
  /** At most this many events (server default 1000). */
  limit?: number;
  eventType?: string | string[];
  stream?: string;
  recursive?: boolean;
  signal?: AbortSignal;
}

/** A stream as GET /streams lists it. */
export interface StreamInfo {
  stream: string;
  /** Its number of events (the streamSeq of its last one). */
  version: number;
  /** Hashes of its first and last event. */
  first: string;
  last: string;
}

/** A consumer: a named position in the log that the server keeps. */
export interface Consumer {
  name: string;
  /** The hash of the last event it has passed; null before the first event. */
  after: string | null;
  /** The seq of that event (0 before the first). */
  seq: number;
  /** How many events follow the position now. */
  lag: number;
  updatedAt: string;
  updatedBy: string;
}

export interface CommitOptions {
  /** Move only if the consumer is at this hash (null: before the first event); else 412. */
  ifMatch?: string | null;
  /** Create only if the consumer does not exist; else 412. */
  ifAbsent?: boolean;
  /** Allow a move backwards (else 409). */
  force?: boolean;
  signal?: AbortSignal;
}

/** GET /info. */
export interface Info {
  status: "ok";
  version: string;
  /** The caller. */
  user: { email: string; info: string };
  /** Whether the caller may erase events (servers with erasure). */
  admin?: boolean;
  /** The configuration in force (no secrets). */
  config: Record<string, unknown>;
  [member: string]: unknown;
}

export type VerifyReport =
  | { ok: true; events: number; erased: number; head: string | null }
  | { ok: false; events: number; index: number; seq: number | null; hash: string | null; reason: string };

export interface StoredBlob {
  status: "ok";
  hash: string;
  url: string;
  size: number;
  contentType: string;
  filename: string;
  /** true for a 201 (newly stored), false when those bytes were stored already. */
  created: boolean;
}

export class ApieError extends Error {
  /** HTTP status; 0 when no answer came. */
  status: number;
  /** The server's JSON error body, if any. */
  body: { status: "error"; errorMessage: string; [k: string]: unknown } | null;
  /** On a 412: the log's current head. */
  head: string | null;
  headers: Headers | null;
}

/** An append refused (412) because an event's expectedVersion is not its stream's version. */
export class VersionConflictError extends ApieError {
  status: 412;
  /** The stream whose version did not match. */
  stream: string;
  /** Its version now (0: no events). */
  currentVersion: number;
}

/** A consumer move refused because of where the consumer is: 412 (ifMatch, ifAbsent) or 409 (backwards). */
export class ConsumerPositionError extends ApieError {
  status: 409 | 412;
  /** Where the consumer is now. */
  consumer: { name: string; exists: boolean; after: string | null; seq: number };
  /** consumer.after. */
  readonly after: string | null;
}

export class Apie {
  constructor(baseURL: string, options?: ApieOptions);
  readonly baseURL: string;
  url(path: string): string;
  token(): Promise<{ token: string; expires: Date | null }>;
  forgetToken(): void;
  append(event: NewEvent, options?: { ifMatch?: string; expectedVersion?: number; signal?: AbortSignal }): Promise<Event>;
  /** In a batch, each event carries its own stream and expectedVersion. */
  append(events: NewEvent[], options?: { ifMatch?: string; signal?: AbortSignal }): Promise<Event[]>;
  head(params?: { stream?: string; recursive?: boolean; signal?: AbortSignal }): Promise<{ hash: string | null; count: number }>;
  event(hash: string, options?: { signal?: AbortSignal }): Promise<Event>;
  read(params?: ReadParams): AsyncGenerator<Event, void, undefined>;
  /** Live events: the replay, then new ones as stored; resumes by itself after a dropped connection. */
  follow(params?: FollowParams): AsyncGenerator<Event, void, undefined>;
  /** Long-poll: the events after `after` once there are any, [] after `seconds`. */
  wait(params?: WaitParams): Promise<Event[]>;
  streams(params?: { prefix?: string; limit?: number; pageSize?: number; signal?: AbortSignal }): AsyncGenerator<StreamInfo, void, undefined>;
  back(params?: { from?: string; before?: string; limit?: number; signal?: AbortSignal }): AsyncGenerator<Event, void, undefined>;
  verify(events: Event[], options?: { prev?: string; links?: boolean }): Promise<VerifyReport>;
  putBlob(
    data: Blob | ArrayBuffer | ArrayBufferView | string,
    options?: { filename?: string; contentType?: string; hash?: string; onProgress?: (sent: number, total: number) => void; signal?: AbortSignal },
  ): Promise<StoredBlob>;
  blobURL(hash: string): string;
  getBlob(hash: string, options?: { signal?: AbortSignal }): Promise<Blob>;
  deleteBlob(hash: string, options?: { signal?: AbortSignal }): Promise<void>;
  info(options?: { signal?: AbortSignal }): Promise<Info>;
  position(name: string, options?: { signal?: AbortSignal }): Promise<Consumer>;
  commit(name: string, after: string | null, options?: CommitOptions): Promise<Consumer & { created: boolean }>;
  consumers(options?: { signal?: AbortSignal }): Promise<Consumer[]>;
  deleteConsumer(name: string, options?: { signal?: AbortSignal }): Promise<void>;
  /** Erase an event's body (admins); returns the apie.erased tombstone. */
  erase(hash: string, reason: string, options?: { signal?: AbortSignal }): Promise<Event>;
  request(method: string, path: string, init?: { headers?: Record<string, string>; body?: BodyInit; retry?: boolean; signal?: AbortSignal }): Promise<Response>;
}

export function verify(events: Event[], options?: { prev?: string; links?: boolean }): Promise<VerifyReport>;
export function eventHash(event: Event): Promise<string>;
export function jcs(value: unknown): string;
export function sha256Hex(data: string | Uint8Array): Promise<string>;
export function sha256(data: Uint8Array): Uint8Array;
export function newUUID(): string;
