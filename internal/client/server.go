package client

import (
	"context"
	"net/http"

	"github.com/tokenctl/tokenctl/internal/api"
)

// ServerInfo asks what the server allows (GET /v1/server): its version,
// token lifetimes and features, e.g. so login can ask for a lifetime the
// server accepts. It sends no credential, even when c holds one: the
// endpoint needs none, and a password should travel only where it is used.
func (c *Client) ServerInfo(ctx context.Context) (*api.ServerInfo, error) {
	anon := *c
	anon.opts.Token, anon.opts.Username, anon.opts.Password = "", "", ""
	var out api.ServerInfo
	if err := anon.do(ctx, http.MethodGet, "/v1/server", nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
