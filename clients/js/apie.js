// apie.js — a client for apie's HTTP API, for browsers and Node 20+.
//
// One ES module, no dependencies, no build step. It appends events with
// client-made eventIds (so a retry after a lost answer never appends twice),
// reads the log page by page following Link (or one stream of it), follows
// it live (NDJSON over fetch, resuming after the last event seen), waits for
// the next events (long-poll), lists streams, walks it back from the head,
// checks the hash chain with SHA-256 over RFC 8785 (JCS) bytes, stores
// and fetches blobs, keeps consumers' positions, and erases bodies (admins).
//
//   import { Apie } from "./apie.js";
//   const apie = new Apie("https://example.org/cgi-bin/apie-cgi", { user, password });
//   const stored = await apie.append({ eventType: "todo.added", body: { title: "milk" } });
//   for await (const ev of apie.read({ after: stored.hash })) { … }
//   for await (const ev of apie.follow({ after: "head", signal })) { … }
//   const report = await apie.verify(events);

/** The SHA-256 of nothing: the prevHash of a log's first event. */
export const EMPTY_HASH = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

const HASH_RE = /^[0-9a-f]{64}$/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * ApieError is a refusal by the server (status >= 400), or a network
 * failure that outlived the retries (status 0).
 */
export class ApieError extends Error {
  /**
   * @param {string} message
   * @param {{status?: number, body?: any, head?: string|null, headers?: Headers|null, cause?: unknown}} [info]
   */
  constructor(message, info = {}) {
    super(message, info.cause === undefined ? undefined : { cause: info.cause });
    this.name = "ApieError";
    /** HTTP status; 0 when no answer came. */
    this.status = info.status ?? 0;
    /** The parsed JSON error body, if any ({status, errorMessage, …}). */
    this.body = info.body ?? null;
    /** On a 412: the log's current head (from X-Apie-Hash or ETag), null on an empty log. */
    this.head = info.head ?? null;
    /** The answer's headers, if there was an answer. */
    this.headers = info.headers ?? null;
  }
}

/**
 * ConsumerPositionError is a consumer move the server refused because of
 * where the consumer is: status 412 (an ifMatch or ifAbsent that no longer
 * holds) or 409 (a move backwards without force). consumer is where it is
 * now, as the server said: {name, exists, after, seq}, after null before
 * the first event (and exists false when there is no such consumer).
 */
export class ConsumerPositionError extends ApieError {
  /**
   * @param {string} message
   * @param {{status?: number, body?: any, headers?: Headers|null}} info
   */
  constructor(message, info) {
    super(message, info);
    this.name = "ConsumerPositionError";
    const b = info.body ?? {};
    /** @type {{name: string, exists: boolean, after: string|null, seq: number}} */
    this.consumer = { name: b.name ?? "", exists: b.exists !== false, after: b.after ?? null, seq: b.seq ?? 0 };
  }

  /** The consumer's current position (null: before the first event). */
  get after() {
    return this.consumer.after;
  }
}

/**
 * VersionConflictError is an append refused (412) because an event's
 * expectedVersion is not its stream's version: stream names the stream and
 * currentVersion is where it is now (0: it has no events). Nothing was
 * stored. (A 412 for a stale ifMatch is a plain ApieError whose head is
 * the log's current head.)
 */
export class VersionConflictError extends ApieError {
  /**
   * @param {string} message
   * @param {{status?: number, body?: any, head?: string|null, headers?: Headers|null, cause?: unknown}} info
   */
  constructor(message, info) {
    super(message, info);
    this.name = "VersionConflictError";
    const b = info.body ?? {};
    /** The stream whose version did not match. */
    this.stream = typeof b.stream === "string" ? b.stream : "";
    /** That stream's version now. */
    this.currentVersion = Number.isInteger(b.currentVersion) ? b.currentVersion : 0;
  }
}

/**
 * Apie is a client for one apie server (apie-serve, or apie-cgi under a web
 * server): baseURL is the API's root, e.g. "http://127.0.0.1:8000" or
 * "https://example.org/cgi-bin/apie-cgi".
 */
export class Apie {
  /**
   * @param {string} baseURL
   * @param {import("./apie").ApieOptions} [options]
   */
  constructor(baseURL, options = {}) {
    if (typeof baseURL !== "string" || !/^https?:\/\//i.test(baseURL) && !baseURL.startsWith("/")) {
      throw new TypeError("Apie: baseURL must be an http(s) URL, or a path on this page's origin");
    }
    /** @type {string} */
    this.baseURL = baseURL.replace(/\/+$/, "");
    this._user = options.user;
    this._password = options.password;
    this._token = options.token ? { token: options.token, expires: parseExpiry(options.expires) } : null;
    if ((this._user === undefined) !== (this._password === undefined)) {
      throw new TypeError("Apie: give user and password together");
    }
    this._fetch = options.fetch ?? globalThis.fetch.bind(globalThis);
    this._retry = { attempts: 4, wait: 100, maxWait: 2000, ...options.retry };
    this._renewBefore = options.renewBefore ?? 60_000;
    this._onToken = options.onToken;
    this._renewing = null;
  }

  /** The URL of path (which starts with "/") under the base URL. */
  url(path) {
    return this.baseURL + path;
  }

  /**
   * token returns a bearer token valid for at least renewBefore ms more,
   * asking POST /auth/token (with basic auth) for a new one when the one
   * held is near its end. Without user and password it returns the token
   * given to the constructor, as long as it lives.
   * @returns {Promise<{token: string, expires: Date|null}>}
   */
  async token() {
    const t = this._token;
    if (t && (t.expires === null || t.expires.getTime() - Date.now() > this._renewBefore)) return t;
    if (this._user === undefined) {
      if (t && (t.expires === null || t.expires.getTime() > Date.now())) return t;
      throw new ApieError("the bearer token has expired; sign in again", { status: 401 });
    }
    this._renewing ??= this._newToken().finally(() => { this._renewing = null; });
    return this._renewing;
  }

  async _newToken() {
    const res = await this._send("POST", "/auth/token", { auth: "basic", retry: true });
    const body = await res.json();
    if (typeof body.token !== "string" || body.token === "") {
      throw new ApieError("POST /auth/token: the answer holds no token", { status: res.status });
    }
    this._token = { token: body.token, expires: parseExpiry(body.expires) };
    if (this._onToken) this._onToken({ ...this._token });
    return this._token;
  }

  /** Forget the token held, so the next request asks for another. */
  forgetToken() {
    this._token = null;
  }

  /**
   * append stores one event (returns the stored event) or a batch, an
   * array, atomically (returns the stored array). Each event without an
   * eventId gets a random UUID first, so the request is retried safely
   * after a network error or a 5xx: the server answers a repeat with the
   * events it stored. A 4xx is never retried. With ifMatch the append
   * happens only if that hash is the log's head (EMPTY_HASH: only on an
   * empty log); else an ApieError with status 412 whose head is the
   * current one.
   *
   * Streams: an event may carry stream (a path, "/orders/42") and
   * expectedVersion (the stream's version it must follow, 0: a new
   * stream); in an array each event carries its own, and the request's
   * earlier events count (two events for a stream at version 7 carry 7
   * and 8). options.expectedVersion is the one event's expectedVersion
   * when events is a single event. A version that does not hold is a
   * VersionConflictError (status 412) with stream and currentVersion, and
   * nothing is stored. Retries stay safe: the server answers a repeat of
   * stored events before it looks at any expectation.
   * @param {import("./apie").NewEvent | import("./apie").NewEvent[]} events
   * @param {{ifMatch?: string, expectedVersion?: number, signal?: AbortSignal}} [options]
   */
  async append(events, options = {}) {
    const batch = Array.isArray(events);
    if (batch && options.expectedVersion !== undefined) {
      throw new TypeError("append: with an array, put expectedVersion on each event (the request's earlier events count)");
    }
    const list = (batch ? events : [events]).map((e) => {
      if (e === null || typeof e !== "object") throw new TypeError("append: an event is an object {eventType, body}");
      if (typeof e.eventType !== "string" || e.eventType === "") throw new TypeError("append: an event needs an eventType");
      if (!("body" in e)) throw new TypeError("append: an event needs a body (null is a body)");
      const out = { ...e, eventId: e.eventId ?? newUUID() };
      if (!batch && options.expectedVersion !== undefined) out.expectedVersion = options.expectedVersion;
      if (out.expectedVersion !== undefined && !(Number.isSafeInteger(out.expectedVersion) && out.expectedVersion >= 0)) {
        throw new TypeError("append: expectedVersion must be a whole number from 0 (0: the stream has no events yet)");
      }
      if (out.expectedVersion !== undefined && typeof out.stream !== "string") {
        throw new TypeError("append: expectedVersion needs the event's stream");
      }
      return out;
    });
    const headers = { "Content-Type": "application/json" };
    if (options.ifMatch) headers["If-Match"] = `"${options.ifMatch.replace(/"/g, "")}"`;
    let res;
    try {
      res = await this._send("POST", "/events", {
        headers, body: JSON.stringify(batch ? list : list[0]), retry: true, signal: options.signal,
      });
    } catch (err) {
      if (err instanceof ApieError && err.status === 412 && typeof err.body?.stream === "string") {
        throw new VersionConflictError(err.message, { status: 412, body: err.body, head: err.head, headers: err.headers, cause: err });
      }
      throw err;
    }
    return res.json();
  }

  /**
   * head returns the log's head and count (HEAD /events): {hash, count},
   * hash null on an empty log. Extra params (stream, recursive) are sent
   * as they are.
   * @param {{stream?: string, recursive?: boolean, signal?: AbortSignal}} [params]
   */
  async head(params = {}) {
    const res = await this._send("HEAD", "/events" + query(params), { retry: true, signal: params.signal });
    return { hash: res.headers.get("X-Apie-Hash") || null, count: Number(res.headers.get("X-Apie-Count") ?? 0) };
  }

  /**
   * event returns one event by its hash (GET /events/<hash>); an ApieError
   * with status 404 if the log has none.
   * @param {string} hash
   */
  async event(hash, { signal } = {}) {
    checkHash(hash, "event");
    const res = await this._send("GET", "/events/" + hash, { retry: true, signal });
    return res.json();
  }

  /**
   * read yields the events of a slice of the log, oldest first, fetched
   * as NDJSON a page at a time (pageSize events, default 1000) following
   * each answer's Link rel="next". from starts at an event, after just
   * after one, to ends at one (inclusive); limit stops after that many
   * events in all. stream and recursive are passed to the server, and
   * consumer, which starts just after that consumer's position (from the
   * first event while it is at null; not with from or after).
   * eventType (a string "a,b" or an array) keeps only those types; it is
   * applied by the client, as a plain read of the server takes none (limit
   * counts the events kept). Each page is retried as append is.
   * @param {import("./apie").ReadParams} [params]
   * @returns {AsyncGenerator<import("./apie").Event>}
   */
  async *read(params = {}) {
    const { limit, pageSize = 1000, signal, to } = params;
    if (limit !== undefined && !(Number.isInteger(limit) && limit > 0)) throw new TypeError("read: limit must be a positive integer");
    const types = eventTypes(params.eventType, "read");
    // A type filter is applied here (a plain read of the server takes
    // none), so pages are not cut short by it.
    const first = limit === undefined || types ? pageSize : Math.min(pageSize, limit);
    let ref = this.url("/events" + query({ ...params, limit: first }));
    let n = 0;
    while (ref) {
      const res = await this._send("GET", ref, { headers: { Accept: "application/x-ndjson" }, retry: true, signal });
      const text = await res.text();
      for (const line of text.split("\n")) {
        if (line.trim() === "") continue;
        const ev = JSON.parse(line);
        const last = to && ev.hash === to.replace(/"/g, "");
        if (!types || types.includes(ev.eventType)) {
          yield ev;
          if (++n === limit) return;
        }
        if (last) return;
      }
      ref = linkNext(res.headers.get("Link"), res.url || ref);
    }
  }

  /**
   * follow yields events as they are stored, oldest first: first those
   * already in the log after the start (after, from, or a consumer's
   * position; the whole log without any; after: "head" for only new
   * ones), then each new one as soon as it is durable, until signal
   * aborts (follow then returns, without an error) or the loop breaks.
   * It reads GET /events?follow=true as NDJSON over fetch's streaming
   * body. onCaughtUp({head, count}) is called each time the replay of a
   * connection reaches the log's head (once per connection: after a
   * reconnect too); heartbeats are skipped. stream, recursive and
   * eventType (a string "a,b" or an array) are sent to the server.
   *
   * When the connection drops (a network error, a 5xx, the server
   * restarting, or its end line — CGI ends each follow after
   * follow.cgiSeconds) follow connects again after the last position it
   * knows: the last event it yielded, or the head named by caughtUp or
   * end, so no event is missed or yielded twice. It waits before each
   * new try after a failure, doubling from retry.wait (default 250 ms) to
   * retry.maxWait (default 15 s), at random up to a half less; after an
   * end line it connects again at once. onRetry({attempt, delay, error})
   * is called before each wait. A 4xx (bad parameters, a hash not in the
   * log, a stream follow on a server without it) is thrown.
   * @param {import("./apie").FollowParams} [params]
   * @returns {AsyncGenerator<import("./apie").Event>}
   */
  async *follow(params = {}) {
    const { signal, onCaughtUp, onRetry } = params;
    const types = eventTypes(params.eventType, "follow");
    const backoff = { wait: 250, maxWait: 15_000, ...params.retry };
    if (params.from && params.after) throw new TypeError("follow: give from or after, not both");
    if (params.consumer && (params.from || params.after)) throw new TypeError("follow: consumer does not go with from or after");
    let key = params.from ? "from" : "after";
    let at = params.from ?? params.after ?? "";
    if (params.consumer) {
      const pos = await this.position(params.consumer, { signal });
      at = pos.after ?? EMPTY_HASH;
    }
    at = String(at).replace(/"/g, "");
    if (key === "after" && at === "head") {
      // Pin "head" to a hash now, so that a reconnect before the first
      // caughtUp resumes from where this follow began, not from a later head.
      at = (await this.head({ signal })).hash ?? EMPTY_HASH;
    }
    let failures = 0;
    while (!signal?.aborted) {
      const q = new URLSearchParams({ follow: "true" });
      if (at) q.set(key, at);
      if (params.stream) q.set("stream", params.stream);
      if (params.recursive) q.set("recursive", "true");
      if (types) q.set("eventType", types.join(","));
      let ended = false;
      let error = null;
      try {
        const res = await this._send("GET", "/events?" + q, { headers: { Accept: "application/x-ndjson" }, signal });
        if (!res.body) throw new TypeError("follow: this fetch cannot stream a response body; use wait()");
        for await (const line of ndjsonLines(res.body)) {
          const m = JSON.parse(line);
          if (typeof m?.hash === "string") {
            key = "after";
            at = m.hash;
            failures = 0;
            yield m;
          } else if (m?.apie === "caughtUp") {
            if (typeof m.head === "string" && m.head !== "") { key = "after"; at = m.head; }
            failures = 0;
            onCaughtUp?.({ head: m.head === EMPTY_HASH ? null : m.head ?? null, count: m.count ?? 0 });
          } else if (m?.apie === "end") {
            if (typeof m.after === "string" && m.after !== "") { key = "after"; at = m.after; }
            ended = true;
            break;
          }
          // heartbeat, and lines of later versions: nothing to do.
        }
      } catch (err) {
        if (signal?.aborted) return;
        if (err instanceof ApieError && err.status >= 400 && err.status < 500 && err.status !== 408 && err.status !== 429) throw err;
        if (err instanceof SyntaxError) throw new ApieError(`follow: a line that is not JSON: ${err.message}`, { status: 0, cause: err });
        if (err instanceof TypeError && String(err.message).startsWith("follow:")) throw err;
        error = err;
      }
      if (ended) continue;
      failures++;
      const delay = Math.min(backoff.wait * 2 ** (failures - 1), backoff.maxWait) * (1 - Math.random() / 2);
      onRetry?.({ attempt: failures, delay, error: error ?? new ApieError("follow: the server closed the connection", { status: 0 }) });
      try {
        await sleep(delay, signal);
      } catch {
        return;
      }
    }
  }

  /**
   * wait is a long-poll, for where a streaming answer cannot get through:
   * GET /events?after=…&wait=seconds answers as soon as at least one
   * event (of eventType, when given) follows after, with the events that
   * do (at most limit, default 1000 on the server), or [] when seconds
   * (default 30; at most 300 under apie-serve, 55 under CGI) pass first.
   * after is a hash, "head", or EMPTY_HASH (before the first event). Call
   * it again after the last event it returned. It is retried as read is.
   * @param {import("./apie").WaitParams} params
   * @returns {Promise<import("./apie").Event[]>}
   */
  async wait(params = {}) {
    const { seconds = 30, signal } = params;
    if (!(Number.isInteger(seconds) && seconds >= 0)) throw new TypeError("wait: seconds must be a whole number from 0");
    const types = eventTypes(params.eventType, "wait");
    const q = new URLSearchParams();
    if (params.after) q.set("after", String(params.after).replace(/"/g, ""));
    q.set("wait", String(seconds));
    if (params.limit) q.set("limit", String(params.limit));
    if (types) q.set("eventType", types.join(","));
    if (params.stream) q.set("stream", params.stream);
    if (params.recursive) q.set("recursive", "true");
    const res = await this._send("GET", "/events?" + q, { headers: { Accept: "application/json" }, retry: true, signal });
    const text = (await res.text()).trim();
    if (text === "") return [];
    if (text.startsWith("[")) return JSON.parse(text);
    return text.split("\n").filter((l) => l.trim() !== "").map((l) => JSON.parse(l));
  }

  /**
   * streams yields the streams named prefix or below it (all without
   * prefix), by name, as {stream, version, first, last} (first and last
   * are the hashes of its first and last event), fetched pageSize (default
   * 1000) at a time from GET /streams following Link; limit stops after
   * that many in all.
   * @param {{prefix?: string, limit?: number, pageSize?: number, signal?: AbortSignal}} [params]
   * @returns {AsyncGenerator<import("./apie").StreamInfo>}
   */
  async *streams(params = {}) {
    const { limit, pageSize = 1000, signal } = params;
    if (limit !== undefined && !(Number.isInteger(limit) && limit > 0)) throw new TypeError("streams: limit must be a positive integer");
    const q = new URLSearchParams();
    if (params.prefix) q.set("prefix", params.prefix);
    q.set("limit", String(limit === undefined ? pageSize : Math.min(pageSize, limit)));
    let ref = this.url("/streams?" + q);
    let n = 0;
    while (ref) {
      const res = await this._send("GET", ref, { retry: true, signal });
      for (const s of await res.json()) {
        yield s;
        if (++n === limit) return;
      }
      ref = linkNext(res.headers.get("Link"), res.url || ref);
    }
  }

  /**
   * back yields events newest first, starting at the event whose hash is
   * given (default: the head) and walking prevHash links one event at a
   * time (GET /events/<hash>), at most limit of them. Each event yielded
   * has been checked: its hash recomputes to the hash asked for, so what
   * it yields is the chain that ends at the start hash.
   * @param {{before?: string, from?: string, limit?: number, signal?: AbortSignal}} [params]
   * @returns {AsyncGenerator<import("./apie").Event>}
   */
  async *back(params = {}) {
    let hash = params.from ?? null;
    if (params.before) hash = (await this.event(params.before, params)).prevHash;
    if (hash === null) hash = (await this.head(params)).hash;
    for (let n = 0; hash && hash !== EMPTY_HASH && (params.limit === undefined || n < params.limit); n++) {
      const ev = await this.event(hash, params);
      const got = await eventHash(ev);
      if (got !== hash) throw new ApieError(`event ${hash}: its members hash to ${got}: the answer was altered`, { status: 0 });
      yield ev;
      hash = ev.prevHash;
    }
  }

  /**
   * verify checks events, a slice of the log in order, by the hash rule
   * (see verify below), with the client's own SHA-256 and JCS.
   */
  verify(events, options) {
    return verify(events, options);
  }

  /**
   * putBlob stores bytes (a Blob or File, an ArrayBuffer, a typed array,
   * or a string) and returns the server's description
   * {hash, url, size, contentType, filename, created}. filename defaults
   * to a File's name, contentType to a Blob's type. onProgress(sent,
   * total) is called as the bytes go out: in browsers from the upload's
   * progress events, in Node as the request body is read. Retried as
   * append is: the bytes are held, and storing them twice stores them
   * once.
   * @param {Blob|ArrayBuffer|ArrayBufferView|string} data
   * @param {{filename?: string, contentType?: string, hash?: string, onProgress?: (sent: number, total: number) => void, signal?: AbortSignal}} [options]
   */
  async putBlob(data, options = {}) {
    const blob = data instanceof Blob ? data : new Blob([data]);
    const filename = options.filename ?? (typeof File !== "undefined" && data instanceof File ? data.name : "");
    const contentType = options.contentType ?? blob.type ?? "";
    const name = options.hash ? (checkHash(options.hash, "putBlob"), options.hash) : filename;
    const path = "/storage/" + encodeURIComponent(name);
    const headers = contentType ? { "Content-Type": contentType } : {};
    const res = await this._send("PUT", path, { headers, body: blob, retry: true, signal: options.signal, onProgress: options.onProgress });
    const info = await res.json();
    return { ...info, created: res.status === 201 };
  }

  /** blobURL is the URL of a stored blob (GET needs auth: see getBlob). */
  blobURL(hash) {
    checkHash(hash, "blobURL");
    return this.url("/storage/" + hash);
  }

  /**
   * getBlob fetches a blob's bytes as a Blob with its content type, and
   * checks they hash to the name asked for (an ApieError if not).
   * @param {string} hash
   */
  async getBlob(hash, { signal } = {}) {
    checkHash(hash, "getBlob");
    const res = await this._send("GET", "/storage/" + hash, { retry: true, signal });
    const bytes = new Uint8Array(await res.arrayBuffer());
    const got = await sha256Hex(bytes);
    if (got !== hash) throw new ApieError(`blob ${hash}: the bytes received hash to ${got}`, { status: 0 });
    return new Blob([bytes], { type: res.headers.get("Content-Type") ?? "" });
  }

  /** deleteBlob removes a blob (404 ApieError if absent). */
  async deleteBlob(hash, { signal } = {}) {
    checkHash(hash, "deleteBlob");
    await this._send("DELETE", "/storage/" + hash, { retry: true, signal });
  }

  /**
   * info returns GET /info: version, the caller (email, info), whether the
   * caller is an admin (admin: true|false, on servers with erasure), the
   * configuration in force.
   */
  async info({ signal } = {}) {
    return (await this._send("GET", "/info", { retry: true, signal })).json();
  }

  /**
   * position returns a consumer (GET /consumers/<name>):
   * {name, after, seq, lag, updatedAt, updatedBy}, after null (and seq 0)
   * while it is before the first event; an ApieError with status 404 when
   * there is no such consumer.
   * @param {string} name
   * @returns {Promise<import("./apie").Consumer>}
   */
  async position(name, { signal } = {}) {
    const res = await this._send("GET", consumerPath(name, "position"), { retry: true, signal });
    return res.json();
  }

  /**
   * commit creates or moves a consumer (PUT /consumers/<name>) to just
   * after the event whose hash is given, or before the first event
   * (after null), and returns it with created true when it was new. A
   * move goes only forward: backwards is a ConsumerPositionError with
   * status 409 unless force. With ifMatch (a hash, or null for "before the
   * first event") the move happens only if the consumer is there; with
   * ifAbsent only if it does not exist; else a ConsumerPositionError with
   * status 412 whose consumer (and after) says where it is now. Without
   * either it is retried as append is (moving to the same place twice
   * changes nothing); with one it is sent once, since a retry after a
   * lost answer would find it moved and answer 412.
   * @param {string} name
   * @param {string|null} after
   * @param {{ifMatch?: string|null, ifAbsent?: boolean, force?: boolean, signal?: AbortSignal}} [options]
   * @returns {Promise<import("./apie").Consumer & {created: boolean}>}
   */
  async commit(name, after, options = {}) {
    const path = consumerPath(name, "commit");
    if (after !== null) checkHash(after, "commit");
    const headers = { "Content-Type": "application/json" };
    const conditional = options.ifMatch !== undefined || options.ifAbsent === true;
    if (options.ifMatch !== undefined) {
      if (options.ifMatch !== null) checkHash(options.ifMatch, "commit: ifMatch");
      headers["If-Match"] = `"${options.ifMatch ?? EMPTY_HASH}"`;
    }
    if (options.ifAbsent) headers["If-None-Match"] = "*";
    const body = options.force ? { after, force: true } : { after };
    let res;
    try {
      res = await this._send("PUT", path, { headers, body: JSON.stringify(body), retry: !conditional, signal: options.signal });
    } catch (err) {
      if (err instanceof ApieError && (err.status === 412 || err.status === 409)) {
        throw new ConsumerPositionError(err.message, { status: err.status, body: err.body, headers: err.headers });
      }
      throw err;
    }
    return { ...(await res.json()), created: res.status === 201 };
  }

  /**
   * consumers lists every consumer (GET /consumers), ordered by name.
   * @returns {Promise<import("./apie").Consumer[]>}
   */
  async consumers({ signal } = {}) {
    return (await this._send("GET", "/consumers", { retry: true, signal })).json();
  }

  /**
   * deleteConsumer removes a consumer (DELETE /consumers/<name>); an
   * ApieError with status 404 when there is none.
   * @param {string} name
   */
  async deleteConsumer(name, { signal } = {}) {
    await this._send("DELETE", consumerPath(name, "deleteConsumer"), { signal });
  }

  /**
   * erase erases an event's body (POST /events/<hash>/erase), as an admin:
   * the stored event keeps everything but its body (null) and bodySalt,
   * and a tombstone event {eventType: "apie.erased", body: {erased, seq,
   * reason}} is appended; erase returns that tombstone (the same one when
   * the event was erased already, so a retry is safe). A caller who is
   * not an admin gets an ApieError with status 403 that says so (see
   * info().admin); an unknown hash, 404.
   * @param {string} hash
   * @param {string} reason why, kept in the tombstone (at most 4096 bytes)
   * @returns {Promise<import("./apie").Event>}
   */
  async erase(hash, reason, { signal } = {}) {
    checkHash(hash, "erase");
    if (typeof reason !== "string" || reason.trim() === "") throw new TypeError("erase: give the reason, a non-empty string");
    try {
      const res = await this._send("POST", `/events/${hash}/erase`, {
        headers: { "Content-Type": "application/json" }, body: JSON.stringify({ reason }), retry: true, signal,
      });
      return await res.json();
    } catch (err) {
      if (err instanceof ApieError && err.status === 403) {
        const who = this._user === undefined ? "this token's user" : JSON.stringify(this._user);
        throw new ApieError(`erase ${hash}: refused (403): only an admin may erase an event (apie.json "admins"), and ${who} is not one`, {
          status: 403, body: err.body, headers: err.headers, cause: err,
        });
      }
      throw err;
    }
  }

  /**
   * request sends any other request with the client's credentials and
   * retries, and returns the Response of a 2xx/3xx (else an ApieError).
   * @param {string} method
   * @param {string} path under the base URL, e.g. "/events/verify"
   * @param {{headers?: Record<string,string>, body?: any, retry?: boolean, signal?: AbortSignal}} [init]
   */
  request(method, path, init = {}) {
    return this._send(method, path, init);
  }

  // _send sends one request, retrying network errors and 5xx answers when
  // init.retry, and turns a 4xx/5xx into an ApieError.
  async _send(method, ref, init = {}) {
    const url = /^https?:\/\//i.test(ref) ? ref : this.url(ref);
    const attempts = init.retry ? Math.max(1, this._retry.attempts) : 1;
    let renewed = false;
    for (let n = 1; ; n++) {
      const headers = { ...init.headers, Authorization: await this._authorization(init.auth) };
      let res;
      try {
        res = await this._transport(method, url, headers, init);
      } catch (err) {
        if (init.signal?.aborted) throw err;
        if (n >= attempts) throw new ApieError(`${method} ${url}: ${err?.message ?? err}`, { status: 0, cause: err });
        await sleep(this._pause(n, null), init.signal);
        continue;
      }
      if (res.status < 400) return res;
      // A bearer token refused (its user's password changed, its key was
      // replaced): take a new one once, if the client can.
      if (res.status === 401 && init.auth !== "basic" && this._user !== undefined && !renewed) {
        renewed = true;
        this._token = null;
        continue;
      }
      const err = await errorOf(method, url, res);
      if (res.status < 500 || n >= attempts) throw err;
      await sleep(this._pause(n, res), init.signal);
    }
  }

  async _authorization(kind) {
    if (kind === "basic") {
      return "Basic " + base64(new TextEncoder().encode(`${this._user}:${this._password}`));
    }
    if (this._user === undefined && this._token === null) return "";
    return "Bearer " + (await this.token()).token;
  }

  // _pause is the wait in ms before try n+1: doubling from wait, at most
  // maxWait, shortened at random by up to a half; a 503's Retry-After.
  _pause(n, res) {
    const { wait, maxWait } = this._retry;
    let d = Math.min(wait * 2 ** (n - 1), maxWait);
    d -= Math.random() * d / 2;
    const after = res?.status === 503 ? Number(res.headers.get("Retry-After")) : NaN;
    return Number.isFinite(after) && after >= 0 ? Math.min(after * 1000, maxWait) : d;
  }

  // _transport sends one request: with XMLHttpRequest where it exists and
  // upload progress is wanted (fetch reports none), else with fetch.
  async _transport(method, url, headers, init) {
    for (const k of Object.keys(headers)) if (headers[k] === "") delete headers[k];
    if (init.onProgress && init.body instanceof Blob) {
      if (typeof XMLHttpRequest !== "undefined") return xhr(method, url, headers, init);
      // A stream body would go chunked, which CGI refuses (411): its
      // length is known, so it is sent.
      headers["Content-Length"] = String(init.body.size);
      return this._fetch(url, { method, headers, body: progressBody(init.body, init.onProgress), duplex: "half", signal: init.signal, credentials: "omit" });
    }
    return this._fetch(url, { method, headers, body: init.body, signal: init.signal, credentials: "omit" });
  }
}

/**
 * verify checks a slice of the log, oldest first, by apie's hash rule:
 *   bodyHash = SHA-256(JCS({"body": body, "salt": bodySalt})) when the event has a bodySalt,
 *              SHA-256(JCS(body)) otherwise;
 *   hash     = SHA-256(JCS(the event without hash, body and bodySalt));
 *   prevHash = the hash of the event before (EMPTY_HASH for seq 1).
 * A body that does not match its bodyHash is accepted only when it is null,
 * the event has no bodySalt, and a later event of the slice, of type
 * apie.erased, names it (body.erased); such events are counted as erased.
 * prev is the hash the first event must follow (default: EMPTY_HASH when
 * its seq is 1, else its own prevHash, unchecked). With links: false only
 * each event's own hashes are checked (a read of one stream).
 * Returns {ok: true, events, erased, head} or {ok: false, events (checked
 * before the fault), index, seq, hash, reason}.
 * @param {import("./apie").Event[]} events
 * @param {{prev?: string, links?: boolean}} [options]
 * @returns {Promise<import("./apie").VerifyReport>}
 */
export async function verify(events, options = {}) {
  const links = options.links ?? true;
  // A tombstone counts only for events before it.
  const seen = new Map();
  events.forEach((ev, i) => { if (ev?.eventType === "apie.erased" && typeof ev.body?.erased === "string" && !seen.has(ev.body.erased)) seen.set(ev.body.erased, i); });
  let prev = options.prev ?? (events[0]?.seq === 1 ? EMPTY_HASH : events[0]?.prevHash);
  let erased = 0;
  for (let i = 0; i < events.length; i++) {
    const ev = events[i];
    const fail = (reason) => ({ ok: false, events: i, index: i, seq: ev?.seq ?? null, hash: ev?.hash ?? null, reason });
    if (ev === null || typeof ev !== "object" || Array.isArray(ev)) return fail("not an event object");
    if (!HASH_RE.test(ev.hash ?? "") || !HASH_RE.test(ev.bodyHash ?? "") || !HASH_RE.test(ev.prevHash ?? "")) return fail("hash, bodyHash or prevHash is not 64 lowercase hex");
    if (links && ev.prevHash !== prev) return fail(`prevHash is ${ev.prevHash}, the event before is ${prev}`);
    if (links && i > 0 && ev.seq !== events[i - 1].seq + 1) return fail(`seq ${ev.seq} follows seq ${events[i - 1].seq}`);
    const salted = "bodySalt" in ev;
    if (salted && !/^[0-9a-f]{32}$/.test(ev.bodySalt)) return fail("bodySalt is not 32 lowercase hex");
    let bodyHash;
    try {
      bodyHash = await sha256Hex(jcs(salted ? { body: ev.body, salt: ev.bodySalt } : ev.body));
    } catch (e) {
      return fail("body: " + e.message);
    }
    if (bodyHash !== ev.bodyHash) {
      const t = seen.get(ev.hash);
      if (ev.body !== null || salted) return fail("the body does not match bodyHash");
      if (t === undefined || t <= i) return fail("the body is null and does not match bodyHash, and no later apie.erased event names this event");
      erased++;
    }
    const rest = {};
    for (const k of Object.keys(ev)) if (k !== "hash" && k !== "body" && k !== "bodySalt") rest[k] = ev[k];
    let hash;
    try {
      hash = await sha256Hex(jcs(rest));
    } catch (e) {
      return fail(e.message);
    }
    if (hash !== ev.hash) return fail(`its members hash to ${hash}, not to its hash`);
    prev = ev.hash;
  }
  return { ok: true, events: events.length, erased, head: events.length ? prev : (options.prev ?? null) };
}

/**
 * eventHash returns the hash an event's members give by the hash rule
 * (its hash, body and bodySalt left out), whatever its hash member says.
 * @param {object} ev
 */
export async function eventHash(ev) {
  const rest = {};
  for (const k of Object.keys(ev)) if (k !== "hash" && k !== "body" && k !== "bodySalt") rest[k] = ev[k];
  return sha256Hex(jcs(rest));
}

/**
 * jcs returns the RFC 8785 canonical JSON text of a JSON value: object
 * members sorted by their keys' UTF-16 code units, no whitespace, numbers
 * as ECMAScript prints them, strings with only the escapes JSON requires.
 * It throws on what JSON cannot hold: NaN, Infinity, undefined, functions,
 * lone surrogates, cycles.
 * @param {unknown} v
 * @returns {string}
 */
export function jcs(v) {
  return canon(v, new Set());
}

function canon(v, path) {
  if (v === null) return "null";
  switch (typeof v) {
    case "boolean":
      return v ? "true" : "false";
    case "number":
      if (!Number.isFinite(v)) throw new TypeError(`JCS: ${v} is not a JSON number`);
      return Object.is(v, -0) ? "0" : String(v);
    case "string":
      if (LONE_SURROGATE.test(v)) throw new TypeError("JCS: a string holds a lone surrogate");
      return JSON.stringify(v);
    case "object": {
      if (path.has(v)) throw new TypeError("JCS: a cycle");
      path.add(v);
      let out;
      if (Array.isArray(v)) {
        out = "[" + v.map((x) => canon(x, path)).join(",") + "]";
      } else {
        const keys = Object.keys(v).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
        out = "{" + keys.map((k) => canon(k, path) + ":" + canon(v[k], path)).join(",") + "}";
      }
      path.delete(v);
      return out;
    }
    default:
      throw new TypeError(`JCS: a ${typeof v} is not a JSON value`);
  }
}

/**
 * sha256Hex returns the lowercase hex SHA-256 of a string's UTF-8 bytes or
 * of bytes, with WebCrypto where the page may use it (a secure context:
 * https, or localhost), else with the module's own implementation.
 * @param {string|Uint8Array} data
 */
export async function sha256Hex(data) {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  const subtle = globalThis.crypto?.subtle;
  const digest = subtle ? new Uint8Array(await subtle.digest("SHA-256", bytes)) : sha256(bytes);
  return hex(digest);
}

/**
 * newUUID returns a random (version 4) UUID, from crypto.getRandomValues
 * (which, unlike crypto.randomUUID, pages on plain http have too).
 */
export function newUUID() {
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = hex(b);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

// sha256 is FIPS 180-4 SHA-256, for pages without WebCrypto.
const K = new Uint32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);

/** @param {Uint8Array} msg */
export function sha256(msg) {
  const h = new Uint32Array([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);
  const total = Math.ceil((msg.length + 9) / 64) * 64;
  const buf = new Uint8Array(total);
  buf.set(msg);
  buf[msg.length] = 0x80;
  const dv = new DataView(buf.buffer);
  const bits = msg.length * 8;
  dv.setUint32(total - 8, Math.floor(bits / 2 ** 32));
  dv.setUint32(total - 4, bits >>> 0);
  const w = new Uint32Array(64);
  for (let off = 0; off < total; off += 64) {
    for (let i = 0; i < 16; i++) w[i] = dv.getUint32(off + i * 4);
    for (let i = 16; i < 64; i++) {
      const a = w[i - 15], b = w[i - 2];
      const s0 = ((a >>> 7) | (a << 25)) ^ ((a >>> 18) | (a << 14)) ^ (a >>> 3);
      const s1 = ((b >>> 17) | (b << 15)) ^ ((b >>> 19) | (b << 13)) ^ (b >>> 10);
      w[i] = (w[i - 16] + s0 + w[i - 7] + s1) | 0;
    }
    let [a, b, c, d, e, f, g, hh] = h;
    for (let i = 0; i < 64; i++) {
      const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
      const t1 = (hh + S1 + ((e & f) ^ (~e & g)) + K[i] + w[i]) | 0;
      const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
      const t2 = (S0 + ((a & b) ^ (a & c) ^ (b & c))) | 0;
      hh = g; g = f; f = e; e = (d + t1) | 0; d = c; c = b; b = a; a = (t1 + t2) | 0;
    }
    h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e; h[5] += f; h[6] += g; h[7] += hh;
  }
  const out = new Uint8Array(32);
  const odv = new DataView(out.buffer);
  h.forEach((x, i) => odv.setUint32(i * 4, x));
  return out;
}

function hex(bytes) {
  let s = "";
  for (const b of bytes) s += b.toString(16).padStart(2, "0");
  return s;
}

function base64(bytes) {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}

function checkHash(hash, where) {
  if (typeof hash !== "string" || !HASH_RE.test(hash)) throw new TypeError(`${where}: ${JSON.stringify(hash)} is not a hash (64 lowercase hex)`);
}

// consumerPath is the path of a consumer, its name checked as the server
// would (1–128 of A-Z a-z 0-9 . _ -, not "." or "..").
function consumerPath(name, where) {
  if (typeof name !== "string" || !/^[A-Za-z0-9._-]{1,128}$/.test(name) || name === "." || name === "..") {
    throw new TypeError(`${where}: ${JSON.stringify(name)} is not a consumer name (1–128 of A-Z a-z 0-9 . _ -, not . or ..)`);
  }
  return "/consumers/" + name;
}

function parseExpiry(v) {
  if (v === undefined || v === null || v === "") return null;
  const d = v instanceof Date ? v : new Date(v);
  return Number.isNaN(d.getTime()) ? null : d;
}

// query builds GET /events's query string from read parameters.
function query(p) {
  const q = new URLSearchParams();
  for (const k of ["from", "after", "to", "stream", "consumer"]) if (p[k]) q.set(k, String(p[k]).replace(/"/g, ""));
  if (p.recursive) q.set("recursive", "true");
  if (p.limit) q.set("limit", String(p.limit));
  const s = q.toString();
  return s ? "?" + s : "";
}

// eventTypes turns eventType ("a,b" or ["a", "b"]) into a list, or null
// for none.
function eventTypes(v, where) {
  if (v === undefined || v === null || v === "") return null;
  const list = (Array.isArray(v) ? v : String(v).split(",")).map((t) => String(t).trim()).filter((t) => t !== "");
  if (list.length === 0) throw new TypeError(`${where}: eventType names no type`);
  return list;
}

// ndjsonLines yields the non-empty lines of a streaming body as they
// arrive (a line padded with spaces, as some proxies need, is trimmed).
async function* ndjsonLines(body) {
  if (!body) return;
  const reader = body.getReader();
  const dec = new TextDecoder();
  let buf = "";
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      buf += dec.decode(value, { stream: true });
      let i;
      while ((i = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, i).trim();
        buf = buf.slice(i + 1);
        if (line !== "") yield line;
      }
    }
  } finally {
    // Done, broken off or failed: hang up.
    reader.cancel().catch(() => {});
  }
  // A last line without its newline was cut off: it is not used.
}

// linkNext returns the absolute URL of a Link header's rel="next", or "".
function linkNext(link, base) {
  if (!link) return "";
  for (const part of link.split(",")) {
    const m = /^\s*<([^>]*)>(.*)$/.exec(part);
    if (m && /;\s*rel="?next"?/i.test(m[2])) return new URL(m[1], base).href;
  }
  return "";
}

async function errorOf(method, url, res) {
  let body = null;
  try {
    body = await res.json();
  } catch {
    // not JSON: a proxy's page; the status says enough.
  }
  const msg = typeof body?.errorMessage === "string" ? body.errorMessage : `HTTP ${res.status}`;
  const head = res.status === 412 ? (res.headers.get("X-Apie-Hash") || (res.headers.get("ETag") ?? "").replace(/"/g, "") || null) : null;
  const path = url.replace(/^https?:\/\/[^/]+/i, "");
  return new ApieError(`${method} ${path}: ${res.status}: ${msg}`, { status: res.status, body, head, headers: res.headers });
}

function sleep(ms, signal) {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => { clearTimeout(t); reject(signal.reason); }, { once: true });
  });
}

// progressBody is a Blob as a ReadableStream of 64 KiB slices that
// reports how much of it has been read (Node's fetch reads it as it
// sends, so this is what has gone to the socket, less its buffers).
function progressBody(blob, onProgress) {
  const step = 64 * 1024;
  let sent = 0;
  onProgress(0, blob.size);
  return new ReadableStream({
    async pull(ctl) {
      if (sent >= blob.size) return ctl.close();
      const chunk = new Uint8Array(await blob.slice(sent, sent + step).arrayBuffer());
      sent += chunk.byteLength;
      ctl.enqueue(chunk);
      onProgress(sent, blob.size);
    },
  });
}

// xhr sends a request with XMLHttpRequest, for its upload progress, and
// answers a fetch-like Response.
function xhr(method, url, headers, init) {
  return new Promise((resolve, reject) => {
    const x = new XMLHttpRequest();
    x.open(method, url);
    for (const [k, v] of Object.entries(headers)) x.setRequestHeader(k, v);
    x.responseType = "arraybuffer";
    x.upload.onprogress = (e) => init.onProgress(e.loaded, e.lengthComputable ? e.total : init.body.size);
    x.onload = () => {
      const h = new Headers();
      for (const line of x.getAllResponseHeaders().trim().split(/[\r\n]+/)) {
        const i = line.indexOf(":");
        if (i > 0) h.append(line.slice(0, i).trim(), line.slice(i + 1).trim());
      }
      resolve(new Response(x.status === 204 || x.status === 304 ? null : x.response, { status: x.status, headers: h }));
    };
    x.onerror = () => reject(new TypeError("network error"));
    x.onabort = () => reject(init.signal?.reason ?? new DOMException("aborted", "AbortError"));
    init.signal?.addEventListener("abort", () => x.abort(), { once: true });
    init.onProgress(0, init.body.size);
    x.send(init.body);
  });
}
