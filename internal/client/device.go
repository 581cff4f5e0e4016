package client

import (
	"context"
	"net/http"

	"github.com/tokenctl/tokenctl/internal/api"
)

// StartDevice begins a browser sign-in (POST /v1/auth/device). It sends
// no credential: a person approves the code in the browser.
func (c *Client) StartDevice(ctx context.Context, clientHost string) (*api.DeviceAuthorization, error) {
	var out api.DeviceAuthorization
	return &out, c.do(ctx, http.MethodPost, "/v1/auth/device", nil, api.DeviceStartRequest{ClientHost: clientHost}, &out)
}

// PollDevice asks once for the login token of a browser sign-in (POST
// /v1/auth/device/token). Until it is approved the answer is an *APIError
// whose Problem.Code says what to do (api.CodeAuthorizationPending,
// api.CodeSlowDown, ...). Never retried here: the caller's loop is the
// retry, at the server's interval.
func (c *Client) PollDevice(ctx context.Context, req api.DeviceTokenRequest) (*api.DeviceToken, error) {
	if req.GrantType == "" {
		req.GrantType = api.GrantTypeDeviceCode
	}
	var out api.DeviceToken
	return &out, c.do(ctx, http.MethodPost, "/v1/auth/device/token", nil, req, &out)
}
