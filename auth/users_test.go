package auth

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
)

// TestUsers runs the changes the admin commands and POST /user/update make,
// in order, on one passwd file, checking each against what the file then
// holds and what a password check says.
func TestUsers(t *testing.T) {
	ctx := context.Background()
	u := &Users{Path: filepath.Join(t.TempDir(), "passwd"), Mode: 0o600, Cost: 4}
	str := func(s string) *string { return &s }
	errAny := errors.New("any error")
	steps := []struct {
		name     string
		do       func() error
		wantErr  error
		email    string // then looked up
		wantOK   bool
		wantInfo string
		password string // and, when set, must match
	}{
		{"add", func() error { return u.Add(ctx, "a@x", "pw-a", "Alice") }, nil, "a@x", true, "Alice", "pw-a"},
		{"add taken", func() error { return u.Add(ctx, "a@x", "other", "") }, ErrExists, "a@x", true, "Alice", "pw-a"},
		{"add second", func() error { return u.Add(ctx, "b@x", "pw-b", "") }, nil, "b@x", true, "", "pw-b"},
		{"set password", func() error { return u.SetPassword(ctx, "a@x", "pw-a2") }, nil, "a@x", true, "Alice", "pw-a2"},
		{"set info", func() error { return u.Set(ctx, "a@x", Change{Info: str("Al")}) }, nil, "a@x", true, "Al", "pw-a2"},
		{"set both", func() error { return u.Set(ctx, "b@x", Change{Password: str("pw-b2"), Info: str("Bob")}) }, nil, "b@x", true, "Bob", "pw-b2"},
		{"set unknown", func() error { return u.SetPassword(ctx, "c@x", "pw") }, ErrNoUser, "c@x", false, "", ""},
		{"set empty password", func() error { return u.SetPassword(ctx, "a@x", "") }, errAny, "a@x", true, "Al", "pw-a2"},
		{"remove", func() error { return u.Remove(ctx, "b@x") }, nil, "b@x", false, "", ""},
		{"remove unknown", func() error { return u.Remove(ctx, "b@x") }, ErrNoUser, "a@x", true, "Al", "pw-a2"},
	}
	for _, s := range steps {
		err := s.do()
		if s.wantErr == errAny {
			if err == nil {
				t.Fatalf("%s: got nil error, want one", s.name)
			}
		} else if !errors.Is(err, s.wantErr) || (s.wantErr == nil && err != nil) {
			t.Fatalf("%s: got error %v, want %v", s.name, err, s.wantErr)
		}
		e, ok, err := u.Lookup(s.email)
		if err != nil {
			t.Fatalf("%s: lookup: %v", s.name, err)
		}
		if ok != s.wantOK || e.Info != s.wantInfo {
			t.Fatalf("%s: lookup %s: got %+v, %v; want info %q, %v", s.name, s.email, e, ok, s.wantInfo, s.wantOK)
		}
		if s.password != "" {
			if match, err := compare(e.Hash, s.password); err != nil || !match {
				t.Fatalf("%s: password %q does not match the stored hash (%v)", s.name, s.password, err)
			}
		}
	}
	list, err := u.List()
	if err != nil || len(list) != 1 || list[0].Email != "a@x" {
		t.Fatalf("list: got %+v, %v; want a@x alone", list, err)
	}
}

// TestUsersAddFirst checks that of several processes' first starts, one
// makes the first user, and none once there is a user.
func TestUsersAddFirst(t *testing.T) {
	ctx := context.Background()
	u := &Users{Path: filepath.Join(t.TempDir(), "passwd"), Cost: 4}
	var wg sync.WaitGroup
	made := make([]bool, 4)
	for i := range made {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok, err := u.AddFirst(ctx, "first@x", "pw", "")
			if err != nil {
				t.Error(err)
			}
			made[i] = ok
		}()
	}
	wg.Wait()
	n := 0
	for _, ok := range made {
		if ok {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d of %d calls made the first user, want 1", n, len(made))
	}
	if ok, err := u.AddFirst(ctx, "second@x", "pw", ""); ok || err != nil {
		t.Errorf("with a user: got %v, %v; want false, nil", ok, err)
	}
	if list, _ := u.List(); len(list) != 1 || list[0].Email != "first@x" {
		t.Errorf("got users %+v, want first@x alone", list)
	}
}
