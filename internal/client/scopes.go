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
