package e2e

import (
	"slices"
	"testing"
)

// backendContractTable is the contract table less live reads (run apart,
// in the follow tests: README, Backends).
func backendContractTable() []contractRow {
	return slices.Concat(rootAndAuthRows(), appendRows(), readRows(), inputRows(), blobRows(), eraseRows(), userRows(), consumerRows(), streamRows())
}

// runBackendContract runs backendContractTable against tg.
func runBackendContract(t *testing.T, tg *target) {
	runRows(t, tg, backendContractTable())
}
