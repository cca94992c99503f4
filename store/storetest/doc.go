// Package storetest is the conformance suite of apie's stores: any
// implementation of store.EventLog or store.BlobStore runs it in-process,
// from its own tests, and is proven by passing it. It tests the promises
// the interfaces' doc comments make, through the interfaces alone; what a
// backend does on its own (files, recovery, crashes) its own tests check.
//
//	func TestConformance(t *testing.T) {
//		storetest.EventLog(t, func(t *testing.T) store.EventLog {
//			l, err := eventlog.OpenEventLog(ctx, eventlog.LogOptions{Dir: t.TempDir()})
//			…
//			t.Cleanup(func() { l.Close() })
//			return l
//		})
//	}
package storetest
