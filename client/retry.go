package client

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"
)

// Retry says how often and how patiently a call is retried after a
// network error or a 5xx answer. A 4xx answer is never retried: the
// request itself is wrong, and sending it again gives the same answer.
type Retry struct {
	// Attempts is how many times a request is sent at most; 1 (or less)
	// sends it once.
	Attempts int
	// Wait is the pause before the second try; each later pause doubles,
	// up to MaxWait, and is shortened by up to a half at random so
	// clients that failed together do not retry together. A Retry-After
	// of seconds on a 503 is waited instead, up to MaxWait.
	Wait    time.Duration
	MaxWait time.Duration
}

// DefaultRetry is the policy of a client made without WithRetry: four
// tries, 100 ms, 200 ms and 400 ms apart (about 0.7 s at most).
func DefaultRetry() Retry {
	return Retry{Attempts: 4, Wait: 100 * time.Millisecond, MaxWait: 2 * time.Second}
}

// retryable reports whether a try that ended with err may be retried: a
// 5xx answer, or a network error that is not the context's end.
func retryable(ctx context.Context, err error) bool {
	if err == nil {
		return false
	}
	if e, ok := errors.AsType[*Error](err); ok {
		return e.Status >= 500
	}
	return ctx.Err() == nil
}

// pause waits before try number n+1 (n counted from 1), or until ctx
// ends, whose error it then returns. resp is try n's answer, if any.
func (r Retry) pause(ctx context.Context, n int, resp *http.Response) error {
	d := r.Wait << (n - 1)
	if d > r.MaxWait || d <= 0 {
		d = r.MaxWait
	}
	d -= rand.N(d/2 + 1)
	if resp != nil && resp.StatusCode == http.StatusServiceUnavailable {
		if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s >= 0 {
			d = min(time.Duration(s)*time.Second, r.MaxWait)
		}
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
