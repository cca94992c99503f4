// The hash rule, JCS and SHA-256 of apie.js, against apie's own test
// vectors (event/testdata), the RFC 8785 test files, node:crypto, and
// salted and erased events built here from the rule's text, without the
// module's JCS.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { createHash } from "node:crypto";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { jcs, verify, sha256, sha256Hex, eventHash, EMPTY_HASH } from "../apie.js";

const testdata = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..", "event", "testdata");
const vectors = JSON.parse(readFileSync(join(testdata, "vectors.json"), "utf8"));
const sha = (s) => createHash("sha256").update(s).digest("hex");

test("JCS: the RFC 8785 test files", () => {
  const dir = join(testdata, "jcs");
  const names = readdirSync(dir).filter((f) => f.endsWith(".in.json"));
  assert.ok(names.length >= 6, `only ${names.length} test files`);
  for (const f of names) {
    const want = readFileSync(join(dir, f.replace(".in.", ".out.")), "utf8").replace(/\n$/, "");
    assert.equal(jcs(JSON.parse(readFileSync(join(dir, f), "utf8"))), want, f);
  }
});

test("JCS: each vector's request canonicalises to its stored body", () => {
  for (const v of vectors) assert.equal(jcs(JSON.parse(v.request)), v.body, v.name);
});

test("JCS: refuses what JSON cannot hold", () => {
  for (const [name, v] of [["NaN", NaN], ["Infinity", Infinity], ["lone surrogate", "\ud800"], ["lone low surrogate", "a\udc00"], ["reversed pair", "\udc00\ud800"], ["undefined", undefined], ["function", () => 1], ["bigint", 1n]]) {
    assert.throws(() => jcs({ v: [v] }), TypeError, name);
  }
  const cyc = {};
  cyc.self = cyc;
  assert.throws(() => jcs(cyc), /cycle/);
  assert.equal(jcs({ a: -0, b: [1e21, 1e-7] }), '{"a":0,"b":[1e+21,1e-7]}');
  assert.equal(jcs("\ud83d\ude00"), '"😀"', "a surrogate pair is one character");
});

test("SHA-256: the module's own implementation agrees with node:crypto at every padding boundary", async () => {
  for (const n of [0, 1, 3, 55, 56, 57, 63, 64, 65, 119, 120, 127, 128, 1000, 70_000]) {
    const b = new Uint8Array(n).map((_, i) => (i * 31 + n) & 255);
    const want = createHash("sha256").update(b).digest("hex");
    assert.equal(Buffer.from(sha256(b)).toString("hex"), want, `own, ${n} bytes`);
    assert.equal(await sha256Hex(b), want, `WebCrypto, ${n} bytes`);
  }
  assert.equal(await sha256Hex(""), EMPTY_HASH);
});

test("verify: the vectors' records are one good chain", async () => {
  const events = vectors.map((v) => JSON.parse(v.record));
  const r = await verify(events);
  const erased = events.filter((e) => e.eventType === "apie.erased").length;
  assert.ok(erased > 0, "the vectors hold an erased event");
  assert.deepEqual(r, { ok: true, events: vectors.length, erased, head: vectors.at(-1).hash });
  for (const [i, v] of vectors.entries()) assert.equal(await eventHash(events[i]), v.hash, v.name);
});

test("verify: any change to a record is found where it is", async () => {
  const fresh = () => vectors.map((v) => JSON.parse(v.record));
  const cases = [
    ["body", (e) => { e[2].body = { changed: true }; }, 2, /body does not match/],
    ["a body number", (e) => { e[1].body.n[0] = 2; }, 1, /body does not match/],
    ["eventType", (e) => { e[3].eventType = "other"; }, 3, /hash to/],
    ["createdBy", (e) => { e[0].createdBy = "mallory"; }, 0, /hash to/],
    ["an added member", (e) => { e[4].extra = 1; }, 4, /hash to/],
    ["a removed event", (e) => { e.splice(2, 1); }, 2, /prevHash/],
    ["two swapped events", (e) => { [e[1], e[2]] = [e[2], e[1]]; }, 1, /prevHash/],
    ["a body nulled with no tombstone", (e) => { e[5 - 1].body = null; }, 4, /no later apie.erased/],
    ["a salt added", (e) => { e[0].bodySalt = "00".repeat(16); }, 0, /body does not match/],
  ];
  for (const [name, change, index, reason] of cases) {
    const events = fresh();
    change(events);
    const r = await verify(events);
    assert.equal(r.ok, false, name);
    assert.equal(r.index, index, `${name}: ${r.reason}`);
    assert.match(r.reason, reason, name);
  }
  const r = await verify(fresh().slice(2), { prev: vectors[0].hash });
  assert.equal(r.ok, false, "a slice that does not follow prev");
  assert.equal((await verify(fresh().slice(2))).ok, true, "a slice without prev follows its own first prevHash");
  assert.equal((await verify(fresh().slice(2), { prev: vectors[1].hash })).ok, true);
});

// headOf builds an event's canonical bytes without hash, body and bodySalt
// by the rule's text: members in code-unit order, JSON.stringify's own
// serialization of each (ASCII keys, strings and integers only here).
function headOf(ev) {
  const keys = Object.keys(ev).filter((k) => !["hash", "body", "bodySalt"].includes(k)).sort();
  return "{" + keys.map((k) => JSON.stringify(k) + ":" + JSON.stringify(ev[k])).join(",") + "}";
}

// chain builds stored events from [eventType, canonical body text, salt?],
// hashing by the rule with node:crypto.
function chain(specs) {
  let prev = EMPTY_HASH;
  return specs.map(([eventType, bodyText, salt], i) => {
    const bodyHash = salt === undefined ? sha(bodyText) : sha(`{"body":${bodyText},"salt":"${salt}"}`);
    const ev = { seq: i + 1, eventId: `00000000-0000-4000-8000-${String(i).padStart(12, "0")}`, eventType,
      createdBy: "alice@example.com", createdAt: "2027-01-01T00:00:00.000000Z", prevHash: prev, bodyHash };
    ev.hash = sha(headOf(ev));
    ev.body = JSON.parse(bodyText);
    if (salt !== undefined) ev.bodySalt = salt;
    prev = ev.hash;
    return ev;
  });
}

const SALT = "0f1e2d3c4b5a69788796a5b4c3d2e1f0";

test("verify: salted bodies hash as SHA-256(JCS({body, salt}))", async () => {
  const events = chain([["a", vectors[0].body, SALT], ["b", vectors[2].body, "ff".repeat(16)], ["c", vectors[3].body]]);
  assert.deepEqual(await verify(events), { ok: true, events: 3, erased: 0, head: events[2].hash });
  // The unsalted hash of a salted body is wrong, and the other way round.
  const unsalted = structuredClone(events);
  unsalted[0].bodyHash = sha(vectors[0].body);
  assert.equal((await verify(unsalted)).ok, false);
  const other = structuredClone(events);
  other[1].bodySalt = "ee".repeat(16);
  assert.match((await verify(other)).reason, /body does not match/);
  const bad = structuredClone(events);
  bad[0].bodySalt = "XYZ";
  assert.match((await verify(bad)).reason, /bodySalt/);
});

test("verify: an erased event passes only with null body, no salt, and a later tombstone", async () => {
  const build = (withTombstone) => {
    const specs = [["person.added", '{"email":"bob@example.com"}', SALT], ["x", "1"]];
    const events = chain(specs);
    if (withTombstone) {
      const t = chain([...specs, ["apie.erased", JSON.stringify({ erased: events[0].hash, reason: "asked", seq: 1 })]]);
      events.push(t[2]);
    }
    // Erasure: the body and its salt leave the record; hashes stay.
    events[0].body = null;
    delete events[0].bodySalt;
    return events;
  };
  const good = build(true);
  assert.deepEqual(await verify(good), { ok: true, events: 3, erased: 1, head: good[2].hash });

  const cases = [
    ["no tombstone", build(false), /no later apie.erased/],
    ["the salt kept", (() => { const e = build(true); e[0].bodySalt = SALT; return e; })(), /body does not match/],
    ["a body other than null", (() => { const e = build(true); e[0].body = {}; return e; })(), /body does not match/],
    ["a tombstone for another event", (() => {
      const e = build(true);
      e[2].body.erased = e[1].hash;
      return e;
    })(), /no later apie.erased|hash to/],
  ];
  for (const [name, events, reason] of cases) {
    const r = await verify(events);
    assert.equal(r.ok, false, name);
    assert.match(r.reason, reason, name);
  }
});
