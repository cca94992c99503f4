//go:build !linux

package auth

import "errors"

// passwdWatch is a no-op where there is no inotify: every check stats the
// passwd file.
type passwdWatch struct{}

func watchPasswd(string) (*passwdWatch, error) {
	return nil, errors.New("watch passwd: not supported on this system")
}

func (*passwdWatch) changed() bool { return true }
func (*passwdWatch) close() error  { return nil }
