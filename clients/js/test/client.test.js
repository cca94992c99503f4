// apie.js against a real apie-serve, built from this repository and
// started by the test.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { createHash } from "node:crypto";
import { Apie, ApieError, EMPTY_HASH, verify } from "../apie.js";
import { startServe, USER, PASSWORD } from "./server.js";

const srv = await startServe({ after });

// counting returns a fetch that records each request's method and URL
// (and may replace an answer with fault(n, url, init)), and the list.
function counting(fault) {
  const calls = [];
  const f = async (url, init) => {
    calls.push({ method: init.method, url: String(url) });
    const injected = fault?.(calls.length, String(url), init);
    if (injected === "drop") {
      await fetch(url, init); // the server does it; the answer is lost
      throw new TypeError("fetch failed (the test dropped the answer)");
    }
    if (injected) return injected;
    return fetch(url, init);
  };
  return { fetch: f, calls };
}

const fast = { attempts: 4, wait: 1, maxWait: 5 };
const client = (opts = {}) => new Apie(srv.url, { user: USER, password: PASSWORD, retry: fast, ...opts });
const tokenCalls = (calls) => calls.filter((c) => c.url.endsWith("/auth/token")).length;

test("append: one event, a batch, client-made eventIds, a chain that verifies", async () => {
  const c = client();
  const one = await c.append({ eventType: "todo.added", body: { title: "milk" } });
  assert.equal(one.eventType, "todo.added");
  assert.deepEqual(one.body, { title: "milk" });
  assert.match(one.eventId, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  const batch = await c.append([{ eventType: "a", body: 1 }, { eventType: "b", body: [2, 3], eventId: "00000000-0000-4000-8000-0000000000bb" }]);
  assert.equal(batch.length, 2);
  assert.equal(batch[1].eventId, "00000000-0000-4000-8000-0000000000bb");
  assert.equal(batch[0].prevHash, one.hash);
  assert.equal((await verify([one, ...batch], { prev: one.prevHash })).ok, true);
  await assert.rejects(c.append({ body: 1 }), TypeError);
  await assert.rejects(c.append({ eventType: "x" }), TypeError);
});

test("append: a lost answer is retried with the same eventId and stored once", async () => {
  const { fetch: f, calls } = counting((n, url, init) => (init.method === "POST" && url.endsWith("/events") && n <= 3 ? "drop" : null));
  const c = client({ fetch: f });
  const before = await c.head();
  const ev = await c.append({ eventType: "retried", body: { n: 1 } });
  const after = await c.head();
  assert.equal(after.count, before.count + 1, "the event is in the log once");
  assert.equal(after.hash, ev.hash);
  const posts = calls.filter((x) => x.method === "POST" && x.url.endsWith("/events"));
  assert.ok(posts.length >= 2, `sent ${posts.length} times`);
});

test("append: a 5xx is retried, a 4xx never", async () => {
  let injected = false;
  const { fetch: f, calls } = counting((n, url, init) => {
    if (injected || init.method !== "POST" || !url.endsWith("/events")) return null;
    injected = true;
    return new Response('{"status":"error","errorMessage":"injected"}', { status: 503 });
  });
  const c = client({ fetch: f });
  const ev = await c.append({ eventType: "after503", body: null });
  assert.equal(ev.eventType, "after503");
  assert.equal(calls.filter((x) => x.method === "POST" && x.url.endsWith("/events")).length, 2);

  calls.length = 0;
  const err = await c.append({ eventType: "bad", body: 1, eventId: "not-a-uuid" }).catch((e) => e);
  assert.ok(err instanceof ApieError);
  assert.equal(err.status, 400);
  assert.match(err.message, /eventId/);
  assert.equal(calls.filter((x) => x.method === "POST" && x.url.endsWith("/events")).length, 1, "a 400 is sent once");
});

test("append: a stale If-Match is a 412 naming the current head", async () => {
  const c = client();
  const first = await c.append({ eventType: "x", body: 1 });
  const second = await c.append({ eventType: "x", body: 2 }, { ifMatch: first.hash });
  assert.equal(second.prevHash, first.hash);
  const err = await c.append({ eventType: "x", body: 3 }, { ifMatch: first.hash }).catch((e) => e);
  assert.ok(err instanceof ApieError, String(err));
  assert.equal(err.status, 412);
  assert.equal(err.head, second.hash);
  const empty = await c.append({ eventType: "x", body: 4 }, { ifMatch: EMPTY_HASH }).catch((e) => e);
  assert.equal(empty.status, 412);
  assert.equal(empty.head, second.hash);
});

test("read: pages follow Link; from, after, to and limit", async () => {
  const c = client();
  const { fetch: f, calls } = counting();
  const r = client({ fetch: f });
  const made = await c.append(Array.from({ length: 25 }, (_, i) => ({ eventType: "page", body: i })));
  const got = [];
  for await (const ev of r.read({ from: made[0].hash, pageSize: 10 })) got.push(ev);
  assert.deepEqual(got.map((e) => e.hash), (await all(c, { from: made[0].hash })).map((e) => e.hash));
  assert.ok(got.length >= 25);
  assert.deepEqual(got.slice(0, 25).map((e) => e.body), made.map((e) => e.body));
  const reads = calls.filter((x) => x.method === "GET");
  assert.ok(reads.length >= 3, `${reads.length} pages`);
  assert.match(reads[1].url, /after=[0-9a-f]{64}/, "the second page is the Link's");

  const slice = await all(r, { after: made[4].hash, to: made[9].hash, pageSize: 2 });
  assert.deepEqual(slice.map((e) => e.body), [5, 6, 7, 8, 9]);
  const capped = await all(r, { from: made[0].hash, limit: 7, pageSize: 3 });
  assert.deepEqual(capped.map((e) => e.body), [0, 1, 2, 3, 4, 5, 6]);
  const missing = await all(r, { after: "ab".repeat(32) }).catch((e) => e);
  assert.equal(missing.status, 404);
});

test("read: stream and recursive go to the server as query parameters", async () => {
  const { fetch: f, calls } = counting();
  const r = client({ fetch: f });
  const got = await all(r, { stream: "/orders", recursive: true }).catch((e) => e);
  const url = new URL(calls.filter((x) => x.method === "GET").at(-1).url);
  assert.equal(url.searchParams.get("stream"), "/orders");
  assert.equal(url.searchParams.get("recursive"), "true");
  // A server without streams refuses the parameter by name; one with
  // them answers the stream's events.
  if (got instanceof Error) assert.match(got.message, /stream/);
  else assert.ok(Array.isArray(got));
});

test("verify: the log a real apie-serve wrote, read through the client and from its file", async () => {
  const c = client();
  await c.append([{ eventType: "u", body: { "é": "☕", n: [1.5, -0, 1e21], s: "\u2028" } }, { eventType: "v", body: "x" }]);
  const events = await all(c, {});
  const r = await verify(events);
  assert.equal(r.ok, true, r.reason);
  assert.equal(r.events, events.length);
  assert.equal(r.head, (await c.head()).hash);
  // The log file on disk is the NDJSON the server serves.
  const file = readFileSync(join(srv.dir, "apie-data", "events", "log"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
  assert.equal((await verify(file)).ok, true);
  assert.equal(file.length, events.length);
  const tampered = structuredClone(events);
  tampered[3].body = "changed";
  const bad = await verify(tampered);
  assert.equal(bad.ok, false);
  assert.equal(bad.seq, tampered[3].seq);
});

test("back: newest first from the head, each event checked", async () => {
  const c = client();
  const made = await c.append([{ eventType: "b", body: 1 }, { eventType: "b", body: 2 }, { eventType: "b", body: 3 }]);
  const got = [];
  for await (const ev of c.back({ limit: 3 })) got.push(ev);
  assert.deepEqual(got.map((e) => e.hash), made.map((e) => e.hash).reverse());
  const older = [];
  for await (const ev of c.back({ before: made[1].hash, limit: 1 })) older.push(ev);
  assert.deepEqual(older.map((e) => e.hash), [made[0].hash]);
  // An answer altered on the way is refused.
  const { fetch: f } = counting();
  const lying = client({
    fetch: async (url, init) => {
      const res = await f(url, init);
      if (init.method !== "GET" || !/\/events\/[0-9a-f]{64}$/.test(String(url))) return res;
      const ev = await res.json();
      ev.createdBy = "mallory";
      return new Response(JSON.stringify(ev), { status: 200, headers: res.headers });
    },
  });
  await assert.rejects(async () => { for await (const _ of lying.back({ limit: 1 })); }, /altered/);
});

test("tokens: one token serves many requests, renewed before its expiry and after it is revoked", async () => {
  const { fetch: f, calls } = counting();
  const seen = [];
  const c = client({ fetch: f, onToken: (t) => seen.push(t) });
  await c.head();
  await c.head();
  await c.info();
  assert.equal(tokenCalls(calls), 1);
  assert.equal(seen.length, 1);
  assert.ok(seen[0].expires > new Date(Date.now() + 30 * 60_000), "a token of the server's lifetime (1h)");
  const bearer = calls.filter((x) => !x.url.endsWith("/auth/token"));
  assert.ok(bearer.length >= 3);

  // renewBefore longer than a token lives: each request takes a new one.
  const eager = counting();
  const e = client({ fetch: eager.fetch, renewBefore: 2 * 3600_000 });
  await e.head();
  await e.head();
  assert.equal(tokenCalls(eager.calls), 2);

  // A token dies with a password change; the client takes a new one.
  await c.request("POST", "/user/update", { headers: { "Content-Type": "application/json" }, body: JSON.stringify({ password: "interim password 1" }) });
  const back = new Apie(srv.url, { user: USER, password: "interim password 1", retry: fast });
  await back.request("POST", "/user/update", { headers: { "Content-Type": "application/json" }, body: JSON.stringify({ password: PASSWORD }) });
  const before = tokenCalls(calls);
  await c.head();
  assert.equal(tokenCalls(calls), before + 1, "the revoked token was replaced");

  // A client given only a token uses it; wrong credentials are a 401.
  const only = new Apie(srv.url, { token: seen.at(-1).token, expires: seen.at(-1).expires, retry: fast });
  assert.equal(typeof (await only.head()).count, "number");
  const wrong = await new Apie(srv.url, { user: USER, password: "wrong", retry: fast }).head().catch((x) => x);
  assert.equal(wrong.status, 401);
  const expired = await new Apie(srv.url, { token: "abc", expires: new Date(Date.now() - 1000) }).head().catch((x) => x);
  assert.equal(expired.status, 401);
  assert.match(expired.message, /expired/);
});

test("blobs: put with progress, get back byte-identical, by hash, delete", async () => {
  const c = client();
  const bytes = new Uint8Array(3 * 1024 * 1024 + 17).map((_, i) => (i * 7) & 255);
  const want = createHash("sha256").update(bytes).digest("hex");
  const progress = [];
  const put = await c.putBlob(bytes, { filename: "data.bin", contentType: "application/x-test", onProgress: (s, t) => progress.push([s, t]) });
  assert.equal(put.hash, want);
  assert.equal(put.size, bytes.length);
  assert.equal(put.filename, "data.bin");
  assert.equal(put.created, true);
  assert.ok(progress.length >= 3, `${progress.length} progress calls`);
  assert.deepEqual(progress[0], [0, bytes.length]);
  assert.deepEqual(progress.at(-1), [bytes.length, bytes.length]);
  for (let i = 1; i < progress.length; i++) assert.ok(progress[i][0] >= progress[i - 1][0]);

  assert.equal((await c.putBlob(new Blob([bytes]), { filename: "again.bin" })).created, false);
  const got = await c.getBlob(want);
  assert.equal(got.type, "application/x-test");
  assert.deepEqual(new Uint8Array(await got.arrayBuffer()), bytes);
  assert.equal(c.blobURL(want), srv.url + "/storage/" + want);

  const text = await c.putBlob("hello", { hash: createHash("sha256").update("hello").digest("hex"), contentType: "text/plain" });
  assert.equal(text.size, 5);
  const mismatch = await c.putBlob("hello!", { hash: text.hash }).catch((e) => e);
  assert.equal(mismatch.status, 400);
  await c.deleteBlob(want);
  assert.equal((await c.getBlob(want).catch((e) => e)).status, 404);
  assert.throws(() => c.blobURL("nope"), TypeError);
});

async function all(c, params) {
  const out = [];
  for await (const ev of c.read(params)) out.push(ev);
  return out;
}
