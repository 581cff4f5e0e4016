package client

import (
	"context"
	"net/http"

	"github.com/tokenctl/tokenctl/internal/api"
)

// ServerInfo returns GET /v1/server: the server's version and limits. A
// server older than the endpoint answers 404 (an *APIError).
//
// Minimal version written against srvshape's interface; on merge their
// version of this file wins.
func (c *Client) ServerInfo(ctx context.Context) (*api.ServerInfo, error) {
	var out api.ServerInfo
	return &out, c.do(ctx, http.MethodGet, "/v1/server", nil, nil, &out)
}
