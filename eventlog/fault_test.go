package eventlog

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"apie/store"
)

// Fault injection through LogOptions.hooks: full disks and failed writes
// or fsyncs during a commit.

func TestAppendFaults(t *testing.T) {
	partialENOSPC := func(f *os.File, b []byte, off int64) (int, error) {
		n, err := f.WriteAt(b[:len(b)/2], off) // half the records reach the file
		if err != nil {
			return n, err
		}
		return n, &os.PathError{Op: "write", Path: f.Name(), Err: syscall.ENOSPC}
	}
	tests := []struct {
		name       string
		hooks      logHooks
		wantErr    error
		wantSticky bool
	}{
		{"write ENOSPC", logHooks{writeLog: partialENOSPC}, store.ErrNoSpace, false},
		{"write EDQUOT", logHooks{writeLog: func(f *os.File, b []byte, off int64) (int, error) {
			return 0, syscall.EDQUOT
		}}, store.ErrNoSpace, false},
		{"write EIO", logHooks{writeLog: func(f *os.File, b []byte, off int64) (int, error) {
			n, _ := f.WriteAt(b[:1], off)
			return n, syscall.EIO
		}}, store.ErrWriteFailed, true},
		{"short write", logHooks{writeLog: func(f *os.File, b []byte, off int64) (int, error) {
			return f.WriteAt(b[:len(b)-1], off)
		}}, store.ErrWriteFailed, true},
		{"fsync EIO", logHooks{syncLog: func(f *os.File) error { return syscall.EIO }}, store.ErrWriteFailed, true},
		{"fsync ENOSPC", logHooks{syncLog: func(f *os.File) error { return syscall.ENOSPC }}, store.ErrWriteFailed, true},
		{"seq.idx ENOSPC", logHooks{writeSeq: func(s *seqIndex, count uint64, ends []int64) error {
			s.f.WriteAt([]byte{1, 2, 3}, int64(count)*8)
			return syscall.ENOSPC
		}}, store.ErrNoSpace, false},
		{"seq.idx EIO", logHooks{writeSeq: func(s *seqIndex, count uint64, ends []int64) error {
			return syscall.EIO
		}}, store.ErrWriteFailed, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			opts := testOpts(dir, nil)
			l := openLog(t, opts)
			hs := appendN(t, l, 3)
			before := mustHead(t, l)
			fi, err := os.Stat(filepath.Join(dir, logDataName))
			if err != nil {
				t.Fatal(err)
			}
			l.hooks = tt.hooks // only the leader reads hooks, under wmu
			ctx := context.Background()
			_, err = l.Append(ctx, store.AppendRequest{Drafts: appendDrafts(4)})
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("got %v, want %v", err, tt.wantErr)
			}
			if after := mustHead(t, l); after != before {
				t.Fatalf("a failed append changed the head: got %+v, want %+v", after, before)
			}
			if fi2, _ := os.Stat(filepath.Join(dir, logDataName)); fi2.Size() != fi.Size() {
				t.Fatalf("log is %d bytes after a failed append, want %d (cut back)", fi2.Size(), fi.Size())
			}
			l.hooks = logHooks{}
			_, err = l.Append(ctx, store.AppendRequest{Drafts: appendDrafts(1)})
			if tt.wantSticky {
				if !errors.Is(err, store.ErrWriteFailed) {
					t.Fatalf("append after the failure: got %v, want the sticky store.ErrWriteFailed", err)
				}
				if _, err := l.Record(ctx, 3); err != nil {
					t.Fatalf("reads after a write failure: %v", err)
				}
				if rep := mustVerify(t, l); rep.Events != 3 {
					t.Fatalf("Verify after a write failure: got %d events, want 3", rep.Events)
				}
				l.Close()
				l = openLog(t, opts) // reopening clears it
				if _, err := l.Append(ctx, store.AppendRequest{Drafts: appendDrafts(1)}); err != nil {
					t.Fatalf("append after reopening: %v", err)
				}
			} else if err != nil {
				t.Fatalf("append after a full disk cleared: %v", err)
			}
			checkChain(t, l, 4, hs)
		})
	}
}
