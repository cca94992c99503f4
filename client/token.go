package client

import (
	"context"
	"fmt"
	"time"
)

// Token is a bearer token.
type Token struct {
	Token   string    `json:"token"`
	Expires time.Time `json:"expires"`
}

// Token asks the server for a bearer token for the client's user (POST
// /auth/token, with basic auth: a client that holds a token gets a 403
// *Error). c.With(WithBearerToken(tok.Token)) then authenticates with it
// until it expires. Not retried.
func (c *Client) Token(ctx context.Context) (Token, error) {
	var t Token
	if err := c.postJSON(ctx, "/auth/token", &t); err != nil {
		return Token{}, err
	}
	if t.Token == "" {
		return Token{}, fmt.Errorf("apie client: POST /auth/token: the answer holds no token")
	}
	return t, nil
}
