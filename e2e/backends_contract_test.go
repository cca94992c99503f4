package e2e

import (
	"net/http"
	"slices"
	"strings"
	"testing"
)

// backendContractTable is the contract table less the features that are
// not on PostgreSQL yet (streams, erasure: README, Backends), plus a row
// saying those answer 501.
func backendContractTable() []contractRow {
	return slices.Concat(rootAndAuthRows(), appendRows(), readRows(), inputRows(), blobRows(), userRows(), consumerRows(),
		[]contractRow{{"a stream append answers 501 naming the backend; nothing is written", func(t *testing.T, c *contract) {
			before := c.tg.do(t, http.MethodHead, "/events", nil).header.Get("X-Apie-Count")
			r := c.tg.do(t, http.MethodPost, "/events", []byte(`{"eventType":"t","body":1,"stream":"/orders"}`),
				header("Content-Type", "application/json"))
			if r.status != http.StatusNotImplemented || !strings.Contains(string(r.body), "backend") {
				t.Fatalf("got %d %s, want 501 naming the backend", r.status, r.body)
			}
			if after := c.tg.do(t, http.MethodHead, "/events", nil).header.Get("X-Apie-Count"); after != before {
				t.Fatalf("count %s after the refused append, %s before", after, before)
			}
		}}})
}

// runBackendContract runs backendContractTable against tg.
func runBackendContract(t *testing.T, tg *target) {
	c := &contract{tg: tg, blobs: map[string][]byte{}}
	for _, row := range backendContractTable() {
		t.Run(row.name, func(t *testing.T) { row.run(t, c) })
	}
}
