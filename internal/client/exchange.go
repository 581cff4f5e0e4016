package client

import (
	"context"
	"net/http"

	"github.com/tokenctl/tokenctl/internal/api"
)

// Exchange trades a CI job's identity token for a short-lived token (POST
// /v1/tokens/exchange). It sends no credential of its own: the identity
// token in the body is the credential, so c is normally built without one.
// It is never retried: the server accepts each identity token once, so a
// second try after a lost answer would only be refused as a replay.
func (c *Client) Exchange(ctx context.Context, req api.ExchangeRequest) (*api.ExchangedToken, error) {
	if req.GrantType == "" {
		req.GrantType = api.GrantTypeTokenExchange
	}
	var out api.ExchangedToken
	return &out, c.do(ctx, http.MethodPost, "/v1/tokens/exchange", nil, req, &out)
}
