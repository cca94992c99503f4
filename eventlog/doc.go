// Package eventlog is apie's event log on disk: an append-only,
// hash-chained log of events and its indexes in one directory, with
// recovery and verify. It implements store.EventLog; this comment specifies
// its format. The log keeps plain files, written through internal/durable
// and shared safely by any number of processes: writers serialize on an
// flock'd lock file, readers take no lock.
//
// # Event log, format version 1
//
// The log directory (eventlog.path) holds eight files (six before
// streams; see Streams below), and a ninth, damaged, while damage is
// recorded; erase.gen once an event was ever erased, and erasing while
// an erase is in progress (see Erasure). All integers are unsigned,
// little-endian.
//
// format — exactly the 16 bytes "apie-eventlog 1\n". Written (atomically,
// last) when the directory is created. A directory whose format file says
// anything else is refused: a later version must not be read as this one.
//
// log — the events, oldest first. Record i (seq i, 1-based) is
//
//	record = JCS(event) "\n"
//
// where JCS(event) is the RFC 8785 encoding of the whole stored event (the
// object with members body, bodyHash, bodySalt (events stored before
// salts have none), createdAt, createdBy, eventId, eventType, hash,
// prevHash, seq, and for an event of a stream stream and streamSeq, which
// JCS orders last; see package event for the hash rule). An erased record
// is JCS of the erased event followed by spaces up to the old length (see
// Erasure). JCS never emits a raw newline, so '\n' only ends records and
// the file is itself NDJSON: a read is a byte copy (checked against
// erase.gen, see Erasure). The first event's prevHash is
// SHA-256("") and every later one's is its predecessor's hash. A commit (a
// group of records) is one write(2) at the end, then fsync, then fstat to
// check the file grew by exactly that much; only then is it indexed.
//
// seq.idx — 8 bytes per event: entry i (at byte 8·(i−1)) is the end offset
// in log of record i, just past its '\n'. Record i is therefore the bytes
// [entry(i−1), entry(i)) with entry(0) = 0. Entries are appended (one
// write) after the log fsync, so size(seq.idx)/8 is the committed count:
// readers never look past the last entry, and so never see a record that
// was not durable. A trailing partial entry (size not a multiple of 8) is
// ignored by readers and cut by the next writer.
//
// seq.idx itself is fsync'd only at checkpoints (see below), so after a
// power loss only its entries up to the indexes' synced mark are known to
// be on disk: a disk may keep any subset of the later writes, leaving a
// hole (zeros, or lost entries) in the middle of the file as well as a
// short tail. What is trusted after a reboot: the first writer that finds
// neither index header written during its boot (neither carries the
// running boot id, see below) keeps the entries up to the smaller of the
// headers' synced marks (none if a header is unreadable) and writes every
// later entry again from the records it reads in the log from the end
// of the last trusted one (each must verify, have the next seq and link to
// the one before, as in Recovery), cuts the entries past the last such
// record, and fsyncs seq.idx, before it does anything else. A writer of
// the same boot (an index header carries the running boot id: a writer of
// this boot already did that check) trusts every entry and reads nothing.
// Readers that do not hold the lock trust seq.idx as they find it.
//
// hash.idx and id.idx — hash indexes from an event's hash (key =
// SHA-256 of the 32 hash bytes) and from its eventId (key = SHA-256 of the
// eventId string) to its seq. Layout:
//
//	offset  size  field
//	0       8     magic "apie-idx"
//	8       4     version = 1
//	12      4     kind: 1 = hash.idx, 2 = id.idx
//	16      8     C, the slot count of level 0 (a power of two, ≥ 2)
//	24      8     covered: every seq ≤ covered has been inserted
//	32      8     synced: every seq ≤ synced was inserted and fsync'd
//	40      1     length L of the boot id (0..47)
//	41      47    the Linux boot id when covered was written (L bytes, zero padded)
//	88      4     CRC-32C (Castagnoli) of bytes 0..87
//	92      ...   zero up to 4096
//	4096    ...   level 0, level 1, ...
//
// Level k is a table of C·2^k slots of 16 bytes at byte
// 4096 + 16·C·(2^k − 1); the file is sparse, so an unused level costs no
// disk. A slot holds the first 8 bytes of the key, then the seq (8 bytes);
// seq 0 marks an empty slot. With H = C/2, level k holds exactly the seqs
// in (H·(2^k − 1), H·(2^(k+1) − 1)], so no level is ever more than half
// full and the level of a seq is a function of the seq alone. Insertion:
// let p be the key's first 8 bytes read as a little-endian integer; probe
// the slots p mod (C·2^k), p+1, ... (wrapping within the level) and write
// the first empty one (one 16-byte pwrite); finding the same (prefix, seq)
// already there ends the insertion (re-inserting is idempotent). Entries
// never move: no rehash, no split. Lookup probes every level that can hold
// a committed seq, newest first, up to the first empty slot of each, and
// confirms a prefix match by reading the record, so collisions and stray
// slots are harmless.
//
// The inserts of a commit follow its seq.idx entries without an fsync; the
// header's covered is then rewritten. Every 4096 events, and when asked
// (Checkpoint: apie-serve on shutdown), the writer fsyncs seq.idx and both
// indexes and then sets synced = covered; Close does not, so a CGI request
// pays for one fsync of the log only. A
// writer that opens an index trusts entries up to covered when the stored
// boot id equals the running kernel's (a killed process loses nothing that
// reached the page cache) and only up to synced otherwise (after a crash
// of the machine); it re-inserts the missing seqs from the log. The
// boot id is read from /proc/sys/kernel/random/boot_id (none where that
// cannot be read: then only synced is trusted). Tests that play a power
// loss without rebooting the machine give another one
// (LogOptions.BootID; the mains take it from the environment variable
// APIE_TEST_BOOT_ID, which users never set): a different id makes the
// writer trust only synced, as after a real reboot. An index
// with a bad header is rebuilt from the log (logged; the one O(n) path).
// A reader that finds committed events past an index's covered mark (a
// writer between its seq.idx write and its inserts, or dead there) reads
// those few records from the log; if there are more than 1024 it takes
// the lock and catches the index up instead.
//
// # Streams
//
// An event of a stream carries two more members, "stream" (the name, as
// package event's CheckStream allows) and "streamSeq" (its 1-based
// position in that stream), covered by the hash rule like the others. An
// event without a stream has neither, so its bytes are as before streams.
// Streams change neither the format file nor the format version: a log
// written before them is a log whose events have no stream, and opens
// and verifies unchanged (the two files below are created and filled on
// open). An older apie (before streams) reads and verifies a log with
// streams (the hash rule covers any member), refuses "stream" in an
// append request (an unknown member), and may append events without
// streams; the next apie that knows streams finds the stream index's
// covered mark behind the log and catches it up, as below.
//
// stream.idx — a hash index from (stream, version) to seq, in hash.idx's
// layout exactly (header, levels by seq, 16-byte slots, insertion and
// lookup as above), with kind 3 and the key
//
//	key = SHA-256(stream name bytes, 0x00, streamSeq as 8 bytes little-endian)
//
// Lookup confirms a candidate by reading its record (stream and
// streamSeq must match). Every version of a stream from 1 to its current
// one is in it, so a stream's version is found by galloping (probe
// versions 1, 2, 4, … until one is absent, then bisect: O(log version)
// lookups), version v's event is one lookup, and reading k consecutive
// events of a stream costs k lookups and one more that finds the next
// version absent (a read walks a stream until then, without finding its
// version first): never a scan of the log. A read keeps the records its
// lookups confirmed (under the erase seqlock) and sends them.
//
// streams.idx — the streams in the order they began. The same 4096-byte
// header as hash.idx (kind 4; its slot count is unused), then from byte
// 4096 one 8-byte entry per stream: the seq of the stream's first event
// (streamSeq 1), entries strictly increasing. The name is read from that
// record (an open EventLog keeps the names it has read, by that seq: a
// committed record's stream never changes). A trailing partial entry is
// ignored. Listing the streams (GET /streams, a recursive read) reads
// every entry, and a record per stream not yet named: it costs in
// proportion to the number of streams, not of events.
//
// Both files are derived data, kept like hash.idx and id.idx: the
// writer inserts a commit's entries (one stream.idx insert per event of a
// stream, one streams.idx append per new stream) after its hash.idx and
// id.idx inserts, then sets covered in both headers; Checkpoint fsyncs
// them with the others. A writer trusts each up to its header's trusted
// seq (covered, or synced after a reboot), cuts streams.idx entries past
// that seq, and re-inserts the events after it from the log (inserting
// is idempotent, and an entry for an event past the committed count is
// never used: lookups take only seqs up to seq.idx's count and confirm
// the record). A missing file, or one whose header does not check, is
// rebuilt from the log with a log line. Readers that find committed
// events past the coverage read those few from the log (or, over 1024,
// take the lock and catch up) as lookups do. Verify checks that every
// stream's streamSeqs run 1, 2, 3, … in log order (damage otherwise) and
// that every covered event is found through both files; a file that
// disagrees with the log is rebuilt, with a log line, and is not damage.
//
// lock — empty; writers hold an exclusive flock(2) on it (never fcntl
// locks) while they recover, append or repair. Readers never lock.
//
// damaged — present only while damage is recorded: damage that is not a
// torn tail, found by a writer's tail check, by a read that met a bad
// record (confirmed under the lock), by Verify or by apie-serve's
// background scrub. It is one JSON object (encoding/json, members in
// this order) and '\n', at most 4096 bytes:
//
//	{"file":F,"offset":O,"seq":S,"reason":R,"found":T,"by":B}
//
// F is the base name of the damaged file in this directory (log, seq.idx,
// hash.idx or id.idx), O the byte offset in it (−1 unknown), S the seq of
// the damaged event (0 unknown), R what is wrong, T when it was found
// (RFC 3339, UTC, seconds) and B what found it: "append" (the writer's
// tail check, on open or before a commit), "read", "verify" or "scrub".
// It is written under the writer lock, atomically (a temporary
// ".damaged.tmp-*" in the directory, fsync, rename, fsync of the
// directory), and only if no marker names an earlier seq. While the
// file exists, whatever it holds, every writer refuses to append (it
// looks under the lock before each commit: one open(2) that fails with
// ENOENT when all is well, nothing for apie-serve whose inotify watch of
// the directory shows the name untouched); reads go on. A Verify that
// passes removes it under the lock (unless its bytes changed while
// Verify ran) and fsyncs the directory.
//
// The marker does not change the format version: an apie that knows it
// honours it, and an older apie (before the marker) ignores it — it
// neither refuses appends nor removes the file, and appends onto a log a
// newer one found damaged. Do not let an older apie write to a directory
// while damage is recorded.
//
// # Recovery
//
// On open (if the lock is free) and before every commit, a writer holding
// the lock checks the tail — when nothing changed that is a few stat(2)
// calls and small reads — and repairs only the tail: it cuts a partial seq.idx
// entry; walks back over entries that do not end just after a '\n' inside
// the log (unsynced index pages after a power loss); re-indexes complete,
// valid, linked records found past the last indexed end (written by a
// writer that died before indexing them; the log is fsync'd before they
// are indexed, so seq.idx never points at data that is not durable); and
// truncates the
// first incomplete or invalid line and all after it (a torn, never
// acknowledged write), logging the cut — unless a complete record with a
// later seq follows the bad line: a torn write is always the end of the
// file, so that is damage in the middle and nothing is cut. One exception,
// for the first writer after a reboot: a power loss may keep any subset of
// the pages written since the log's last fsync, so an unsynced tail can
// come back with a hole (a page never written reads as zeros; no record
// holds a zero byte) and whole records after it. When the bad line's seq
// is past the indexes' synced mark and zero bytes lie between it and the
// next valid record, none of those records was acknowledged (a completed
// fsync would have written the hole too): the log is cut at the bad line
// and the cut is logged. Damage before the tail —
// the last indexed record does not verify, the chain does not link,
// valid records after a bad one — is a *store.CorruptionError: it is recorded
// in the damaged file, the log keeps serving the intact records but every
// process refuses appends until a Verify passes, and Verify names the
// first bad seq.
//
// What finds damage when: opening and appending check only the tail (the
// last record and anything past seq.idx), so damage further back is
// found by a read that decodes the damaged record (a lookup by hash or
// eventId, the head), by Verify, or by apie-serve's scrub, which checks
// the whole log as Verify does after start and then periodically at a
// bounded rate (Scrub). A plain range read (GET /events) is a byte copy
// and checks nothing.
//
// # Erasure
//
// Erasing event E (seq S, at bytes [a, b) of log, '\n' at b−1) replaces
// its record in place by
//
//	erased = JCS(E with "body": null and no bodySalt) " "·k "\n"
//
// with k spaces (U+0020, JSON whitespace) so that the record keeps its
// length b − a exactly: offsets, seq.idx and the indexes are unchanged,
// and the chain still links because hash covers bodyHash, not body. An
// event whose erased form would be longer than its record (no bodySalt
// and a body shorter than null) cannot be erased. Every reader of
// records (lookups, the head, Verify, recovery) drops trailing spaces
// before it decodes a record; a range read passes them on (JSON
// whitespace). A record whose body is null, with no bodySalt and a
// bodyHash that is not SHA-256("null") is accepted by recovery as a
// valid record, and by Verify only if a later apie.erased event (the
// tombstone, body {"erased": hash of E, "reason": …, "seq": S}, eventId
// derived from E's hash, package event) names both E's hash and S;
// otherwise Verify reports damage at S. Verify counts the erased events
// (LogReport.Erased).
//
// erasing — the intent of an erase in progress: one JSON object and
// '\n', written atomically (durable.WriteFile: temporary file, fsync,
// rename, fsync of the directory):
//
//	{"seq":S,"offset":a,"tombstone":T,"record":R}
//
// T is the tombstone's eventId and R the erased record without its
// '\n', already padded to b − a − 1 bytes.
//
// erase.gen — 8 bytes, the erase generation g: 0 (or no file) before any
// erase, odd while a record is being overwritten, and g+2 after each
// completed erase, so (g+1)/2 is the number of erases. It is a seqlock
// for readers, who take no lock: a reader reads g, reads the bytes, reads
// g again and reads again unless g was even and unchanged (a range read
// does so per chunk of whole records). A reader that finds g odd waits
// while some process holds the writer lock, and reads on if none does
// (the eraser died; the next writer finishes the erase, below).
//
// Write order, all under the writer lock, and what a kill -9 or power
// loss at each point leaves:
//
//  1. Find E and refuse a tombstone; if the tombstone for E is already in
//     the log, answer it (erasing again is idempotent) and stop. (Any
//     intent left by an earlier erase was resolved by the writer's
//     checks before this step, below.)
//  2. Write erasing. A crash leaves an intent without its tombstone: the
//     next writer removes it; E keeps its body.
//  3. Append the tombstone as an ordinary commit (write, fsync, seq.idx).
//     A crash during it leaves a torn tail (cut, and the intent dropped:
//     the erase never happened and was never acknowledged) or the
//     tombstone complete (indexed by the tail repair if need be, and the
//     erase finished from the intent).
//  4. Set erase.gen odd, pwrite R "\n" at a, fsync log, set erase.gen to
//     the next even value, fsync erase.gen. A crash leaves the record
//     old, new or, after a power loss, mixed; the intent rewrites all of
//     it (idempotent).
//  5. Remove erasing and fsync the directory. A crash before leaves the
//     intent, applied again harmlessly.
//
// So a tombstone is never in the log without either its erased record
// or the intent that erases it, and after the next writer's checks a
// log holds each event either unchanged with no tombstone or erased
// with its tombstone. Until a writer has run, a reader may meet the
// old record of an erase that died in step 3 or 4 (and, after a power
// loss in step 4, a mixed one: a read of it fails as damage, which the
// writer it triggers repairs from the intent before anything is
// recorded).
//
// Recovery with an intent present (on open and before every commit,
// after the tail repair, and in Verify): if the tombstone named by T is
// in the log (a torn one has been cut by then), the intent's record is
// written as in step 4 and the intent removed; if it is not, the erase
// never happened and the intent is removed, the body kept. An intent
// whose offset and length do not match record S is damage
// (*store.CorruptionError).
//
// # Room to grow (not implemented in version 1)
//
// The format leaves room for what is planned without a version break
// (streams and erasure took that room as described above); live readers
// follow size(seq.idx), which only grows.
package eventlog
