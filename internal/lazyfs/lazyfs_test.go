package lazyfs

import (
	"bytes"
	"errors"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"apie/internal/testutil"
)

// mountT mounts a lazy file system for the test and unmounts it at the
// end. Where mounting is impossible (not root) it skips, or fails under
// APIE_REQUIRE_MOUNT=1.
func mountT(t *testing.T) *FS {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "mnt")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := Mount(dir)
	if err != nil {
		testutil.SkipOrFail(t, "APIE_REQUIRE_MOUNT", err.Error()+": run as root on Linux to test this")
	}
	t.Cleanup(func() {
		if err := f.Unmount(); err != nil {
			t.Errorf("unmount: %v", err)
		}
	})
	return f
}

func writeFile(t *testing.T, path string, data []byte, sync bool) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(data); err != nil {
		t.Fatal(err)
	}
	if sync {
		if err := f.Sync(); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func appendFile(t *testing.T, path string, data []byte, sync bool) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt(data, st.Size()); err != nil {
		t.Fatal(err)
	}
	if sync {
		if err := f.Sync(); err != nil {
			t.Fatal(err)
		}
	}
	f.Close()
}

func syncDir(t *testing.T, dir string) {
	t.Helper()
	d, err := os.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		t.Fatalf("fsync %s: %v", dir, err)
	}
}

// content returns the file's bytes, or nil and false if it does not exist.
func content(t *testing.T, path string) ([]byte, bool) {
	t.Helper()
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false
	}
	if err != nil {
		t.Fatal(err)
	}
	return b, true
}

func reboot(t *testing.T, f *FS, loss Loss) {
	t.Helper()
	if err := f.Reboot(loss); err != nil {
		t.Fatal(err)
	}
}

// TestData checks what survives of a file's data: synced bytes always,
// the unsynced tail of a partly synced file never under DropAll, always
// under KeepAll, and torn where the Loss says.
func TestData(t *testing.T) {
	synced, tail := []byte("synced part\n"), []byte("unsynced tail\n")
	for _, tc := range []struct {
		name string
		loss Loss
		want []byte
	}{
		{"DropAll", DropAll(), synced},
		{"KeepAll", KeepAll(), append(synced[:len(synced):len(synced)], tail...)},
		{"torn", Loss{Keep: func(string, int) int { return 1 }, Tear: func(_ string, n int) int { return 4 }},
			append(synced[:len(synced):len(synced)], tail[:4]...)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := mountT(t)
			p := filepath.Join(f.Dir(), "f")
			writeFile(t, p, synced, true)
			syncDir(t, f.Dir())
			appendFile(t, p, tail, false)
			if got, _ := content(t, p); !bytes.Equal(got, append(synced[:len(synced):len(synced)], tail...)) {
				t.Fatalf("before the loss: read %q", got)
			}
			reboot(t, f, tc.loss)
			if got, ok := content(t, p); !ok || !bytes.Equal(got, tc.want) {
				t.Fatalf("after the loss: %q (exists %v), want %q", got, ok, tc.want)
			}
		})
	}
}

// TestUnsyncedTruncate checks that a truncate is data like a write: lost
// unless the file is synced after it.
func TestUnsyncedTruncate(t *testing.T) {
	f := mountT(t)
	p := filepath.Join(f.Dir(), "f")
	writeFile(t, p, []byte("0123456789"), true)
	syncDir(t, f.Dir())
	if err := os.Truncate(p, 3); err != nil {
		t.Fatal(err)
	}
	reboot(t, f, DropAll())
	if got, _ := content(t, p); string(got) != "0123456789" {
		t.Fatalf("unsynced truncate: got %q, want the synced 10 bytes", got)
	}
	if err := os.Truncate(p, 3); err != nil {
		t.Fatal(err)
	}
	fd, _ := os.OpenFile(p, os.O_RDWR, 0)
	fd.Sync()
	fd.Close()
	reboot(t, f, DropAll())
	if got, _ := content(t, p); string(got) != "012" {
		t.Fatalf("synced truncate: got %q, want %q", got, "012")
	}
}

// TestNames checks that names live in their directory: a synced file in
// an unsynced directory is lost, an unlink or rename without a directory
// fsync is undone under DropAll and kept under KeepAll, and a synced
// directory keeps them.
func TestNames(t *testing.T) {
	t.Run("new file, directory not synced", func(t *testing.T) {
		f := mountT(t)
		p := filepath.Join(f.Dir(), "new")
		writeFile(t, p, []byte("data"), true)
		reboot(t, f, DropAll())
		if _, ok := content(t, p); ok {
			t.Fatal("a file whose directory was never synced survived DropAll")
		}
	})
	t.Run("new file, directory synced, data not", func(t *testing.T) {
		f := mountT(t)
		p := filepath.Join(f.Dir(), "new")
		writeFile(t, p, []byte("data"), false)
		syncDir(t, f.Dir())
		reboot(t, f, DropAll())
		if got, ok := content(t, p); !ok || len(got) != 0 {
			t.Fatalf("got %q (exists %v), want an empty file", got, ok)
		}
	})
	for _, tc := range []struct {
		name    string
		loss    Loss
		syncDir bool
		wantOld bool // the old name survives
	}{
		{"rename, DropAll", DropAll(), false, true},
		{"rename, KeepAll", KeepAll(), false, false},
		{"rename, directory synced", DropAll(), true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := mountT(t)
			old, neu := filepath.Join(f.Dir(), "tmp"), filepath.Join(f.Dir(), "final")
			writeFile(t, old, []byte("v2"), true)
			syncDir(t, f.Dir())
			if err := os.Rename(old, neu); err != nil {
				t.Fatal(err)
			}
			if tc.syncDir {
				syncDir(t, f.Dir())
			}
			reboot(t, f, tc.loss)
			_, oldOK := content(t, old)
			got, newOK := content(t, neu)
			if oldOK != tc.wantOld || newOK == tc.wantOld {
				t.Fatalf("old name exists %v, new name exists %v; want old %v, new %v", oldOK, newOK, tc.wantOld, !tc.wantOld)
			}
			if newOK && string(got) != "v2" {
				t.Fatalf("renamed file holds %q", got)
			}
		})
	}
	t.Run("unlink, DropAll", func(t *testing.T) {
		f := mountT(t)
		p := filepath.Join(f.Dir(), "f")
		writeFile(t, p, []byte("x"), true)
		syncDir(t, f.Dir())
		os.Remove(p)
		reboot(t, f, DropAll())
		if got, ok := content(t, p); !ok || string(got) != "x" {
			t.Fatalf("unsynced unlink: got %q (exists %v), want the file back", got, ok)
		}
	})
	t.Run("rename between directories, each kept on its own", func(t *testing.T) {
		for _, keepIn := range []string{"/a", "/b"} {
			f := mountT(t)
			a, b := filepath.Join(f.Dir(), "a"), filepath.Join(f.Dir(), "b")
			os.Mkdir(a, 0o755)
			os.Mkdir(b, 0o755)
			writeFile(t, filepath.Join(a, "f"), []byte("x"), true)
			syncDir(t, a)
			syncDir(t, b)
			syncDir(t, f.Dir())
			if err := os.Rename(filepath.Join(a, "f"), filepath.Join(b, "f")); err != nil {
				t.Fatal(err)
			}
			reboot(t, f, Loss{Keep: func(p string, n int) int {
				if p == keepIn {
					return n
				}
				return 0
			}})
			_, inA := content(t, filepath.Join(a, "f"))
			_, inB := content(t, filepath.Join(b, "f"))
			// Keeping only b's change leaves both names; only a's, neither.
			if want := keepIn == "/b"; inA != want || inB != want {
				t.Fatalf("kept changes of %s: in a %v, in b %v; want both %v", keepIn, inA, inB, want)
			}
		}
	})
}

// TestCutAtSync checks the counted cuts: right before the n-th fsync it
// is lost, right after it is kept, and either way it fails with EIO and
// so does everything after it.
func TestCutAtSync(t *testing.T) {
	for _, after := range []bool{false, true} {
		f := mountT(t)
		p := filepath.Join(f.Dir(), "f")
		writeFile(t, p, []byte("one"), true) // fsync 1
		syncDir(t, f.Dir())                  // fsync 2
		if n := f.Syncs(); n != 2 {
			t.Fatalf("Syncs = %d, want 2", n)
		}
		f.CutAtSync(1, after) // the next one, the third
		fd, err := os.OpenFile(p, os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		fd.WriteAt([]byte("two"), 0)
		err = fd.Sync()
		fd.Close()
		if !errors.Is(err, syscall.EIO) {
			t.Fatalf("cut fsync: %v, want EIO", err)
		}
		select {
		case <-f.Dead():
		default:
			t.Fatal("Dead not closed after the cut")
		}
		if _, err := os.ReadFile(p); !errors.Is(err, syscall.EIO) {
			t.Fatalf("read after the cut: %v, want EIO", err)
		}
		reboot(t, f, DropAll())
		want := "one"
		if after {
			want = "two"
		}
		if got, _ := content(t, p); string(got) != want {
			t.Fatalf("cut after=%v: got %q, want %q", after, got, want)
		}
		if err := os.WriteFile(filepath.Join(f.Dir(), "g"), []byte("alive"), 0o644); err != nil {
			t.Fatalf("write after the reboot: %v", err)
		}
	}
}

// TestLinks checks hard links: one file, two names, each name durable on
// its own.
func TestLinks(t *testing.T) {
	f := mountT(t)
	a, b := filepath.Join(f.Dir(), "a"), filepath.Join(f.Dir(), "b")
	writeFile(t, a, []byte("x"), true)
	syncDir(t, f.Dir())
	if err := os.Link(a, b); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(a); err != nil || st.Sys().(*syscall.Stat_t).Nlink != 2 {
		t.Fatalf("stat after link: %v %v", st, err)
	}
	syncDir(t, f.Dir())
	os.Remove(a)
	reboot(t, f, DropAll())
	for _, p := range []string{a, b} {
		if got, ok := content(t, p); !ok || string(got) != "x" {
			t.Fatalf("%s: got %q (exists %v)", p, got, ok)
		}
	}
}

// TestRandomNeverInvents checks that a random loss only ever shows states
// the writes went through: each of many appends, synced or not, is there
// whole, torn at the end, or absent from the end on.
func TestRandomNeverInvents(t *testing.T) {
	f := mountT(t)
	r := rand.New(rand.NewPCG(1, 2))
	p := filepath.Join(f.Dir(), "log")
	writeFile(t, p, nil, true)
	syncDir(t, f.Dir())
	var want []byte
	synced := 0
	for round := 0; round < 20; round++ {
		for i := 0; i < 5; i++ {
			line := bytes.Repeat([]byte{byte('a' + (round+i)%26)}, 1+r.IntN(50))
			sync := r.IntN(3) == 0
			appendFile(t, p, line, sync)
			want = append(want, line...)
			if sync {
				synced = len(want)
			}
		}
		reboot(t, f, Random(r))
		got, _ := content(t, p)
		if len(got) < synced || !bytes.Equal(got, want[:len(got)]) {
			t.Fatalf("round %d: %d bytes, not a prefix of the %d written at least %d long", round, len(got), len(want), synced)
		}
		want, synced = got, len(got)
	}
}

// TestScatter checks that a scattered loss keeps exactly the changes it
// picks, in any pattern: here a later overwrite without the earlier one.
func TestScatter(t *testing.T) {
	f := mountT(t)
	p := filepath.Join(f.Dir(), "idx")
	writeFile(t, p, []byte("........"), true)
	syncDir(t, f.Dir())
	fd, err := os.OpenFile(p, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fd.WriteAt([]byte("AA"), 4) // a slot
	fd.WriteAt([]byte("H"), 0)  // the header that says the slot is there
	fd.Close()
	reboot(t, f, Loss{Scatter: func(_ string, n int) []bool { return []bool{false, true} }})
	if got, _ := content(t, p); string(got) != "H......." {
		t.Fatalf("got %q, want the header write alone", got)
	}
}

// TestScatterPages checks that a scattered write spanning pages survives
// page by page: here the middle page of a write over three, without the
// pages before and after it.
func TestScatterPages(t *testing.T) {
	f := mountT(t)
	p := filepath.Join(f.Dir(), "log")
	writeFile(t, p, bytes.Repeat([]byte("."), 3*pageSize), true)
	syncDir(t, f.Dir())
	fd, err := os.OpenFile(p, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fd.WriteAt(bytes.Repeat([]byte("B"), 2*pageSize), pageSize/2); err != nil {
		t.Fatal(err)
	}
	fd.Close()
	var pieces int
	reboot(t, f, Loss{Scatter: func(_ string, n int) []bool {
		pieces = n
		pick := make([]bool, n)
		pick[n/2] = true
		return pick
	}})
	want := bytes.Repeat([]byte("."), 3*pageSize)
	copy(want[pageSize:2*pageSize], bytes.Repeat([]byte("B"), pageSize))
	if got, _ := content(t, p); pieces != 3 || !bytes.Equal(got, want) {
		t.Fatalf("%d pieces; got %q…, want the middle page of the write alone", pieces, got[pageSize/2-4:pageSize+4])
	}
}
