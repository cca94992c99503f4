package config

import (
	"slices"
	"strings"
	"testing"
)

// TestAdmins: "admins" absent means the first-start user ("admin") and
// AdminsSet false; set, it is taken as given (an empty list: no admin);
// a name that cannot be a user is refused with its index.
func TestAdmins(t *testing.T) {
	for _, tt := range []struct {
		name, json string
		want       []string
		set        bool
		wantErr    string
	}{
		{name: "absent", json: `{}`, want: []string{"admin"}},
		{name: "list", json: `{"admins":["alice@example.com","bob@example.com"]}`, want: []string{"alice@example.com", "bob@example.com"}, set: true},
		{name: "empty list", json: `{"admins":[]}`, want: []string{}, set: true},
		{name: "empty name", json: `{"admins":["alice@example.com",""]}`, wantErr: "admins[1]"},
		{name: "colon", json: `{"admins":["a:b"]}`, wantErr: "admins[0]"},
		{name: "newline", json: `{"admins":["a\nb"]}`, wantErr: "admins[0]"},
		{name: "not a list", json: `{"admins":"alice@example.com"}`, wantErr: "admins"},
		{name: "not strings", json: `{"admins":[1]}`, wantErr: "admins"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse([]byte(tt.json), "/srv/app")
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got %v, want an error naming %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(c.Admins, tt.want) || c.AdminsSet != tt.set {
				t.Fatalf("admins %q (set %v), want %q (set %v)", c.Admins, c.AdminsSet, tt.want, tt.set)
			}
		})
	}
}
