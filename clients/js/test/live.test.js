// follow, wait, streams and expectedVersion against a real apie-serve,
// which one test stops and starts again on the same data directory.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { Apie, ApieError, VersionConflictError, EMPTY_HASH } from "../apie.js";
import { startServe, USER, PASSWORD } from "./server.js";

const srv = await startServe({ after });

const fast = { attempts: 4, wait: 1, maxWait: 5 };
const client = (opts = {}) => new Apie(srv.url, { user: USER, password: PASSWORD, retry: fast, ...opts });

// headHash is the log's head now, EMPTY_HASH on an empty log.
async function headHash(c) {
  return (await c.head()).hash ?? EMPTY_HASH;
}

// take collects n events from an iterator, then stops it.
async function take(it, n) {
  const out = [];
  if (n === 0) return out;
  for await (const ev of it) {
    out.push(ev);
    if (out.length === n) break;
  }
  return out;
}

// gatedFetch is a fetch that records the URLs of follow requests and holds
// each one until gate() lets it through (the first ones pass at once).
function gatedFetch(open = 1) {
  const urls = [];
  const waiting = [];
  let allowed = open;
  const f = async (url, init) => {
    if (String(url).includes("follow=true")) {
      urls.push(String(url));
      if (urls.length > allowed) await new Promise((r) => waiting.push(r));
    }
    return fetch(url, init);
  };
  const gate = () => { allowed = Infinity; waiting.splice(0).forEach((r) => r()); };
  return { fetch: f, urls, gate };
}

test("follow: the replay, then caughtUp, then events another client appends, each once and in order", async () => {
  const writer = client();
  const start = await headHash(writer);
  const old = await writer.append([{ eventType: "f.old", body: 1 }, { eventType: "f.old", body: 2 }, { eventType: "f.old", body: 3 }]);
  const ctl = new AbortController();
  const seen = [];
  let caught = null;
  let appended = null;
  const it = client().follow({
    after: start,
    signal: ctl.signal,
    onCaughtUp: (c) => {
      caught = { ...c, at: seen.length };
      // Appended by another client once the follower is live.
      appended = client().append([{ eventType: "f.new", body: 4 }, { eventType: "f.new", body: 5 }]);
    },
  });
  for await (const ev of it) {
    seen.push(ev);
    if (seen.length === 5) ctl.abort();
  }
  const fresh = await appended;
  assert.deepEqual(seen.map((e) => e.hash), [...old, ...fresh].map((e) => e.hash));
  assert.deepEqual(caught, { head: old[2].hash, count: old[2].seq, at: 3 }, "caughtUp came after the replay, naming the head");
});

test("follow: after the server stops (end line) and starts again, it resumes after the last event, no gap, no repeat", async () => {
  const writer = client();
  const start = await headHash(writer);
  const { fetch: f, urls, gate } = gatedFetch(2); // the first connection and the one refused while stopped pass
  const caughtUps = [];
  const retries = [];
  const ctl = new AbortController();
  const it = client({ fetch: f }).follow({
    after: start,
    signal: ctl.signal,
    retry: { wait: 20, maxWait: 100 },
    onCaughtUp: (c) => caughtUps.push(c),
    onRetry: (r) => retries.push(r),
  })[Symbol.asyncIterator]();
  const e1 = await writer.append({ eventType: "r.one", body: 1 });
  assert.equal((await it.next()).value.hash, e1.hash);

  // SIGTERM: apie-serve sends its followers an end line naming e1, and stops.
  const stopped = srv.stop("SIGTERM");
  const next = it.next(); // reconnects, is refused, waits, and is held by the gate
  await stopped;
  await srv.start();
  const e2 = await writer.append({ eventType: "r.two", body: 2 }); // stored while the follower is away
  const e3 = await writer.append({ eventType: "r.three", body: 3 });
  gate();
  assert.equal((await next).value.hash, e2.hash);
  assert.equal((await it.next()).value.hash, e3.hash);
  const e4 = await writer.append({ eventType: "r.four", body: 4 });
  assert.equal((await it.next()).value.hash, e4.hash, "live again after the resume");
  ctl.abort();
  assert.equal((await it.next()).done, true, "abort ends the iterator without an error");

  assert.ok(retries.length >= 1, "the refused connection was retried after a pause");
  const resumed = urls.slice(1).map((u) => new URL(u).searchParams.get("after"));
  assert.ok(resumed.every((a) => a === e1.hash), `every reconnection asks after e1: ${resumed}`);
  assert.ok(caughtUps.length >= 2, "caughtUp once per connection that got through");
  assert.equal(caughtUps.at(-1).head, e3.hash);
});

test("follow: a connection cut without an end line resumes after the last event yielded", async () => {
  const writer = client();
  const start = await headHash(writer);
  const evs = await writer.append([{ eventType: "c.a", body: 1 }, { eventType: "c.b", body: 2 }, { eventType: "c.c", body: 3 }]);
  const urls = [];
  // The first answer's body is cut after its first line, as a dropped link would.
  const f = async (url, init) => {
    const res = await fetch(url, init);
    if (!String(url).includes("follow=true")) return res;
    urls.push(String(url));
    if (urls.length > 1) return res;
    const reader = res.body.getReader();
    let buf = "";
    const cut = new ReadableStream({
      async pull(ctl) {
        const { value } = await reader.read();
        buf += new TextDecoder().decode(value);
        const i = buf.indexOf("\n");
        if (i < 0) return;
        ctl.enqueue(new TextEncoder().encode(buf.slice(0, i + 1)));
        reader.cancel();
        ctl.error(new TypeError("terminated (the test cut the connection)"));
      },
    });
    return new Response(cut, { status: res.status, headers: res.headers });
  };
  const retries = [];
  const got = await take(client({ fetch: f }).follow({ after: start, retry: { wait: 1, maxWait: 5 }, onRetry: (r) => retries.push(r) }), 3);
  assert.deepEqual(got.map((e) => e.hash), evs.map((e) => e.hash));
  assert.equal(urls.length, 2);
  assert.equal(new URL(urls[1]).searchParams.get("after"), evs[0].hash);
  assert.equal(retries.length, 1);
  assert.match(String(retries[0].error?.message), /terminated/);
});

test("follow and read: eventType keeps only those types, in the replay and live", async () => {
  const writer = client();
  const start = await headHash(writer);
  const evs = await writer.append(["t.x", "t.y", "t.x", "t.z"].map((eventType, i) => ({ eventType, body: i })));
  const want = evs.filter((e) => e.eventType !== "t.y").map((e) => e.hash);
  const ctl = new AbortController();
  const seen = [];
  let later = null;
  const it = client().follow({
    after: start, eventType: ["t.x", "t.z"], signal: ctl.signal,
    onCaughtUp: () => { later ??= writer.append([{ eventType: "t.y", body: 5 }, { eventType: "t.z", body: 6 }]); },
  });
  for await (const ev of it) {
    seen.push(ev);
    if (seen.length === 4) ctl.abort();
  }
  const live = await later;
  assert.deepEqual(seen.map((e) => e.hash), [...want, live[1].hash]);

  const read = [];
  for await (const e of client().read({ after: start, eventType: "t.x,t.z", limit: 3 })) read.push(e.hash);
  assert.deepEqual(read, want, "read filters by type too, and limit counts the events kept");
});

test("follow: a refusal (a hash not in the log) is thrown, not retried", async () => {
  const err = await take(client().follow({ after: "a".repeat(64), retry: { wait: 1 } }), 1).catch((e) => e);
  assert.ok(err instanceof ApieError, String(err));
  assert.equal(err.status, 404);
});

test("wait: answers when an event arrives, and [] when the time runs out", async () => {
  const c = client();
  const at = await headHash(c);
  const waiting = c.wait({ after: at, seconds: 60 });
  const ev = await client().append({ eventType: "w.arrived", body: 1 });
  assert.deepEqual((await waiting).map((e) => e.hash), [ev.hash]);

  const t0 = Date.now();
  assert.deepEqual(await c.wait({ after: ev.hash, seconds: 1 }), []);
  assert.ok(Date.now() - t0 >= 900, "the server held the request for its seconds");

  const typed = c.wait({ after: ev.hash, seconds: 60, eventType: "w.wanted" });
  const [, wanted] = await client().append([{ eventType: "w.other", body: 1 }, { eventType: "w.wanted", body: 2 }]);
  assert.deepEqual((await typed).map((e) => e.hash), [wanted.hash]);
});

test("append: expectedVersion per event; a 412 says the stream and its current version, and stores nothing", async () => {
  const c = client();
  const a = await c.append({ eventType: "o.placed", body: 1, stream: "/orders/7" }, { expectedVersion: 0 });
  assert.equal(a.stream, "/orders/7");
  assert.equal(a.streamSeq, 1);
  assert.equal("expectedVersion" in a, false, "expectedVersion is not stored");
  const batch = await c.append([
    { eventType: "o.line", body: 2, stream: "/orders/7", expectedVersion: 1 },
    { eventType: "o.line", body: 3, stream: "/orders/7", expectedVersion: 2 },
  ]);
  assert.deepEqual(batch.map((e) => e.streamSeq), [2, 3]);

  const before = await c.head();
  const err = await c.append({ eventType: "o.late", body: 4, stream: "/orders/7" }, { expectedVersion: 1 }).catch((e) => e);
  assert.ok(err instanceof VersionConflictError, String(err));
  assert.ok(err instanceof ApieError);
  assert.equal(err.status, 412);
  assert.equal(err.stream, "/orders/7");
  assert.equal(err.currentVersion, 3);
  assert.deepEqual(await c.head(), before, "nothing stored");

  const stale = await c.append({ eventType: "o.x", body: 5 }, { ifMatch: a.hash }).catch((e) => e);
  assert.equal(stale.status, 412);
  assert.equal(stale instanceof VersionConflictError, false, "an If-Match 412 is a plain ApieError");
  assert.equal(stale.head, before.hash);

  await assert.rejects(c.append([{ eventType: "x", body: 1, stream: "/s" }], { expectedVersion: 0 }), TypeError);
  await assert.rejects(c.append({ eventType: "x", body: 1, stream: "/s" }, { expectedVersion: -1 }), TypeError);
  await assert.rejects(c.append({ eventType: "x", body: 1 }, { expectedVersion: 0 }), TypeError);
});

test("read by stream, recursive; streams() lists them page by page", async () => {
  const c = client();
  const evs = await c.append(["/shop", "/shop/1", "/shop/1/lines", "/shop2", "/shop/2"].map((stream, i) => ({ eventType: "s.e", body: i, stream })));
  const hashes = async (p) => { const out = []; for await (const e of c.read(p)) out.push(e.hash); return out; };
  assert.deepEqual(await hashes({ stream: "/shop" }), [evs[0].hash]);
  assert.deepEqual(await hashes({ stream: "/shop/1", pageSize: 1 }), [evs[1].hash]);
  assert.deepEqual(await hashes({ stream: "/shop", recursive: true, pageSize: 2 }), [evs[0], evs[1], evs[2], evs[4]].map((e) => e.hash));

  const listed = [];
  for await (const s of c.streams({ prefix: "/shop", pageSize: 1 })) listed.push(s);
  assert.deepEqual(listed.map((s) => s.stream), ["/shop", "/shop/1", "/shop/1/lines", "/shop/2"]);
  assert.deepEqual(listed[1], { stream: "/shop/1", version: 1, first: evs[1].hash, last: evs[1].hash });
  const two = [];
  for await (const s of c.streams({ limit: 2 })) two.push(s.stream);
  assert.equal(two.length, 2);
});

test("follow: stream and recursive go to the server, which follows that stream and those below it, replay and live", async () => {
  const c = client();
  const start = await headHash(c);
  const evs = await c.append(["/live/a", "/other", "/live/a/b", "/live/ab"].map((stream, i) => ({ eventType: "l.e", body: i, stream })));
  const urls = [];
  const f = (url, init) => { urls.push(String(url)); return fetch(url, init); };
  const ctl = new AbortController();
  let later = null;
  const seen = [];
  const it = client({ fetch: f }).follow({
    after: start, stream: "/live/a", recursive: true, signal: ctl.signal,
    onCaughtUp: () => { later ??= c.append([{ eventType: "l.e", body: 5, stream: "/other" }, { eventType: "l.e", body: 6, stream: "/live/a/c" }]); },
  });
  for await (const ev of it) {
    seen.push(ev);
    if (seen.length === 3) ctl.abort();
  }
  const live = await later;
  const q = new URL(urls.find((u) => u.includes("follow=true"))).searchParams;
  assert.equal(q.get("stream"), "/live/a");
  assert.equal(q.get("recursive"), "true");
  assert.deepEqual(seen.map((e) => e.hash), [evs[0].hash, evs[2].hash, live[1].hash]);
});

test("follow: after 'head' is pinned to the head's hash before the first connection, so a reconnect resumes from there", async () => {
  const c = client();
  await c.append({ eventType: "t.pin", body: 1 });
  const pinned = await headHash(c);
  const urls = [];
  const f = (url, init) => { if (String(url).includes("follow=true")) urls.push(String(url)); return fetch(url, init); };
  const ac = new AbortController();
  const it = client({ fetch: f }).follow({ after: "head", signal: ac.signal });
  const next = it.next();
  await new Promise((r) => setTimeout(r, 200));
  const ev = await c.append({ eventType: "t.pin", body: 2 });
  const got = await next;
  ac.abort();
  assert.ok(urls.length >= 1, "a follow request was sent");
  assert.equal(new URL(urls[0]).searchParams.get("after"), pinned, "the first request names the head's hash, not 'head'");
  assert.equal(got.value.hash, ev.hash, "the follow yields the event appended after it began");
});
