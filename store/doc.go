// Package store holds the types, errors and interfaces shared by apie's
// stores and the code that uses them: EventLog and BlobStore (what the HTTP
// layer needs of a store), the requests and results that cross them, the
// sentinel errors callers test with errors.Is, and CorruptionError. It does
// no I/O: the file stores (packages eventlog and blobstore) implement the
// interfaces, and package storetest checks any implementation of them.
package store
