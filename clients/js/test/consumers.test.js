// Consumers and erasure through apie.js, against a real apie-serve whose
// apie.json makes the test's user an admin.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { Apie, ApieError, ConsumerPositionError, verify } from "../apie.js";
import { startServe, addUser, USER, PASSWORD } from "./server.js";

const srv = await startServe({ after }, { admins: [USER] });
const fast = { attempts: 4, wait: 1, maxWait: 5 };
const client = (user = USER, password = PASSWORD) => new Apie(srv.url, { user, password, retry: fast });

async function all(c, params) {
  const out = [];
  for await (const ev of c.read(params)) out.push(ev);
  return out;
}

test("consumers: create at null, read with consumer, move forward, position and lag", async () => {
  const c = client();
  const made = await c.append(Array.from({ length: 5 }, (_, i) => ({ eventType: "job", body: i })));
  const { count } = await c.head();

  const created = await c.commit("mailer", null);
  assert.equal(created.created, true);
  assert.equal(created.name, "mailer");
  assert.equal(created.after, null, "before the first event");
  assert.equal(created.seq, 0);
  assert.equal(created.lag, count);
  assert.equal(created.updatedBy, USER);
  const pos = await c.position("mailer");
  assert.equal(pos.after, null);
  assert.equal(pos.lag, count);

  // At null, a read with the consumer starts at the first event.
  const fromStart = await all(c, { consumer: "mailer" });
  assert.equal(fromStart.length, count);
  assert.equal(fromStart[0].seq, 1);

  const moved = await c.commit("mailer", made[2].hash);
  assert.equal(moved.created, false);
  assert.equal(moved.after, made[2].hash);
  assert.equal(moved.seq, made[2].seq);
  assert.equal(moved.lag, 2);
  const rest = await all(c, { consumer: "mailer" });
  assert.deepEqual(rest.map((e) => e.hash), [made[3].hash, made[4].hash]);
  const limited = await all(c, { consumer: "mailer", limit: 1 });
  assert.deepEqual(limited.map((e) => e.hash), [made[3].hash]);

  assert.equal((await all(c, { consumer: "nobody" }).catch((e) => e)).status, 404);
  assert.equal((await c.position("nobody").catch((e) => e)).status, 404);
  assert.equal((await c.commit("mailer", "ab".repeat(32)).catch((e) => e)).status, 404, "a hash not in the log");
  for (const bad of ["", ".", "..", "a/b", "x".repeat(129), "é"]) {
    await assert.rejects(c.position(bad), TypeError, JSON.stringify(bad));
  }
  await assert.rejects(c.commit("mailer", "not a hash"), TypeError);
});

test("consumers: If-Match is a compare-and-swap, a 412 says where the consumer is", async () => {
  const c = client();
  const [a, b, d] = await c.append([{ eventType: "w", body: 1 }, { eventType: "w", body: 2 }, { eventType: "w", body: 3 }]);
  await c.commit("worker", null, { ifAbsent: true });
  // From null, with ifMatch null (sent as the empty string's hash).
  const first = await c.commit("worker", a.hash, { ifMatch: null });
  assert.equal(first.after, a.hash);
  const second = await c.commit("worker", b.hash, { ifMatch: a.hash });
  assert.equal(second.after, b.hash);

  // A competing worker that read the old position loses.
  const stale = await c.commit("worker", d.hash, { ifMatch: a.hash }).catch((e) => e);
  assert.ok(stale instanceof ConsumerPositionError, String(stale));
  assert.ok(stale instanceof ApieError);
  assert.equal(stale.status, 412);
  assert.equal(stale.after, b.hash, "the current position");
  assert.deepEqual(stale.consumer, { name: "worker", exists: true, after: b.hash, seq: b.seq });
  assert.equal((await c.position("worker")).after, b.hash, "nothing moved");

  const wasNull = await c.commit("worker", d.hash, { ifMatch: null }).catch((e) => e);
  assert.equal(wasNull.status, 412);
  assert.equal(wasNull.after, b.hash);

  const again = await c.commit("worker", null, { ifAbsent: true }).catch((e) => e);
  assert.ok(again instanceof ConsumerPositionError);
  assert.equal(again.status, 412);
  assert.equal(again.consumer.exists, true);

  const missing = await c.commit("ghost", a.hash, { ifMatch: a.hash }).catch((e) => e);
  assert.ok(missing instanceof ConsumerPositionError);
  assert.equal(missing.status, 412);
  assert.equal(missing.consumer.exists, false);
  assert.equal(missing.after, null);
  assert.equal((await c.position("ghost").catch((e) => e)).status, 404, "a failed create creates nothing");
});

test("consumers: backwards is a 409 naming the position, unless force", async () => {
  const c = client();
  const [a, b] = await c.append([{ eventType: "r", body: 1 }, { eventType: "r", body: 2 }]);
  await c.commit("replay", b.hash);
  const back = await c.commit("replay", a.hash).catch((e) => e);
  assert.ok(back instanceof ConsumerPositionError, String(back));
  assert.equal(back.status, 409);
  assert.equal(back.after, b.hash);
  assert.equal((await c.position("replay")).after, b.hash);
  const toNull = await c.commit("replay", null).catch((e) => e);
  assert.equal(toNull.status, 409);

  const forced = await c.commit("replay", a.hash, { force: true });
  assert.equal(forced.after, a.hash);
  const rewound = await c.commit("replay", null, { force: true });
  assert.equal(rewound.after, null);
  assert.equal(rewound.seq, 0);
  // The same place again is no move, and no error.
  assert.equal((await c.commit("replay", null)).after, null);
});

test("consumers: list ordered by name, delete", async () => {
  const c = client();
  const [ev] = await c.append([{ eventType: "l", body: 1 }]);
  await c.commit("zz-last", ev.hash);
  await c.commit("aa-first", null);
  const list = await c.consumers();
  const names = list.map((x) => x.name);
  assert.deepEqual(names, [...names].sort());
  assert.ok(names.includes("aa-first") && names.includes("zz-last"), names.join(","));
  const z = list.find((x) => x.name === "zz-last");
  assert.equal(z.after, ev.hash);
  assert.equal(typeof z.lag, "number");

  await c.deleteConsumer("zz-last");
  assert.ok(!(await c.consumers()).some((x) => x.name === "zz-last"));
  assert.equal((await c.position("zz-last").catch((e) => e)).status, 404);
  assert.equal((await c.deleteConsumer("zz-last").catch((e) => e)).status, 404);
});

test("erase: an admin erases a body, the tombstone is in the chain, the log verifies with erased 1", async () => {
  const c = client();
  assert.equal((await c.info()).admin, true);
  const [keep, gone, later] = await c.append([
    { eventType: "person.added", body: { email: "keep@example.org" } },
    { eventType: "person.added", body: { email: "forget-me@example.org" } },
    { eventType: "person.added", body: { email: "later@example.org" } },
  ]);
  assert.match(gone.bodySalt, /^[0-9a-f]{32}$/);
  const tomb = await c.erase(gone.hash, "GDPR request 7");
  assert.equal(tomb.eventType, "apie.erased");
  assert.deepEqual(tomb.body, { erased: gone.hash, seq: gone.seq, reason: "GDPR request 7" });
  assert.equal(tomb.createdBy, USER);
  assert.equal((await c.head()).hash, tomb.hash, "the tombstone is the new head");

  const erased = await c.event(gone.hash);
  assert.equal(erased.body, null);
  assert.equal("bodySalt" in erased, false);
  assert.equal(erased.hash, gone.hash);
  assert.deepEqual((await c.event(keep.hash)).body, { email: "keep@example.org" });

  // Erasing again answers the same tombstone; nothing is appended.
  const count = (await c.head()).count;
  assert.equal((await c.erase(gone.hash, "again")).hash, tomb.hash);
  assert.equal((await c.head()).count, count);

  // The served log, tombstone and all, verifies; one event is erased.
  const events = await all(c, {});
  const report = await verify(events);
  assert.equal(report.ok, true, report.reason);
  assert.equal(report.erased, 1);
  assert.equal(report.head, tomb.hash);
  assert.equal(report.events, events.length);
  // Without the tombstone the null body is damage.
  const cut = events.filter((e) => e.hash !== tomb.hash);
  const bad = await verify(cut);
  assert.equal(bad.ok, false);
  assert.equal(bad.seq, gone.seq);
  assert.ok(later.seq > gone.seq);

  await assert.rejects(c.erase(keep.hash, ""), TypeError);
  await assert.rejects(c.erase("nope", "x"), TypeError);
  assert.equal((await c.erase("ab".repeat(32), "x").catch((e) => e)).status, 404);
});

test("erase: a user who is not an admin gets a clear 403, and nothing changes", async () => {
  addUser(srv, "bob@example.org", "bob's long password");
  const admin = client();
  const bob = client("bob@example.org", "bob's long password");
  const ev = await admin.append({ eventType: "note", body: { text: "stays" } });
  const { count } = await admin.head();
  assert.equal((await bob.info()).admin, false);
  const err = await bob.erase(ev.hash, "I want it gone").catch((e) => e);
  assert.ok(err instanceof ApieError, String(err));
  assert.equal(err.status, 403);
  assert.match(err.message, /only an admin may erase/);
  assert.match(err.message, /bob@example\.org/);
  assert.deepEqual((await admin.event(ev.hash)).body, { text: "stays" });
  assert.equal((await admin.head()).count, count);
});
