package client

import (
	"context"
	"net/http"

	"github.com/tokenctl/tokenctl/internal/api"
)

// Scopes lists the scopes a token may be given (GET /v1/scopes), sorted
// by name. It needs no scope.
func (c *Client) Scopes(ctx context.Context) ([]api.Scope, error) {
	var out api.ScopeList
	if err := c.do(ctx, http.MethodGet, "/v1/scopes", nil, nil, &out); err != nil {
		return nil, err
	}
	return out.Items, nil
}

// CurrentToken returns the record of the token the client authenticates
// with (GET /v1/tokens/current). With a password the server answers 400
// not_a_token.
func (c *Client) CurrentToken(ctx context.Context) (*api.CurrentToken, error) {
	var out api.CurrentToken
	return &out, c.do(ctx, http.MethodGet, "/v1/tokens/current", nil, nil, &out)
}
