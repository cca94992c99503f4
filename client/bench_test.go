package client_test

import (
	"context"
	"net/http"
	"testing"

	"apie/client"
)

// BenchmarkNewRequest measures what NewRequest adds to building a request
// by hand (apie-bench's timed loops build theirs with it).
func BenchmarkNewRequest(b *testing.B) {
	ctx := context.Background()
	b.Run("client", func(b *testing.B) {
		c, err := client.New("http://127.0.0.1:8000", client.WithBasicAuth("bench4@example.com", "bench-password-cost-4"))
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if _, err := c.NewRequest(ctx, http.MethodPost, "/events", http.NoBody); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("by hand", func(b *testing.B) {
		const base, auth = "http://127.0.0.1:8000", "Basic YmVuY2g0QGV4YW1wbGUuY29tOmJlbmNoLXBhc3N3b3JkLWNvc3QtNA=="
		b.ReportAllocs()
		for b.Loop() {
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/events", http.NoBody)
			if err != nil {
				b.Fatal(err)
			}
			req.Header.Set("Authorization", auth)
		}
	})
}
