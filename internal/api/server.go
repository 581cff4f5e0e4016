package api

import "time"

// DefaultLoginLifetime is what a password login's token should live when
// the user names no lifetime: 90 days, or the server's maximum if that is
// shorter (ServerInfo.DefaultLoginLifetimeSeconds says which).
const DefaultLoginLifetime = 90 * 24 * time.Hour

// Features a server lists in ServerInfo.Features; a client checks for one
// before it relies on it.
const (
	FeatureScopes      = "scopes"      // tokens carry scopes; GET /v1/scopes, /v1/auth/check
	FeatureIdempotency = "idempotency" // POST /v1/tokens honours Idempotency-Key
	FeatureExchange    = "exchange"    // POST /v1/tokens/exchange (CI identity tokens)
	FeatureLeakRevoke  = "revoke"      // POST /v1/tokens/revoke (leaked secrets)
	FeatureEvents      = "events"      // GET /v1/events (audit log)
	FeatureAdmin       = "admin"       // /v1/admin/: roles, every user's tokens, service accounts, offboarding
	FeatureIntrospect  = "introspect"  // POST /v1/introspect (RFC 7662, for gateways)
)

// ServerInfo is GET /v1/server: what a client needs to know of a server
// before it signs in, such as the lifetimes it allows. It needs no
// credential.
type ServerInfo struct {
	Version string `json:"version"`
	// TokenPrefix starts every secret this server mints.
	TokenPrefix string `json:"token_prefix"`
	// Lifetimes in whole seconds: a create without an expiry gets the
	// default; one outside [min, max] is 400.
	DefaultTokenLifetimeSeconds int64 `json:"default_token_lifetime_seconds"`
	MinTokenLifetimeSeconds     int64 `json:"min_token_lifetime_seconds"`
	MaxTokenLifetimeSeconds     int64 `json:"max_token_lifetime_seconds"`
	// DefaultLoginLifetimeSeconds is what a client's password login should
	// ask for by default: DefaultLoginLifetime capped by the maximum.
	DefaultLoginLifetimeSeconds int64 `json:"default_login_lifetime_seconds"`
	// PasswordLogin says HTTP Basic sign-in (username and password) works.
	PasswordLogin bool `json:"password_login"`
	// Features, sorted: Feature* values.
	Features []string `json:"features"`
	// Limits of one request.
	MaxPageSize          int `json:"max_page_size"`
	MaxBulkDelete        int `json:"max_bulk_delete"`
	MaxTokensPerUser     int `json:"max_tokens_per_user"`
	MaxNameLength        int `json:"max_name_length"`
	MaxDescriptionLength int `json:"max_description_length"`
}
