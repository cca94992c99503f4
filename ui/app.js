// The apie page: sign in, the log newest first (kept live by following
// it, GET /events?follow=true, or by polling HEAD /events every 2 s where
// following fails), filtered by stream and type, an event's detail with its
// hash checked here, erasing a body (admins), appending, blobs. It talks to the API it is served
// by: the base URL is this page's own URL without its "/ui/" tail, so it
// works under apie-serve (/ui/) and under CGI (…/apie-cgi/ui/) alike.
import { Apie, ApieError, EMPTY_HASH, VersionConflictError, verify } from "./apie.js";

const here = location.pathname;
const base = location.origin + here.slice(0, here.lastIndexOf("/ui/"));
const tokenKey = "apie.token " + base;
const uploadsKey = "apie.uploads " + base;
const PAGE = 25;
const POLL_MS = 2000;
const $ = (id) => document.getElementById(id);

const state = {
  client: null,
  rows: new Map(), // hash -> {ev, ok, reason, tr}
  top: null, // hash of the newest event shown (null: none)
  cursor: null, // hash of the next older event to load (EMPTY_HASH: none)
  chainOK: true, // every event loaded so far links to the head and hashes right
  tombstones: new Map(), // erased hash -> its apie.erased event
  stream: "",
  recursive: false, // with the stream: its sub-streams too
  count: 0, // events in the log (or the stream) shown as the count
  gen: 0, // bumped by each reload: live work of an older one is dropped
  live: null, // AbortController of the follow
  queue: Promise.resolve(), // live additions, one after another
  admin: false, // the signed-in user may erase (GET /info)
  detail: null, // hash of the event whose detail is open
  busy: false,
  timer: 0,
};

// ---- status and errors

function say(msg) {
  $("status").textContent = msg;
}

function fail(err) {
  if (err instanceof ApieError && err.status === 401) {
    signOut("Your session has ended: sign in again.");
    return;
  }
  const a = $("alert");
  a.textContent = err instanceof Error ? err.message : String(err);
  a.hidden = false;
}

function clearAlert() {
  $("alert").hidden = true;
  $("alert").textContent = "";
}

// ---- sign in and out

function start() {
  const saved = JSON.parse(sessionStorage.getItem(tokenKey) ?? "null");
  if (saved && new Date(saved.expires) > new Date()) {
    useToken(saved);
  } else {
    showSignIn();
  }
  $("signin-form").addEventListener("submit", signIn);
  $("signout").addEventListener("click", () => signOut("Signed out."));
  $("filters").addEventListener("submit", applyFilters);
  $("filter-recursive").addEventListener("change", applyFilters);
  $("filter-type").addEventListener("input", filterRows);
  $("older").addEventListener("click", () => guard(loadOlder));
  $("detail-close").addEventListener("click", closeDetail);
  $("erase-form").addEventListener("submit", askErase);
  $("erase-yes").addEventListener("click", () => eraseShown());
  $("erase-no").addEventListener("click", cancelErase);
  $("erase-confirm").addEventListener("keydown", (e) => { if (e.key === "Escape") cancelErase(); });
  $("append-body").addEventListener("input", () => checkBody(false));
  $("append-form").addEventListener("submit", appendEvent);
  setUpBlobs();
}

function showSignIn() {
  $("signin").hidden = false;
  $("app").hidden = true;
  $("who").hidden = true;
  $("signin-user").focus();
}

async function signIn(e) {
  e.preventDefault();
  clearAlert();
  const user = $("signin-user").value.trim();
  const password = $("signin-password").value;
  try {
    const c = new Apie(base, { user, password });
    const t = await c.token();
    $("signin-password").value = "";
    const saved = { user, token: t.token, expires: t.expires?.toISOString() ?? null };
    sessionStorage.setItem(tokenKey, JSON.stringify(saved));
    useToken(saved);
  } catch (err) {
    $("alert").textContent = err instanceof ApieError && err.status === 401 ? "Wrong user or password." : err.message;
    $("alert").hidden = false;
  }
}

function useToken(saved) {
  state.client = new Apie(base, { token: saved.token, expires: saved.expires });
  $("user").textContent = saved.user;
  $("who").hidden = false;
  $("signin").hidden = true;
  $("app").hidden = false;
  loadInfo();
  reload();
}

// loadInfo learns from GET /info whether the user may erase, and marks
// the page with it (data-admin, "true" or "false", once known).
async function loadInfo() {
  state.admin = false;
  delete document.body.dataset.admin;
  try {
    const info = await state.client.info();
    state.admin = info.admin === true;
    document.body.dataset.admin = String(state.admin);
    if (state.detail) renderDetail(state.detail);
  } catch (err) {
    fail(err);
  }
}

function signOut(msg) {
  stopLive();
  state.gen++;
  state.admin = false;
  delete document.body.dataset.admin;
  $("detail").hidden = true;
  state.detail = null;
  resetErase();
  sessionStorage.removeItem(tokenKey);
  state.client = null;
  resetRows();
  say(msg);
  showSignIn();
}

// guard runs one loading step at a time and shows what fails.
async function guard(fn) {
  if (state.busy || !state.client) return;
  state.busy = true;
  try {
    await fn();
  } catch (err) {
    fail(err);
  } finally {
    state.busy = false;
  }
}

// ---- the log

function resetRows() {
  state.rows.clear();
  state.tombstones.clear();
  state.top = null;
  state.cursor = null;
  state.chainOK = true;
  $("events").tBodies[0].replaceChildren();
  $("older").hidden = true;
  $("empty").hidden = true;
  $("count").textContent = "";
}

// reload shows the log (or the stream filtered on) from the start, then
// keeps it live.
async function reload() {
  stopLive();
  const gen = ++state.gen;
  while (state.busy) await new Promise((r) => setTimeout(r, 50));
  if (gen !== state.gen) return;
  resetRows();
  clearAlert();
  await guard(async () => {
    if (state.stream) {
      await loadStream();
    } else {
      const head = await state.client.head();
      setCount(head.count);
      state.top = head.hash;
      state.liveFrom = head.hash ?? EMPTY_HASH;
      state.cursor = head.hash ?? EMPTY_HASH;
      await loadOlder();
      say(head.count ? `Showing the newest of ${head.count} events.` : "The log is empty.");
    }
    if (gen === state.gen) startLive(gen);
  });
}

function setCount(n) {
  state.count = n;
  $("count").textContent = `(${n})`;
  $("empty").hidden = n !== 0;
}

// ---- keeping it live

// startLive follows the log (or the stream) from where the load ended;
// if the server refuses to follow, it polls instead.
function startLive(gen) {
  const ctl = new AbortController();
  state.live = ctl;
  const params = {
    after: state.liveFrom,
    signal: ctl.signal,
    onCaughtUp: () => showLive("live"),
    onRetry: () => showLive("reconnecting"),
  };
  if (state.stream) Object.assign(params, { stream: state.stream, recursive: state.recursive });
  (async () => {
    try {
      for await (const ev of state.client.follow(params)) {
        await enqueue(() => addFresh([ev], gen));
      }
    } catch (err) {
      if (ctl.signal.aborted || gen !== state.gen) return;
      if (err instanceof ApieError && err.status === 401) return fail(err);
      startPolling(gen);
    }
  })();
}

function stopLive() {
  state.live?.abort();
  state.live = null;
  clearInterval(state.timer);
  state.timer = 0;
  showLive("");
}

// startPolling is the fallback: every 2 s, read what follows the newest
// event shown (after a HEAD /events when the whole log is shown).
function startPolling(gen) {
  showLive("polling");
  clearInterval(state.timer);
  state.timer = setInterval(() => {
    if (gen !== state.gen || !state.client) return clearInterval(state.timer);
    enqueue(() => poll(gen)).catch(fail);
  }, POLL_MS);
}

// showLive says how the table is kept up to date.
function showLive(how) {
  const el = $("live");
  el.dataset.mode = how;
  el.textContent = {
    live: "● Live",
    reconnecting: "Reconnecting…",
    polling: "Updated every 2 seconds",
    "": "",
  }[how];
}

// enqueue runs live additions one at a time, in the order they came.
function enqueue(fn) {
  const run = state.queue.then(fn);
  state.queue = run.catch(() => {});
  return run;
}

// loadOlder walks the chain back from the cursor, one event at a time,
// checking each: its members must hash to the hash the newer event (or
// the head) named, and its body to its bodyHash.
async function loadOlder() {
  for (let n = 0; n < PAGE && state.cursor && state.cursor !== EMPTY_HASH; n++) {
    const asked = state.cursor;
    const ev = await state.client.event(asked);
    const check = await checkOne(ev, asked);
    state.chainOK &&= check.ok;
    addRow(ev, state.chainOK, check.reason || (state.chainOK ? "" : "a newer event failed its check, so this one is not linked to the head"), "bottom");
    state.cursor = ev.prevHash;
  }
  $("older").hidden = !state.cursor || state.cursor === EMPTY_HASH;
}

async function checkOne(ev, asked) {
  if (isTombstone(ev)) state.tombstones.set(ev.body.erased, ev);
  const t = state.tombstones.get(ev.hash);
  const r = await verify(t ? [ev, t] : [ev], { links: false });
  if (!r.ok) return { ok: false, reason: r.reason };
  if (asked && ev.hash !== asked) return { ok: false, reason: `asked for ${asked}, got an event whose hash is ${ev.hash}` };
  return { ok: true, reason: "" };
}

// poll reads the events that follow the last one the page has seen.
async function poll(gen = state.gen) {
  if (gen !== state.gen || !state.client) return;
  if (!state.stream && (await state.client.head()).hash === state.liveFrom) return;
  const params = { after: state.liveFrom, pageSize: 500 };
  if (state.stream) Object.assign(params, { stream: state.stream, recursive: state.recursive });
  const fresh = [];
  for await (const ev of state.client.read(params)) {
    fresh.push(ev);
    if (fresh.length > 1000) return reload();
  }
  await addFresh(fresh, gen);
}

// addFresh puts new events on top of the table: checked as a chain that
// follows the newest row for the whole log, each alone for a stream.
async function addFresh(evs, gen) {
  if (gen !== state.gen) return;
  const fresh = evs.filter((ev) => !state.rows.has(ev.hash));
  if (evs.length) state.liveFrom = evs.at(-1).hash;
  if (fresh.length === 0) return;
  if (state.stream) {
    for (const ev of fresh) {
      const c = await checkOne(ev, null);
      if (gen !== state.gen) return;
      addRow(ev, c.ok, c.reason, "top");
    }
  } else {
    const r = await verify(fresh, { prev: state.top ?? EMPTY_HASH });
    if (gen !== state.gen) return;
    for (const ev of fresh) {
      const ok = r.ok || (r.index > fresh.indexOf(ev) && state.chainOK);
      addRow(ev, ok, ok ? "" : r.reason, "top");
    }
    if (state.cursor === null) state.cursor = fresh[0].prevHash;
  }
  state.top = fresh.at(-1).hash;
  setCount(state.count + fresh.length);
  say(`${fresh.length} new event${fresh.length === 1 ? "" : "s"}.`);
  for (const ev of fresh) if (isTombstone(ev)) await applyTombstone(ev);
}

function isTombstone(ev) {
  return ev.eventType === "apie.erased" && typeof ev.body?.erased === "string";
}

// applyTombstone shows an erasure that happened after the erased event
// was loaded: it fetches the event again (its body now null), checks it
// with the tombstone, and updates its row and, if open, its detail.
async function applyTombstone(t) {
  state.tombstones.set(t.body.erased, t);
  const row = state.rows.get(t.body.erased);
  if (!row || row.ev.body === null) return;
  const ev = await state.client.event(t.body.erased);
  const check = await checkOne(ev, t.body.erased);
  row.ev = ev;
  row.ok = row.ok && check.ok;
  row.reason = check.ok ? row.reason : check.reason;
  markRow(row);
  if (state.detail === ev.hash) renderDetail(ev.hash);
}

// loadStream shows one stream's events (with its sub-streams' when
// recursive), each checked alone: a stream's events are not linked to
// one another by prevHash.
async function loadStream() {
  const head = await state.client.head();
  state.liveFrom = head.hash ?? EMPTY_HASH;
  const evs = [];
  const params = { stream: state.stream, recursive: state.recursive, pageSize: 1000 };
  for await (const ev of state.client.read(head.hash ? { ...params, to: head.hash } : params)) evs.push(ev);
  state.top = evs.at(-1)?.hash ?? null;
  for (const ev of evs.reverse()) {
    const c = await checkOne(ev, null);
    addRow(ev, c.ok, c.reason, "bottom");
  }
  setCount(evs.length);
  const where = state.recursive ? `${state.stream} and its sub-streams` : state.stream;
  say(`${evs.length} event${evs.length === 1 ? "" : "s"} in ${where}.`);
}

function addRow(ev, ok, reason, where) {
  if (state.rows.has(ev.hash)) return;
  const tr = document.createElement("tr");
  const cell = (text, cls) => {
    const td = document.createElement("td");
    td.textContent = text;
    if (cls) td.className = cls;
    tr.append(td);
    return td;
  };
  const open = document.createElement("button");
  open.type = "button";
  open.className = "link";
  open.textContent = String(ev.seq);
  open.setAttribute("aria-label", `Event ${ev.seq}, ${ev.eventType}: details`);
  open.addEventListener("click", () => showDetail(ev.hash));
  cell("").append(open);
  cell(ev.eventType, "type");
  cell(typeof ev.stream === "string" ? ev.stream : "", "wide");
  cell(ev.createdBy, "wide");
  const time = cell("");
  const t = document.createElement("time");
  t.dateTime = ev.createdAt;
  t.textContent = ev.createdAt.replace("T", " ").replace(/\.\d+Z$/, "Z");
  time.append(t);
  cell("");
  tr.dataset.hash = ev.hash;
  tr.dataset.type = ev.eventType;
  const body = $("events").tBodies[0];
  if (where === "top") {
    tr.className = "new";
    body.prepend(tr);
  } else {
    body.append(tr);
  }
  const row = { ev, ok, reason, tr };
  state.rows.set(ev.hash, row);
  markRow(row);
  addType(ev.eventType);
  filterRow(tr);
  $("empty").hidden = true;
}

// markRow shows a row's verified mark, and "erased" beside its type when
// its body was erased.
function markRow({ ev, ok, reason, tr }) {
  const mark = tr.cells[5];
  mark.textContent = ok ? "✓" : "✗";
  mark.className = ok ? "ok verified" : "bad unverified";
  mark.title = ok ? "verified in this browser" : "not verified: " + reason;
  mark.setAttribute("aria-label", mark.title);
  const type = tr.cells[1];
  const erased = state.tombstones.has(ev.hash) && ev.body === null;
  tr.classList.toggle("erased", erased);
  if (erased && !type.querySelector(".erased")) {
    const tag = document.createElement("span");
    tag.className = "erased";
    tag.textContent = " (erased)";
    type.append(tag);
  }
}

function addType(type) {
  const list = $("types");
  if ([...list.options].some((o) => o.value === type)) return;
  const o = document.createElement("option");
  o.value = type;
  list.append(o);
}

function filterRow(tr) {
  const want = $("filter-type").value.trim();
  tr.hidden = want !== "" && tr.dataset.type !== want;
}

function filterRows() {
  for (const { tr } of state.rows.values()) filterRow(tr);
}

function applyFilters(e) {
  e.preventDefault();
  filterRows();
  const stream = $("filter-stream").value.trim();
  const recursive = $("filter-recursive").checked;
  if (stream !== state.stream || (stream !== "" && recursive !== state.recursive)) {
    state.stream = stream;
    state.recursive = recursive;
    reload();
  }
}

// ---- an event's detail

function showDetail(hash) {
  renderDetail(hash);
  resetErase();
  $("detail").hidden = false;
  $("detail").focus();
  state.detailFrom = state.rows.get(hash).tr.querySelector("button");
}

// renderDetail fills the detail with an event as the page holds it now.
function renderDetail(hash) {
  const { ev, ok, reason } = state.rows.get(hash);
  state.detail = hash;
  const tomb = ev.body === null ? state.tombstones.get(hash) : undefined;
  $("detail-seq").textContent = String(ev.seq);
  const mark = $("detail-mark");
  mark.className = ok ? "ok" : "bad";
  mark.textContent = ok
    ? "✓ Verified in this browser: its hash recomputes from its contents (SHA-256 over JCS), " +
      (tomb ? "its body was erased and a later apie.erased event names it" : "its body matches its bodyHash") +
      ", and it is linked to the log's head."
    : "✗ Not verified in this browser: " + reason + ".";
  const dl = $("detail-meta");
  dl.replaceChildren();
  for (const k of Object.keys(ev).sort()) {
    if (k === "body") continue;
    const dt = document.createElement("dt");
    dt.textContent = k;
    const dd = document.createElement("dd");
    dd.textContent = typeof ev[k] === "string" ? ev[k] : JSON.stringify(ev[k]);
    dl.append(dt, dd);
  }
  $("detail-body").textContent = JSON.stringify(ev.body, null, 2);
  const erased = $("detail-erased");
  erased.hidden = !tomb;
  erased.textContent = tomb
    ? `Erased by ${tomb.createdBy} at ${tomb.createdAt.replace("T", " ").replace(/\.\d+Z$/, "Z")} (event ${tomb.seq}): ${tomb.body.reason ?? ""}`
    : "";
  // Only an admin may erase; a tombstone cannot be erased, nor a body twice.
  $("erase").hidden = !state.admin || Boolean(tomb) || ev.eventType === "apie.erased";
}

function closeDetail() {
  $("detail").hidden = true;
  state.detail = null;
  resetErase();
  state.detailFrom?.focus();
}

// ---- erase (admins)

function resetErase() {
  $("erase-reason").value = "";
  $("erase-reason").removeAttribute("aria-invalid");
  $("erase-error").textContent = "";
  $("erase-confirm").hidden = true;
  $("erase-start").hidden = false;
}

// askErase checks the reason and asks for a confirmation in the page.
function askErase(e) {
  e.preventDefault();
  const reason = $("erase-reason");
  if (reason.value.trim() === "") {
    reason.setAttribute("aria-invalid", "true");
    $("erase-error").textContent = "Give the reason for erasing: it is kept in the log.";
    reason.focus();
    return;
  }
  reason.removeAttribute("aria-invalid");
  $("erase-error").textContent = "";
  const { ev } = state.rows.get(state.detail);
  $("erase-question").textContent = `Erase the body of event ${ev.seq} (${ev.eventType}) for good?`;
  $("erase-start").hidden = true;
  $("erase-confirm").hidden = false;
  $("erase-no").focus();
}

function cancelErase() {
  $("erase-confirm").hidden = true;
  $("erase-start").hidden = false;
  $("erase-reason").focus();
}

// eraseShown erases the open event's body, then shows the tombstone and
// the erased event as the server now has them.
async function eraseShown() {
  const hash = state.detail;
  const reason = $("erase-reason").value.trim();
  $("erase-yes").disabled = true;
  try {
    const tomb = await state.client.erase(hash, reason);
    say(`Erased the body of event ${tomb.body.seq}; the erasure is event ${tomb.seq}.`);
    await showSoon(tomb.hash);
    if (state.rows.get(hash)?.ev.body !== null) await enqueue(() => applyTombstone(tomb));
    resetErase();
    renderDetail(hash);
    $("detail").focus();
  } catch (err) {
    if (err instanceof ApieError && err.status >= 400 && err.status < 500 && err.status !== 401) {
      $("erase-error").textContent = err.status === 403
        ? "Only an admin may erase an event, and you are not one."
        : err.body?.errorMessage ?? err.message;
      cancelErase();
    } else {
      fail(err);
    }
  } finally {
    $("erase-yes").disabled = false;
  }
}

// ---- append

// checkBody parses the body field, marks it invalid with the reason, and
// returns the value (undefined when invalid). Integers a double cannot
// hold are refused here as the server would.
function checkBody(submitting) {
  const field = $("append-body");
  const out = $("append-error");
  try {
    const v = JSON.parse(field.value, (k, val, ctx) => {
      if (typeof val === "number" && ctx?.source && /^-?\d+$/.test(ctx.source) && !Number.isSafeInteger(val) && BigInt(ctx.source) !== BigInt(val)) {
        throw new SyntaxError(`the number ${ctx.source} cannot be kept exactly: send it as a string`);
      }
      return val;
    });
    field.removeAttribute("aria-invalid");
    out.textContent = "";
    return { value: v };
  } catch (err) {
    field.setAttribute("aria-invalid", "true");
    out.textContent = "Not valid JSON: " + err.message;
    if (submitting) field.focus();
    return undefined;
  }
}

async function appendEvent(e) {
  e.preventDefault();
  clearAlert();
  const type = $("append-type");
  if (type.value.trim() === "") {
    type.setAttribute("aria-invalid", "true");
    $("append-error").textContent = "An event needs a type.";
    type.focus();
    return;
  }
  type.removeAttribute("aria-invalid");
  const body = checkBody(true);
  if (!body) return;
  const ev = { eventType: type.value.trim(), body: body.value };
  const stream = $("append-stream").value.trim();
  if (stream) ev.stream = stream;
  const version = $("append-version");
  const expected = version.value.trim();
  version.removeAttribute("aria-invalid");
  if (expected !== "") {
    if (!/^\d+$/.test(expected) || !stream) {
      version.setAttribute("aria-invalid", "true");
      $("append-error").textContent = stream
        ? "The expected version is a whole number from 0 (0: the stream has no events yet)."
        : "An expected version needs a stream.";
      version.focus();
      return;
    }
    ev.expectedVersion = Number(expected);
  }
  try {
    const stored = await state.client.append(ev);
    say(`Appended event ${stored.seq}${stored.stream ? `, version ${stored.streamSeq} of ${stored.stream}` : ""}.`);
    if (expected !== "") version.value = String(stored.streamSeq);
    await showSoon(stored.hash);
  } catch (err) {
    if (err instanceof VersionConflictError) {
      version.setAttribute("aria-invalid", "true");
      $("append-error").textContent = `${err.stream} is at version ${err.currentVersion}, not ${expected}: nothing was stored.`;
    } else if (err instanceof ApieError && err.status >= 400 && err.status < 500 && err.status !== 401) {
      $("append-error").textContent = err.body?.errorMessage ?? err.message;
    } else {
      fail(err);
    }
  }
}

// showSoon waits until the event stored is in the table (the follow
// brings it), reading it in at once when the table is polled or the
// follow is slow to; an event outside the stream shown never comes.
async function showSoon(hash) {
  for (let i = 0; i < 10 && state.live && !state.rows.has(hash); i++) await new Promise((r) => setTimeout(r, 100));
  if (!state.rows.has(hash)) await enqueue(() => poll());
}

// ---- blobs

function setUpBlobs() {
  const drop = $("drop");
  $("blob-file").addEventListener("change", (e) => {
    if (e.target.files[0]) upload(e.target.files[0]);
  });
  drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    const f = e.dataTransfer?.files?.[0];
    if (f) upload(f);
  });
  renderUploads();
}

async function upload(file) {
  clearAlert();
  $("upload").hidden = false;
  $("upload-name").textContent = file.name;
  $("upload-verb").textContent = "Uploading";
  const bar = $("upload-progress");
  const pct = $("upload-pct");
  try {
    const b = await state.client.putBlob(file, {
      onProgress: (sent, total) => {
        bar.max = total || 1;
        bar.value = sent;
        pct.textContent = total ? `${Math.floor((100 * sent) / total)} %` : "";
      },
    });
    const list = uploads().filter((u) => u.hash !== b.hash);
    list.unshift({ hash: b.hash, filename: b.filename || file.name, size: b.size, contentType: b.contentType, at: new Date().toISOString() });
    localStorage.setItem(uploadsKey, JSON.stringify(list.slice(0, 20)));
    renderUploads();
    $("upload-verb").textContent = "Uploaded";
    say(`Uploaded ${file.name} (${b.size} bytes)${b.created ? "" : ", which was stored already"}.`);
  } catch (err) {
    fail(err);
  } finally {
    $("blob-file").value = "";
  }
}

function uploads() {
  try {
    return JSON.parse(localStorage.getItem(uploadsKey) ?? "[]");
  } catch {
    return [];
  }
}

function renderUploads() {
  const ul = $("uploads");
  ul.replaceChildren();
  for (const u of uploads()) {
    const li = document.createElement("li");
    li.dataset.hash = u.hash;
    li.append(`${u.filename} — ${u.size} bytes, ${u.contentType || "no type"} `);
    const dl = document.createElement("button");
    dl.type = "button";
    dl.textContent = "Download";
    dl.className = "download";
    dl.setAttribute("aria-label", `Download ${u.filename}`);
    dl.addEventListener("click", () => download(u));
    li.append(dl);
    if (u.contentType?.startsWith("image/")) {
      const pv = document.createElement("button");
      pv.type = "button";
      pv.textContent = "Preview";
      pv.className = "preview";
      pv.setAttribute("aria-label", `Preview ${u.filename}`);
      pv.addEventListener("click", () => preview(u));
      li.append(pv);
    }
    ul.append(li);
  }
  $("no-uploads").hidden = ul.children.length > 0;
}

// download fetches the blob with the token (a plain link would carry no
// credentials), checks its hash, and saves it under its name.
async function download(u) {
  try {
    const blob = await state.client.getBlob(u.hash);
    const url = URL.createObjectURL(blob);
    const a = document.createElement("a");
    a.href = url;
    a.download = u.filename || u.hash;
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
    say(`Downloaded ${u.filename} (hash checked).`);
  } catch (err) {
    fail(err);
  }
}

async function preview(u) {
  try {
    const blob = await state.client.getBlob(u.hash);
    const img = $("preview-img");
    if (img.src.startsWith("blob:")) URL.revokeObjectURL(img.src);
    img.src = URL.createObjectURL(blob);
    img.alt = `Preview of ${u.filename}`;
    $("preview-cap").textContent = u.filename;
    $("preview").hidden = false;
  } catch (err) {
    fail(err);
  }
}

start();
