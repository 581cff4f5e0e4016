package api

// ServerInfo is GET /v1/server: what a client may ask of this server, so
// it can default to what the server allows instead of guessing.
//
// Minimal shape written against srvshape's interface; on merge their
// version of this file wins.
type ServerInfo struct {
	Version                     string   `json:"version"`
	DefaultTokenLifetimeSeconds int64    `json:"default_token_lifetime_seconds"`
	MaxTokenLifetimeSeconds     int64    `json:"max_token_lifetime_seconds"`
	DefaultLoginLifetimeSeconds int64    `json:"default_login_lifetime_seconds"`
	PasswordLogin               bool     `json:"password_login"`
	Features                    []string `json:"features"`
}
