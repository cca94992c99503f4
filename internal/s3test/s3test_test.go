package s3test

import (
	"context"
	"net/http"
	"testing"
	"time"
)

// TestStart: the server starts and answers its readiness check on the
// address it reports.
func TestStart(t *testing.T) {
	s := Start(t)
	client := &http.Client{Timeout: 10 * time.Second}
	if err := s.get(context.Background(), client, "/minio/health/live"); err != nil {
		t.Fatal(err)
	}
}
