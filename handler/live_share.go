package handler

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"sync"

	"apie/store"
)

// What the followers of one handler share, so that one change of the log
// costs one read of it, not one per follower: the head read after a wake
// channel was taken, and the records of the range they all send next;
// and the buffers they write through, held only while writing, so an
// idle follower holds none.
//
// A head shared under one wake channel is as good as each follower's
// own: it was read after that channel was taken, so any commit it misses
// closes the channel every one of them waits on.
type liveShare struct {
	mu    sync.Mutex
	wake  <-chan struct{} // the channel head and recs were read under
	head  store.Head
	first uint64 // recs holds records first..last as stored (NDJSON)
	last  uint64
	recs  []byte

	bufs   sync.Pool // *bufio.Writer of liveBufSize, for framing
	copies sync.Pool // *[]byte of replayBufSize, for a replay's copy
}

const (
	// liveBufSize is a follower's framing buffer while it writes.
	liveBufSize = 8 << 10
	// replayBufSize is the chunk a long replay is copied in: few, large
	// writes, as a plain read makes.
	replayBufSize = 256 << 10
	// maxSharedRange bounds the records kept for the followers of a change.
	maxSharedRange = 1 << 20
)

// headFor returns the log's head as read under wake (nil: a channel of
// the follower's own, so read it now).
func (s *liveShare) headFor(ctx context.Context, log store.EventLog, wake <-chan struct{}, shared bool) (store.Head, error) {
	if !shared {
		return log.Head(ctx)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.wake == wake {
		return s.head, nil
	}
	head, err := log.Head(ctx)
	if err != nil {
		return head, err
	}
	s.wake, s.head, s.recs = wake, head, nil
	return head, nil
}

// records returns records first..last as stored, shared with the other
// followers woken by the same change; or, when the range is too large to
// keep, a reader of it for the caller alone.
func (s *liveShare) records(ctx context.Context, log store.EventLog, wake <-chan struct{}, shared bool, first, last uint64) ([]byte, io.ReadCloser, error) {
	if shared {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.wake == wake && s.recs != nil && s.first == first && s.last == last {
			return s.recs, nil, nil
		}
	}
	rd, err := log.Reader(ctx, first, last)
	if err != nil {
		return nil, nil, err
	}
	sized, ok := rd.(interface{ Size() int64 })
	if !shared || !ok || sized.Size() > maxSharedRange {
		return nil, rd, nil
	}
	defer rd.Close()
	recs := make([]byte, sized.Size())
	if _, err := io.ReadFull(rd, recs); err != nil {
		return nil, nil, fmt.Errorf("read records %d..%d: %w", first, last, err)
	}
	if s.wake == wake {
		s.first, s.last, s.recs = first, last, recs
	}
	return recs, nil, nil
}

// buf returns a framing buffer writing to w.
func (s *liveShare) buf(w io.Writer) *bufio.Writer {
	if b, ok := s.bufs.Get().(*bufio.Writer); ok {
		b.Reset(w)
		return b
	}
	return bufio.NewWriterSize(w, liveBufSize)
}

// putBuf takes back an empty framing buffer.
func (s *liveShare) putBuf(b *bufio.Writer) {
	b.Reset(nil)
	s.bufs.Put(b)
}

// copyBuf returns a replay's copy buffer; putCopyBuf takes it back.
func (s *liveShare) copyBuf() *[]byte {
	if b, ok := s.copies.Get().(*[]byte); ok {
		return b
	}
	b := make([]byte, replayBufSize)
	return &b
}

func (s *liveShare) putCopyBuf(b *[]byte) { s.copies.Put(b) }
