package auth

import (
	"errors"
	"fmt"

	"golang.org/x/crypto/bcrypt"
)

// DefaultBcryptCost is the bcrypt cost used when none is configured.
const DefaultBcryptCost = 10

// fakeHashTail is the salt and digest of a bcrypt hash of a random password
// no one knows. fakeHash puts a cost in front of it, giving a well-formed
// hash whose comparison costs exactly what a real one of that cost does.
const fakeHashTail = "rPSS9CB7T0jXtKwnO7/Hluc376AG/acMnA2jMxhPB45vlK6E8iRiW"

// fakeHash returns the fixed hash unknown users are compared against.
func fakeHash(cost int) string {
	return fmt.Sprintf("$2a$%02d$%s", cost, fakeHashTail)
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
