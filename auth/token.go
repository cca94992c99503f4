package auth

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"apie/internal/durable"
	"apie/sum"
)

// Token lifetimes.
const (
	DefaultTokenLifetime = time.Hour
	MaxTokenLifetime     = 30 * 24 * time.Hour
)

// tokenKeySize is the length of the HMAC key in the key file.
const tokenKeySize = 32

// errNoKey says the key file does not exist yet: no token can be valid.
var errNoKey = errors.New("no token key yet")

// tokenPayload is what a bearer token says, as JSON.
type tokenPayload struct {
	Sub string `json:"sub"` // the user's email
	Exp int64  `json:"exp"` // expiry, unix seconds; invalid from then on
	Pwf string `json:"pwf"` // fingerprint of the user's stored hash when issued
}

// fingerprint returns the first 16 hex digits of the SHA-256 of a stored
// bcrypt hash: it changes whenever the password does, and says nothing
// useful about the password.
func fingerprint(hash string) string {
	h := sum.Of([]byte(hash))
	return hex.EncodeToString(h[:8])
}

// signToken returns base64url(payload) "." base64url(HMAC-SHA-256(key, payload)).
func signToken(key []byte, p tokenPayload) (string, error) {
	payload, err := json.Marshal(p)
	if err != nil {
		return "", fmt.Errorf("encode token: %w", err)
	}
	enc := base64.RawURLEncoding
	return enc.EncodeToString(payload) + "." + enc.EncodeToString(mac(key, payload)), nil
}

// parseToken checks a token's MAC (in constant time) and only then decodes
// its payload. Both parts must be canonical unpadded base64url, so a token
// has one spelling only: the unused low bits of each part's last character
// must be zero, and line breaks (which even a strict decoder skips) are
// refused. The payload is decoded strictly: unknown members, trailing data
// or a missing member make it invalid. Expiry and user are for the caller
// to check.
func parseToken(key []byte, token string) (tokenPayload, bool) {
	p64, m64, found := strings.Cut(token, ".")
	if !found || strings.ContainsAny(token, "\r\n") {
		return tokenPayload{}, false
	}
	enc := base64.RawURLEncoding.Strict()
	payload, err := enc.DecodeString(p64)
	if err != nil {
		return tokenPayload{}, false
	}
	got, err := enc.DecodeString(m64)
	if err != nil || !hmac.Equal(got, mac(key, payload)) {
		return tokenPayload{}, false
	}
	var p tokenPayload
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil || dec.More() {
		return tokenPayload{}, false
	}
	if p.Sub == "" || p.Exp == 0 || p.Pwf == "" {
		return tokenPayload{}, false
	}
	return p, true
}

// mac returns HMAC-SHA-256(key, msg).
func mac(key, msg []byte) []byte {
	m := hmac.New(sum.New, key)
	m.Write(msg)
	return m.Sum(nil)
}

// readKey reads the token key at path. A missing file gives errNoKey; a
// file that is not exactly 32 bytes is an error.
func readKey(path string) ([]byte, error) {
	key, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, errNoKey
	}
	if err != nil {
		return nil, fmt.Errorf("read token key: %w", err)
	}
	if len(key) != tokenKeySize {
		return nil, fmt.Errorf("read token key %s: %d bytes, want %d", path, len(key), tokenKeySize)
	}
	return key, nil
}

// createKey returns the token key at path, making it first if there is
// none: 32 random bytes created with durable.WriteNew (mode 0600), so the
// key appears whole or not at all; when another process won the race, its
// key is read and used. A missing directory is made first, with dirMode (a
// config of only Apie's keys puts nothing else in the default apie-data/).
func createKey(path string, dirMode fs.FileMode) ([]byte, error) {
	key, err := readKey(path)
	if !errors.Is(err, errNoKey) {
		return key, err
	}
	key = make([]byte, tokenKeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("make token key: %w", err)
	}
	if err := durable.MkdirAll(filepath.Dir(path), dirMode); err != nil {
		return nil, fmt.Errorf("make token key: %w", err)
	}
	created, err := durable.WriteNew(path, key, 0o600)
	if err != nil {
		return nil, fmt.Errorf("install token key: %w", err)
	}
	if !created {
		return readKey(path)
	}
	return key, nil
}
