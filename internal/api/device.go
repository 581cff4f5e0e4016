package api

// Sign-in through the browser: a device authorization grant in the shape of
// RFC 8628 (sent as JSON, like every other body of this API). The CLI starts
// it with POST /v1/auth/device, shows the user code and URL, and polls POST
// /v1/auth/device/token until a person has approved it at /login/device.

// GrantTypeDeviceCode is RFC 8628's grant type.
const GrantTypeDeviceCode = "urn:ietf:params:oauth:grant-type:device_code"

// DeviceStartRequest is the body of POST /v1/auth/device.
type DeviceStartRequest struct {
	// ClientHost is the host name of the machine asking, shown to the
	// person approving ("tokenctl on HOST") and in the login token's name.
	ClientHost string `json:"client_host"`
}

// DeviceAuthorization is the 200 answer to POST /v1/auth/device
// (RFC 8628 §3.2).
type DeviceAuthorization struct {
	DeviceCode              string `json:"device_code"`
	UserCode                string `json:"user_code"` // XXXX-XXXX
	VerificationURI         string `json:"verification_uri"`
	VerificationURIComplete string `json:"verification_uri_complete"`
	ExpiresIn               int64  `json:"expires_in"` // seconds
	Interval                int64  `json:"interval"`   // seconds between polls
}

// DeviceTokenRequest is the body of POST /v1/auth/device/token.
type DeviceTokenRequest struct {
	GrantType  string `json:"grant_type,omitempty"` // GrantTypeDeviceCode when present
	DeviceCode string `json:"device_code"`
	// ExpiresInSeconds is the login token's lifetime; left out, the
	// server's default.
	ExpiresInSeconds *int64 `json:"expires_in_seconds,omitempty"`
}

// DeviceToken is the 200 answer once the person approved: the login
// token with its secret (shown once) and whose it is.
type DeviceToken struct {
	CreatedToken
	User        UserRef `json:"user"`
	AccessToken string  `json:"access_token"` // the same secret, RFC 6749's member
	TokenType   string  `json:"token_type"`   // "Bearer"
	ExpiresIn   int64   `json:"expires_in"`   // seconds from now
}

// Problem codes of the device grant (RFC 8628 §3.5's error names).
const (
	CodeAuthorizationPending = "authorization_pending" // 400 nobody approved yet: poll again after interval
	CodeSlowDown             = "slow_down"             // 400 polled too soon: Problem.Interval is the new interval
	CodeExpiredToken         = "expired_token"         // 400 the device code expired, was used, or is unknown: start again
	CodeAccessDenied         = "access_denied"         // 400 the person or the policy refused
	CodeSSONotConfigured     = "sso_not_configured"    // 403 this server has no sign-in provider
)
