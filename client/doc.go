// Package client talks to an apie server over HTTP: it appends events
// (safely retried), reads the log page by page, stores and fetches blobs,
// and asks for bearer tokens. It speaks only the wire contract of the
// README, so it works the same against apie-serve and against apie-cgi
// behind any web server.
//
// Every call takes a context and returns a *Error for an answer of 400 or
// more, with the server's status and message (and the log's head for a
// 412). Append is the one call that writes and retries: it gives every
// event an eventId before the first try, so a retry after a lost answer
// is answered with the stored events instead of a second copy. Reads are
// retried too; blob puts, deletes, verifies and token requests are not.
//
// Following the log live (GET /events?follow=true) is not here: it comes
// with the server's live reads.
//
// For requests this package has no call for (tests that send odd or
// hostile requests, say), NewRequest and Do send anything through the same
// base URL and credentials.
package client
