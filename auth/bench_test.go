package auth

import (
	"context"
	"testing"
)

func BenchmarkCheckCached(b *testing.B) {
	f := newFixture(b, Options{Cache: true})
	h := basic("bob", "hunter2")
	ctx := context.Background()
	for b.Loop() {
		if _, err := f.c.Check(ctx, h, ""); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCheckBcrypt5 measures an uncached check against a cost-5 hash,
// the path every CGI request takes (at the configured cost).
func BenchmarkCheckBcrypt5(b *testing.B) {
	f := newFixture(b, Options{BcryptCost: 5})
	h5, err := HashPassword("pw5", 5)
	if err != nil {
		b.Fatal(err)
	}
	if err := Update(context.Background(), f.path, 0, func(p *Passwd) error {
		return p.Add(Entry{Email: "five@x", Hash: h5})
	}); err != nil {
		b.Fatal(err)
	}
	h := basic("five@x", "pw5")
	ctx := context.Background()
	for b.Loop() {
		if _, err := f.c.Check(ctx, h, ""); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCheckToken(b *testing.B) {
	f := newFixture(b, Options{})
	f.c.opts.TokenKeyPath = b.TempDir() + "/token.key"
	tok, _, err := f.c.IssueToken(context.Background(), User{Email: "bob"})
	if err != nil {
		b.Fatal(err)
	}
	h := "Bearer " + tok
	ctx := context.Background()
	for b.Loop() {
		if _, err := f.c.Check(ctx, h, ""); err != nil {
			b.Fatal(err)
		}
	}
}
