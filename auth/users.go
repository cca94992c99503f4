package auth

import (
	"context"
	"io/fs"
)

// Users reads and changes the users of one passwd file. Every change is
// one Update: the file is locked, read again, changed and replaced
// atomically, so any number of processes may change users at once. A new
// password is hashed before the lock is taken, so bcrypt's time holds up
// no other writer. The zero values of Mode and Cost mean the defaults.
type Users struct {
	Path string      // the passwd file
	Mode fs.FileMode // its mode when written; 0 means Update's default
	Cost int         // bcrypt cost of new passwords; 0 means DefaultBcryptCost
}

// Change says what Set changes of a user: a nil field stays as it is.
type Change struct {
	Password *string
	Info     *string
}

// Lookup returns the user with email, if the passwd file has one. A
// missing file has no users.
func (u *Users) Lookup(email string) (Entry, bool, error) {
	p, err := ReadPasswd(u.Path)
	if err != nil {
		return Entry{}, false, err
	}
	e, ok := p.Lookup(email)
	return e, ok, nil
}

// List returns every user, in the file's order.
func (u *Users) List() ([]Entry, error) {
	p, err := ReadPasswd(u.Path)
	if err != nil {
		return nil, err
	}
	return p.Entries(), nil
}

// Add adds a user with password and info; ErrExists if email is taken.
func (u *Users) Add(ctx context.Context, email, password, info string) error {
	hash, err := HashPassword(password, u.Cost)
	if err != nil {
		return err
	}
	return Update(ctx, u.Path, u.Mode, func(p *Passwd) error {
		return p.Add(Entry{Email: email, Hash: hash, Info: info})
	})
}

// AddFirst adds a user with password and info only if the passwd file has
// no user yet, and reports whether it did: of several processes starting
// at once, one makes the first user.
func (u *Users) AddFirst(ctx context.Context, email, password, info string) (bool, error) {
	hash, err := HashPassword(password, u.Cost)
	if err != nil {
		return false, err
	}
	made := false
	err = Update(ctx, u.Path, u.Mode, func(p *Passwd) error {
		if len(p.Entries()) > 0 {
			return nil
		}
		made = true
		return p.Add(Entry{Email: email, Hash: hash, Info: info})
	})
	return made && err == nil, err
}

// SetPassword gives the user with email a new password; ErrNoUser if
// there is none.
func (u *Users) SetPassword(ctx context.Context, email, password string) error {
	return u.Set(ctx, email, Change{Password: &password})
}

// Set changes the user with email as c says, in one write; ErrNoUser if
// there is none.
func (u *Users) Set(ctx context.Context, email string, c Change) error {
	var hash string
	if c.Password != nil {
		var err error
		if hash, err = HashPassword(*c.Password, u.Cost); err != nil {
			return err
		}
	}
	return Update(ctx, u.Path, u.Mode, func(p *Passwd) error {
		e, ok := p.Lookup(email)
		if !ok {
			return ErrNoUser
		}
		if c.Password != nil {
			e.Hash = hash
		}
		if c.Info != nil {
			e.Info = *c.Info
		}
		return p.Set(e)
	})
}

// Remove removes the user with email; ErrNoUser if there is none.
func (u *Users) Remove(ctx context.Context, email string) error {
	return Update(ctx, u.Path, u.Mode, func(p *Passwd) error { return p.Remove(email) })
}
