package client

import (
	"context"
	"net/http"

	"github.com/tokenctl/tokenctl/internal/api"
)

// CurrentToken returns the record of the token the client authenticates
// with (GET /v1/tokens/current). With a password the server answers 400
// not_a_token.
func (c *Client) CurrentToken(ctx context.Context) (*api.CurrentToken, error) {
	var out api.CurrentToken
	return &out, c.do(ctx, http.MethodGet, "/v1/tokens/current", nil, nil, &out)
}

// DeleteCurrentToken deletes the token c authenticates with (DELETE
// /v1/tokens/current): it needs no scope, so a token without tokens:write
// can still end its own life.
func (c *Client) DeleteCurrentToken(ctx context.Context) error {
	return c.do(ctx, http.MethodDelete, "/v1/tokens/current", nil, nil, nil)
}
