package auth

import "errors"

// Errors returned by this package. Callers compare them with errors.Is.
var (
	// ErrUnauthorized is the one answer to credentials that do not
	// authenticate: a wrong password, an unknown user, a malformed header, a
	// bad, expired or revoked token. It never says which.
	ErrUnauthorized = errors.New("unauthorized")

	// ErrExists is returned by Passwd.Add for an email already present.
	ErrExists = errors.New("user already exists")

	// ErrNoUser is returned by Passwd.Set and Passwd.Remove (and IssueToken)
	// for an email that is not present.
	ErrNoUser = errors.New("no such user")

	// ErrThrottled is returned by Checker.Check for a client address that
	// failed too often lately; the request was not checked at all.
	ErrThrottled = errors.New("too many failed logins")

	// ErrNoTokens is returned by Checker.IssueToken when no token key path
	// is configured.
	ErrNoTokens = errors.New("bearer tokens are not enabled")

	// ErrPasswdFile marks a failure to read or write the passwd file (or
	// its lock) on the server's side: a mode or owner that keeps this
	// process out, a disk error. The cause is in the same chain, so
	// errors.Is(err, fs.ErrPermission) tells a permission problem.
	ErrPasswdFile = errors.New("passwd file")

	// ErrTokenKeyFile marks a failure to read or make the token key file
	// on the server's side, like ErrPasswdFile.
	ErrTokenKeyFile = errors.New("token key file")
)
