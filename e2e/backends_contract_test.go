package e2e

import (
	"slices"
	"testing"
)

// backendContractTable is the contract table less the features that are
// not on PostgreSQL yet (erasure, live reads: README, Backends), plus a
// row saying those answer 501 and change nothing.
func backendContractTable() []contractRow {
	return slices.Concat(rootAndAuthRows(), appendRows(), readRows(), inputRows(), blobRows(), unsupportedRows(), userRows(), consumerRows(), streamRows())
}

// runBackendContract runs backendContractTable against tg.
func runBackendContract(t *testing.T, tg *target) {
	runRows(t, tg, backendContractTable())
}
