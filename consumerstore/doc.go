// Package consumerstore is apie's store of consumers on disk: one small
// file per consumer, each replaced atomically, in one directory shared
// safely by any number of processes (CGI requests and apie-serve). It
// implements store.ConsumerStore; this comment specifies its format.
//
// # Consumers, format version 1
//
// The directory (consumers.path in apie.json; by default the directory
// "consumers" inside the event log's directory, eventlog.path) is made on
// the first move, with the event log's directory mode, and holds:
//
// format — exactly the 17 bytes "apie-consumers 1\n", written (atomically)
// under the lock by the first move. A directory whose format file says
// anything else is refused: a later version must not be read as this one.
// A directory without one (never moved into) holds no consumers.
//
// lock — empty; every move and every delete holds an exclusive flock(2) on
// it (never fcntl locks) from reading the consumer's current position to
// making the new one durable, so a move with If-Match is a true
// compare-and-swap across processes. Reads take no lock.
//
// c-NAME — one consumer, NAME being its name (1–128 bytes of
// [A-Za-z0-9._-], not "." or ".."; the "c-" prefix keeps every consumer
// file from starting with "." like the temporary files below). The file is
// exactly one JSON object (encoding/json, members in this order) and '\n',
// at most 4096 bytes:
//
//	{"name":N,"after":H,"seq":S,"updatedAt":T,"updatedBy":U}
//
// N is the name (equal to NAME), H the hash of the event the consumer is
// just after (64 lowercase hex digits) or null before the first event, S
// that event's seq (0 with null), T the time of the last move (RFC 3339,
// UTC, nanoseconds) and U the user who made it. A move writes the whole
// file under a temporary name ".c-NAME.tmp-*" in the directory, fsyncs it,
// renames it over c-NAME and fsyncs the directory (internal/durable's
// WriteFile) before it returns, so a reader or a crash (kill -9, power
// loss) sees the old file or the new one, never a part: no acknowledged
// move is lost and no position is torn. A temporary file left by a crash
// is ignored and may be removed. A move to the position the consumer
// already has writes nothing. A delete removes c-NAME and fsyncs the
// directory.
//
// A consumer file that does not parse, or whose name member is not its
// NAME, is a *store.CorruptionError for that consumer; the others are
// unaffected. Files whose names do not start with "c-" are not consumers.
//
// The store knows nothing of the event log: the HTTP layer resolves a
// position's hash to its seq (404 if the log has no such event) before it
// moves a consumer, and computes lag from the log's head.
package consumerstore
