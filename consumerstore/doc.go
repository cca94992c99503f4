// Package consumerstore is apie's store of consumers on disk: every
// consumer in one file of fixed-size slots, two slots a consumer, in one
// directory shared safely by any number of processes (CGI requests and
// apie-serve). It implements store.ConsumerStore; this comment specifies
// its format.
//
// # Consumers, format version 2
//
// The directory (consumers.path in apie.json; by default the directory
// "consumers" inside the event log's directory, eventlog.path) is made on
// the first move, with the event log's directory mode, and holds:
//
// format — exactly the 17 bytes "apie-consumers 2\n", written (atomically:
// temporary file, fsync, rename, directory fsync) under the lock by the
// first move. A directory whose format file says anything else is
// refused, by reads and writes alike: a later version must not be read as
// this one, and version 1 (one JSON file per consumer, never released) is
// not read either. A directory without one (never moved into) holds no
// consumers.
//
// lock — empty; every move and every delete holds an exclusive flock(2) on
// it (never fcntl locks) from reading the consumer's pair to making the
// new slot durable, so a move with If-Match is a true compare-and-swap
// across processes. Reads take no lock (but see "Reading" below).
//
// slots — the consumers: a sequence of pairs of 1024 bytes, pair i at
// offset 1024*i, each two slots of 512 bytes (slot 0 at the pair's offset,
// slot 1 512 bytes later). A pair holds at most one consumer, its slots
// that consumer's current and previous state. Created (mode of the event
// log's files) by the first move, its directory entry fsync'd before that
// move returns.
//
// # A slot
//
// All integers little-endian; offsets within the slot:
//
//	0    4    crc        CRC-32C (Castagnoli) of bytes 4..511
//	4    8    gen        the pair's write counter: of two good slots, the higher gen is current
//	12   1    kind       1 = a consumer, 2 = free (a pair formatted, or its consumer deleted)
//	13   1    nameLen    1..128
//	14   2    byLen      0..256
//	16   8    seq        the seq of the event the consumer is just after; 0 = before the first event
//	24   8    updatedAt  time of the move, Unix nanoseconds (UTC)
//	32   32   after      that event's SHA-256 hash; the empty string's hash (sum.Genesis) with seq 0
//	64   128  name       the consumer's name ([A-Za-z0-9._-], not "." or ".."), zero-padded
//	192  256  updatedBy  the user who made the move, zero-padded
//	448  64   reserved   zero
//
// A free slot has every byte from 13 to 511 zero. A slot is empty when its
// 512 bytes are all zero (never written), good when its crc matches and
// every field is in range (kind known, lengths in range, padding and
// reserved bytes zero, the name valid, seq 0 exactly when after is the
// empty string's hash), and bad otherwise: torn by a crash in mid-write,
// or damaged.
//
// # A pair
//
// The pair's state is its good slot of the higher gen (with one good slot,
// that one): a consumer, or free. With no good slot, a pair is unused when
// one slot or both are empty (a crash while it was being formatted, see
// below), and damaged when both are bad. A file whose length is not a
// multiple of 1024 (a crash while it grew) reads as if padded with zeros.
// No two pairs hold the same name.
//
// A move (under the lock) finds the consumer's pair, judges If-Match,
// If-None-Match and the forward-only rule against it, then writes ONE slot
// — the pair's older slot (bad or empty counts as older), with gen one
// more than the current one — by pwrite(2), and fdatasync(2)s the file
// before it returns. The current slot is not touched, so a crash (kill -9
// or power loss) at any instant leaves the new slot good (new position) or
// bad (its checksum fails: the current slot, the old position, stays
// current): never a torn position, and an acknowledged move is durable.
// The next move overwrites a bad slot. A move to where the consumer is
// writes nothing.
//
// A new consumer takes the first free or unused pair, else a new pair at
// the end. A pair never used is first formatted — slot 1 written free with
// gen 1 and fdatasync'd — then the consumer is written to slot 0 with gen
// 2 and fdatasync'd; so a crash leaves the pair unused (slot 1 torn, or
// good and free) or the consumer created, and once a consumer is in a pair
// neither slot is ever empty again (an empty slot beside a consumer is
// damage, counted as a torn slot). A delete writes a free slot over the
// older slot the same way (one write, one fdatasync); the pair is then
// free for the next new consumer.
//
// # Reading
//
// Readers read without the lock: a Get reads one pair (at the pair where
// this process last saw the consumer, checking the name there, else the
// whole file), a List the whole file in one read. A reader that meets a
// slot being written sees a bad slot and takes the other, the old
// position. Only a pair with both slots bad (which a reader overlapping two
// moves could see) makes it read again under the lock; damaged there, it
// is a *store.CorruptionError naming the consumer (or saying no slot shows
// a name) and saying that the admin command "consumer rm NAME" removes it,
// which writes a free slot over slot 0. Other consumers are unaffected,
// but List fails while a damaged pair remains.
//
// Verify (admin verify) reads every pair under the lock, reports torn
// slots (harmless: the older position is in use) and damaged pairs, and
// checks that every consumer's position is an event of the log with the
// seq the slot holds.
//
// # Limits
//
// A checksum cannot tell a torn write from damage: a bad newer slot beside
// a good older one is read as the older position, whichever it was. A
// failed fdatasync leaves a slot that later reads may take as current,
// though its move was not acknowledged (the move's caller got an error
// and may retry). The store knows nothing of the event log: the HTTP layer
// resolves a position's hash to its seq (404 if the log has no such
// event) before it moves a consumer, and computes lag from the log's
// head.
package consumerstore
