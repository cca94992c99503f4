// Package lazyfs is a FUSE file system for tests that forgets what was not
// synced, the way a machine that loses power forgets its page cache. It is
// modelled on LazyFS (the file system Jepsen uses to find lost writes) and
// made stricter, in the POSIX way: names, not only data, are lost unless
// their directory was fsync'd. Product code never imports it.
//
// The disk is held in memory by the test process, so nothing unsynced can
// reach a real disk; the file system is mounted on a real directory (as
// root, with mount(2): no fusermount is needed) and processes use it
// through the kernel like any other.
//
// # What is kept
//
// Every file and directory has a durable state and a current state:
//
//   - A regular file's data (its bytes and its size) becomes durable when
//     the file is fsync'd or fdatasync'd, through any descriptor: the
//     durable data is then exactly the current data. Writes and truncates
//     (ftruncate, O_TRUNC, setattr of the size) change only the current
//     data until then.
//   - A directory's names (which name leads to which file or directory)
//     become durable when the directory itself is fsync'd: the durable
//     names are then exactly the current names. create, mkdir, link,
//     unlink, rmdir and rename change only the current names until then.
//     A rename is a removal from the old directory and an addition to the
//     new one; each becomes durable with the fsync of its own directory.
//   - A new file starts with empty durable data, and a new directory with
//     no durable names; the root directory always exists.
//   - Fsyncing a file says nothing about its name, and fsyncing a directory
//     nothing about the data of the files it names.
//   - Modes, owners and times are not modelled: a change to them is kept at
//     once. sync_file_range(2) and the kernel's own writeback make nothing
//     durable (they never reach the file system).
//
// # What a power loss keeps
//
// Cut stops the disk: from then on every operation fails with EIO, as a
// dead machine would answer nothing (the tests kill every process right
// after). Reboot, once no process uses the mount, unmounts it, applies the
// loss and mounts it again, showing only what survived:
//
//   - Walking from the root, a directory keeps its durable names plus a
//     prefix of its unsynced name changes, in the order they were made;
//     a file reached through those names keeps its durable data plus a
//     prefix of its unsynced writes and truncates, in order, and the last
//     kept write may be torn (only its first bytes kept). How long each
//     prefix is, and where a write is torn, is the Loss's choice: DropAll
//     keeps no unsynced change at all (LazyFS's default); Random picks
//     every prefix and tear at random (a disk that wrote back part of its
//     cache); a Loss of the test's own chooses per path.
//   - A Loss may instead scatter a file's unsynced changes (Scatter): any
//     subset of them survives, each whole, as when a disk writes back some
//     pages of a file and not others (an index header without the slots
//     written before it); a write spanning 4096-byte pages (by file
//     offset) is one change per page, so its pages too survive in any
//     pattern.
//   - A file or directory that no surviving name leads to is gone, whatever
//     was synced of its data (a file fsync'd but never named in a synced
//     directory).
//   - So the unsynced tail of a file whose earlier part was synced is lost
//     under DropAll and possibly partly kept under Random; a rename whose
//     directories were not synced may be lost or kept, in each directory
//     on its own (the file may then have both names, or, if the rename
//     was between directories, neither).
//
// What is not modelled: the loss of data that was synced (a lying disk),
// and pages written back out of order within one write of a file the
// Loss does not scatter (a kept write is whole or torn at one byte). Cuts can also be armed on a count of
// fsyncs (CutAtSync): right before the n-th fsync takes effect, or right
// after it took effect but before the caller learns so.
package lazyfs
