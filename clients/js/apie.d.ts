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
  signal?: AbortSignal;
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

export class Apie {
  constructor(baseURL: string, options?: ApieOptions);
  readonly baseURL: string;
  url(path: string): string;
  token(): Promise<{ token: string; expires: Date | null }>;
  forgetToken(): void;
  append(event: NewEvent, options?: { ifMatch?: string; signal?: AbortSignal }): Promise<Event>;
  append(events: NewEvent[], options?: { ifMatch?: string; signal?: AbortSignal }): Promise<Event[]>;
  head(params?: { stream?: string; recursive?: boolean; signal?: AbortSignal }): Promise<{ hash: string | null; count: number }>;
  event(hash: string, options?: { signal?: AbortSignal }): Promise<Event>;
  read(params?: ReadParams): AsyncGenerator<Event, void, undefined>;
  back(params?: { from?: string; before?: string; limit?: number; signal?: AbortSignal }): AsyncGenerator<Event, void, undefined>;
  verify(events: Event[], options?: { prev?: string; links?: boolean }): Promise<VerifyReport>;
  putBlob(
    data: Blob | ArrayBuffer | ArrayBufferView | string,
    options?: { filename?: string; contentType?: string; hash?: string; onProgress?: (sent: number, total: number) => void; signal?: AbortSignal },
  ): Promise<StoredBlob>;
  blobURL(hash: string): string;
  getBlob(hash: string, options?: { signal?: AbortSignal }): Promise<Blob>;
  deleteBlob(hash: string, options?: { signal?: AbortSignal }): Promise<void>;
  info(options?: { signal?: AbortSignal }): Promise<Record<string, unknown>>;
  request(method: string, path: string, init?: { headers?: Record<string, string>; body?: BodyInit; retry?: boolean; signal?: AbortSignal }): Promise<Response>;
}

export function verify(events: Event[], options?: { prev?: string; links?: boolean }): Promise<VerifyReport>;
export function eventHash(event: Event): Promise<string>;
export function jcs(value: unknown): string;
export function sha256Hex(data: string | Uint8Array): Promise<string>;
export function sha256(data: Uint8Array): Uint8Array;
export function newUUID(): string;
