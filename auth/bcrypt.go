package auth

import (
	"errors"
	"fmt"

	"golang.org/x/crypto/bcrypt"
)

// Bcrypt costs: the one used when none is configured, and the range
// bcrypt takes.
const (
	DefaultBcryptCost = 10
	MinBcryptCost     = bcrypt.MinCost
	MaxBcryptCost     = bcrypt.MaxCost
)

// fakeHashTail is the salt and digest of a bcrypt hash of a random password
// no one knows. fakeHash puts a cost in front of it, giving a well-formed
// hash whose comparison costs exactly what a real one of that cost does.
const fakeHashTail = "rPSS9CB7T0jXtKwnO7/Hluc376AG/acMnA2jMxhPB45vlK6E8iRiW"

// fakeHash returns the fixed hash unknown users are compared against. It
// needs no secrecy and no generating: any cost in front of the same tail
// is a valid hash, so a CGI process pays nothing to make one.
func fakeHash(cost int) string {
	return fmt.Sprintf("$2a$%02d$%s", cost, fakeHashTail)
}

// fakeCost returns the cost of the fake hash for a passwd file: the cost
// most of its hashes have (the higher one on a tie), or def if none has a
// readable cost. An attacker tells an unknown user from a known one by
// comparing their check times, so the fake must cost what the file's users
// cost, not what new passwords will cost. With mixed costs no single cost
// hides every user; the most common one hides the most, and unlike the
// highest, one user given a huge cost cannot make every failed login
// that slow.
func fakeCost(pw *Passwd, def int) int {
	counts := make(map[int]int)
	best, most := def, 0
	for _, l := range pw.lines {
		if !l.isEntry {
			continue
		}
		cost, ok := hashCost(l.entry.Hash)
		if !ok {
			continue
		}
		counts[cost]++
		if n := counts[cost]; n > most || (n == most && cost > best) {
			best, most = cost, n
		}
	}
	return best
}

// hashCost reads the cost of a "$2x$NN$..." bcrypt hash without decoding
// the rest; ok is false if it is not two digits within bcrypt's range.
func hashCost(hash string) (cost int, ok bool) {
	if len(hash) < 7 || hash[6] != '$' {
		return 0, false
	}
	d1, d2 := hash[4], hash[5]
	if d1 < '0' || d1 > '9' || d2 < '0' || d2 > '9' {
		return 0, false
	}
	cost = int(d1-'0')*10 + int(d2-'0')
	return cost, cost >= bcrypt.MinCost && cost <= bcrypt.MaxCost
}

// checkCost accepts 0 (meaning DefaultBcryptCost) or a cost bcrypt takes,
// and returns the cost to use.
func checkCost(cost int) (int, error) {
	if cost == 0 {
		return DefaultBcryptCost, nil
	}
	if cost < bcrypt.MinCost || cost > bcrypt.MaxCost {
		return 0, fmt.Errorf("bcrypt cost %d out of range %d..%d", cost, bcrypt.MinCost, bcrypt.MaxCost)
	}
	return cost, nil
}

// HashPassword returns the bcrypt ($2a$) hash of password at cost (0 means
// DefaultBcryptCost). It refuses an empty password, one longer than the 72
// bytes bcrypt reads, and a cost outside bcrypt's range (rather than
// silently using another, as bcrypt itself would).
func HashPassword(password string, cost int) (string, error) {
	cost, err := checkCost(cost)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	if password == "" {
		return "", errors.New("hash password: empty password")
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), cost)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return string(h), nil
}

// compare reports whether password matches the bcrypt hash. ok is false
// with a nil error for a plain mismatch (or a password too long for bcrypt,
// which no stored hash can match); err is non-nil only for a real fault,
// such as a malformed stored hash.
func compare(hash, password string) (ok bool, err error) {
	err = bcrypt.CompareHashAndPassword([]byte(hash), []byte(password))
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, bcrypt.ErrMismatchedHashAndPassword), errors.Is(err, bcrypt.ErrPasswordTooLong):
		return false, nil
	default:
		return false, fmt.Errorf("compare bcrypt hash: %w", err)
	}
}
