package auth

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// userHashTail is the salt and digest of a real bcrypt hash (not the fake
// one). Any cost in front of it makes a valid hash that costs what a real
// one of that cost does to compare, and that no password is known to match.
const userHashTail = "o0kJyi5UrWn/rTXyyp9BruhPne9PFLmqzrhgbMLI8SXaZG5.OiCEm"

// writePasswd replaces the fixture's passwd file with users of the given
// costs, "u<i>@example.com", whose passwords no one knows. A cost of 0
// writes a hash whose cost cannot be read.
func (f *fixture) writePasswd(t testing.TB, costs ...int) {
	t.Helper()
	var b strings.Builder
	for i, cost := range costs {
		h := "$2a$xx$" + userHashTail
		if cost != 0 {
			h = fmt.Sprintf("$2a$%02d$%s", cost, userHashTail)
		}
		fmt.Fprintf(&b, "u%d@example.com:%s\n", i, h)
	}
	if err := os.WriteFile(f.path, []byte(b.String()), 0o640); err != nil {
		t.Fatal(err)
	}
}

// TestFakeHashFollowsPasswdCost checks an unknown user against passwd
// files of one and of mixed bcrypt costs: the fake hash compared has the
// cost most of the file's hashes have (the higher on a tie), not the
// configured cost for new passwords, which is used only for an empty file.
func TestFakeHashFollowsPasswdCost(t *testing.T) {
	const configured = 7
	tests := []struct {
		name  string
		costs []int
		want  int
	}{
		{"htpasswd -B defaults", []int{5, 5, 5}, 5},
		{"mostly cheap", []int{4, 8, 4}, 4},
		{"mostly dear", []int{8, 4, 8}, 8},
		{"tie takes the higher", []int{4, 8, 8, 4}, 8},
		{"unreadable costs ignored", []int{0, 0, 5}, 5},
		{"no users", nil, configured},
		{"no readable cost", []int{0}, configured},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, Options{BcryptCost: configured})
			f.writePasswd(t, tt.costs...)
			var compared []string
			f.c.testHookCompare = func(hash string) { compared = append(compared, hash) }
			_, err := f.c.Check(context.Background(), basic("ghost@example.com", "pw0"), "")
			if !errors.Is(err, ErrUnauthorized) {
				t.Fatalf("unknown user: got %v, want %v", err, ErrUnauthorized)
			}
			if len(compared) != 1 || !strings.HasSuffix(compared[0], fakeHashTail) {
				t.Fatalf("compared %q, want the fake hash once", compared)
			}
			if got, err := bcrypt.Cost([]byte(compared[0])); err != nil || got != tt.want {
				t.Errorf("fake hash %q: cost %d (%v), want %d", compared[0], got, err, tt.want)
			}
		})
	}
}

// TestFailedLoginTimingMixedCosts times failed logins against a passwd
// file of mostly cost-4 hashes and one cost-7 hash, with cost 7
// configured for new passwords (as "htpasswd -B" users meet with the
// default bcryptCost): an unknown user must take about what a wrong
// password for a cost-4 user does, and clearly less than the cost-7 one
// (8 times the work). The three are timed in turn, round after round, and
// compared by the median of each round's ratios, so a load that comes and
// goes slows them alike.
func TestFailedLoginTimingMixedCosts(t *testing.T) {
	f := newFixture(t, Options{BcryptCost: 7})
	f.writePasswd(t, 4, 4, 4, 7)
	ctx := context.Background()
	timeOf := func(header string) time.Duration {
		start := time.Now()
		if _, err := f.c.Check(ctx, header, ""); !errors.Is(err, ErrUnauthorized) {
			t.Fatalf("got %v, want %v", err, ErrUnauthorized)
		}
		return time.Since(start)
	}
	const rounds = 9
	var unknownPerCheap, dearPerUnknown []float64
	for i := range rounds {
		cheap := timeOf(basic(fmt.Sprintf("u%d@example.com", i%3), "wrong"))
		unknown := timeOf(basic(fmt.Sprintf("ghost%d@example.com", i), "wrong"))
		dear := timeOf(basic("u3@example.com", "wrong"))
		unknownPerCheap = append(unknownPerCheap, float64(unknown)/float64(cheap))
		dearPerUnknown = append(dearPerUnknown, float64(dear)/float64(unknown))
	}
	slices.Sort(unknownPerCheap)
	slices.Sort(dearPerUnknown)
	up, du := unknownPerCheap[rounds/2], dearPerUnknown[rounds/2]
	t.Logf("median ratios: unknown/cost-4 user %.2f, cost-7 user/unknown %.2f", up, du)
	if up < 1.0/3 || up > 3 {
		t.Errorf("an unknown user takes %.2f times a cost-4 user's wrong password, want about 1 (between 1/3 and 3)", up)
	}
	if du < 3 {
		t.Errorf("the cost-7 user takes only %.2f times an unknown user, want about 8 (at least 3)", du)
	}
}
