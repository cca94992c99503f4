package auth

import "context"

// userKey is the context key for the authenticated User.
type userKey struct{}

// WithUser returns a copy of ctx carrying u as the authenticated user.
func WithUser(ctx context.Context, u User) context.Context {
	return context.WithValue(ctx, userKey{}, u)
}

// FromContext returns the authenticated user put in ctx by WithUser (the
// Middleware does so), and whether there was one.
func FromContext(ctx context.Context) (User, bool) {
	u, ok := ctx.Value(userKey{}).(User)
	return u, ok
}
