package blobstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"apie/store"
	"apie/sum"
)

func TestOpenBlobStoreFanout(t *testing.T) {
	ctx := context.Background()
	b := newTestBlobStore(t, BlobOptions{DirMode: 0o710})
	for i := range 256 {
		dir := filepath.Join(b.dir, fmt.Sprintf("%02x", i))
		fi, err := os.Stat(dir)
		if err != nil {
			t.Fatalf("fan-out directory: %v", err)
		}
		if got, want := fi.Mode().Perm(), fs.FileMode(0o710); !fi.IsDir() || got != want {
			t.Fatalf("%s: got mode %v, want a directory with mode %v", dir, fi.Mode(), want)
		}
	}
	rep, err := b.Verify(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Blobs != 0 || len(rep.Bad) != 0 {
		t.Errorf("new store: got %+v, want no blobs and nothing bad", rep)
	}
}

// TestBlobStoreWithoutFanout opens a store laid out as earlier versions
// left it: a format file, a blob in its <hh>/, and no other fan-out
// directory. It serves the old blob and stores new ones, creating the
// missing <hh>/ as needed.
func TestBlobStoreWithoutFanout(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	b := newTestBlobStore(t, BlobOptions{Dir: dir})
	old := []byte("stored by an earlier version")
	oldInfo, _, err := b.Put(ctx, bytes.NewReader(old), store.BlobInfo{ContentType: "text/plain", Filename: "old.txt"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	b.Close()
	keep := oldInfo.Hash.String()[:2]
	for i := range 256 {
		if hh := fmt.Sprintf("%02x", i); hh != keep {
			if err := os.Remove(filepath.Join(dir, hh)); err != nil {
				t.Fatal(err)
			}
		}
	}

	b = newTestBlobStore(t, BlobOptions{Dir: dir})
	if got, err := b.Stat(ctx, oldInfo.Hash); err != nil || got != oldInfo {
		t.Fatalf("old blob: got %+v, %v; want %+v", got, err, oldInfo)
	}
	for i := range 3 {
		data := blobTestBytes(uint64(100+i), 1000)
		info, created, err := b.Put(ctx, bytes.NewReader(data), store.BlobInfo{Filename: "new.bin"}, nil)
		if err != nil || !created {
			t.Fatalf("Put: got created=%v, %v; want true, nil", created, err)
		}
		fi, err := os.Stat(filepath.Dir(b.blobPath(info.Hash)))
		if err != nil {
			t.Fatal(err)
		}
		if got, want := fi.Mode().Perm(), DefaultDirMode; got != want {
			t.Errorf("created fan-out directory: got mode %v, want %v", got, want)
		}
		if got, err := b.Stat(ctx, info.Hash); err != nil || got != info {
			t.Errorf("Stat: got %+v, %v; want %+v", got, err, info)
		}
	}
	rep, err := b.Verify(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Blobs != 4 || len(rep.Bad) != 0 {
		t.Errorf("got %+v, want 4 blobs and nothing bad", rep)
	}
	assertNoTemp(t, b)
}

// TestBlobCrashStates builds, file by file, each state an interrupted
// commit can leave, and checks that the store serves, verifies and takes
// the same bytes again as doc.go promises.
func TestBlobCrashStates(t *testing.T) {
	data := []byte("bytes caught in a crash")
	h := sum.Of(data)
	staleMeta := `{"contentType":"text/plain","filename":"stale.txt","size":23,"created":"2026-01-02T03:04:05Z"}` + "\n"
	tests := []struct {
		name string
		// setup leaves the state in b, which holds data as a blob with
		// filename "first.txt" unless stored is false.
		setup  func(t *testing.T, b *BlobStore)
		stored bool
		// What Stat reports before the next upload (filename, or
		// store.ErrNotFound), what Verify says, and what the next upload of
		// the same bytes (filename "next.txt") reports.
		wantStat    string
		wantBad     string
		wantCreated bool
		wantAfter   string // filename stored after the next upload
	}{
		{
			name:   "metadata without blob",
			stored: false,
			setup: func(t *testing.T, b *BlobStore) {
				writeTestFile(t, b.metaPath(h), staleMeta)
			},
			wantStat: "not found", wantCreated: true, wantAfter: "next.txt",
		},
		{
			name:   "blob without metadata",
			stored: true,
			setup: func(t *testing.T, b *BlobStore) {
				if err := os.Remove(b.metaPath(h)); err != nil {
					t.Fatal(err)
				}
			},
			wantStat: "", wantBad: "missing metadata", wantCreated: false, wantAfter: "next.txt",
		},
		{
			name:   "upload temp files",
			stored: false,
			setup: func(t *testing.T, b *BlobStore) {
				writeTestFile(t, filepath.Join(b.tmp, "1.part"), string(data[:5]))
				writeTestFile(t, filepath.Join(b.tmp, "2.part"), string(data))
				writeTestFile(t, filepath.Join(b.tmp, "2"+metaSuffix+partSuffix), staleMeta)
			},
			wantStat: "not found", wantCreated: true, wantAfter: "next.txt",
		},
		{
			name:   "upload temp files beside a stored blob",
			stored: true,
			setup: func(t *testing.T, b *BlobStore) {
				writeTestFile(t, filepath.Join(b.tmp, "3"+metaSuffix+partSuffix), staleMeta)
			},
			wantStat: "first.txt", wantCreated: false, wantAfter: "first.txt",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			b := newTestBlobStore(t, BlobOptions{Dir: dir})
			if tt.stored {
				if _, _, err := b.Put(ctx, bytes.NewReader(data), store.BlobInfo{Filename: "first.txt"}, nil); err != nil {
					t.Fatal(err)
				}
			}
			tt.setup(t, b)
			b.Close()
			b = newTestBlobStore(t, BlobOptions{Dir: dir})

			info, err := b.Stat(ctx, h)
			got := info.Filename
			if errors.Is(err, store.ErrNotFound) {
				got = "not found"
			} else if err != nil {
				t.Fatalf("Stat: %v", err)
			} else if info.Size != int64(len(data)) {
				t.Errorf("Stat: got size %d, want %d", info.Size, len(data))
			}
			if got != tt.wantStat {
				t.Errorf("Stat: got filename %q, want %q", got, tt.wantStat)
			}
			rep, err := b.Verify(ctx, false)
			if err != nil {
				t.Fatal(err)
			}
			if gotBad := badReasons(rep); gotBad != tt.wantBad {
				t.Errorf("Verify: got bad %q, want %q", gotBad, tt.wantBad)
			}

			info, created, err := b.Put(ctx, bytes.NewReader(data), store.BlobInfo{Filename: "next.txt"}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if created != tt.wantCreated || info.Filename != tt.wantAfter {
				t.Errorf("next Put: got created=%v filename %q, want %v %q", created, info.Filename, tt.wantCreated, tt.wantAfter)
			}
			if got, err := b.Stat(ctx, h); err != nil || got != info {
				t.Errorf("Stat after Put: got %+v, %v; want %+v", got, err, info)
			}
			if rep, err := b.Verify(ctx, false); err != nil || len(rep.Bad) != 0 || rep.Blobs != 1 {
				t.Errorf("Verify after Put: got %+v, %v; want one blob, nothing bad", rep, err)
			}
			// Upload temp files go once stale, whatever they hold.
			b.Close()
			b = newTestBlobStore(t, BlobOptions{Dir: dir, staleTemp: time.Nanosecond})
			if entries, err := os.ReadDir(b.tmp); err != nil || len(entries) != 0 {
				t.Errorf("tmp/ after reopening: got %d entries, %v; want none", len(entries), err)
			}
		})
	}
}

// badReasons joins the reasons Verify gave, in order.
func badReasons(rep store.BlobReport) string {
	var r []string
	for _, bad := range rep.Bad {
		r = append(r, bad.Reason)
	}
	return strings.Join(r, "; ")
}

func writeTestFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o440); err != nil {
		t.Fatal(err)
	}
}
