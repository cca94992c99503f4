// Package auth decides who is asking: it keeps the passwd file, checks
// credentials against it, and puts the authenticated user into the request
// context.
//
// The passwd file holds one user a line, "email:bcrypthash:info" (the info
// field may be left out, so "htpasswd -B" output works as is). Lines starting
// with '#' and blank lines are ignored when checking and kept, in place, when
// the file is rewritten. Hashes must be bcrypt ($2a$, $2b$ or $2y$). Every
// change goes through Update, which serializes writers on an flock'd
// "<passwd>.lock" file and replaces the file atomically with
// internal/durable (temp file, fsync, chmod, rename, fsync of the
// directory), so any number of apie processes
// may edit and read one passwd file at once.
//
// A Checker authenticates an Authorization header value, Basic or Bearer:
//
//   - Basic: the password is compared with bcrypt. A user that does not exist
//     is compared against a fixed fake hash of the cost most of the passwd
//     file's hashes have (not the cost configured for new passwords), so the
//     answer (ErrUnauthorized) and its timing are the same either way.
//   - Bearer: a token made by IssueToken, base64url(payload) "."
//     base64url(HMAC-SHA-256(key, payload)), whose JSON payload names the
//     user, its expiry, and a fingerprint of the user's stored hash, so a
//     token dies with its user or with a password change. Both parts are
//     strict base64url: a token has one spelling.
//
// For a long-running server (apie-serve) a Checker can also cache verified
// credentials in memory (never the password itself: the key is a SHA-256 of
// user, password and stored hash) and throttle basic auth that keeps
// failing, per (address, user) and per address (see Checker.Check); bearer
// tokens are never throttled. Under CGI neither is useful, and a Checker
// reads nothing until its first Check, so start-up stays cheap.
//
// Credentials are never logged.
package auth
