// Package server is tokend's HTTP API v1: routing, authentication, rate
// limiting, request decoding and problem+json errors over a store.Store.
package server

import (
	"fmt"
	"log/slog"
	"net/http"
	"runtime"
	"time"

	"github.com/tokenctl/tokenctl/internal/api"
	"github.com/tokenctl/tokenctl/internal/oidcverify"
	"github.com/tokenctl/tokenctl/internal/password"
	"github.com/tokenctl/tokenctl/internal/secret"
	"github.com/tokenctl/tokenctl/internal/store"
)

// Defaults for Config fields left zero.
const (
	DefaultMaxLifetime      = 8784 * time.Hour // 366 days
	DefaultTokenLifetime    = 30 * 24 * time.Hour
	DefaultMaxBodyBytes     = 1 << 20
	DefaultAuthFailures     = 10
	DefaultPasswordFailures = 5
	DefaultAddressFailures  = 30
	DefaultAuthFailWindow   = time.Minute
	// PasswordQueuePerCheck is how many password checks may wait per
	// check running (Config.PasswordChecks); more get 503.
	PasswordQueuePerCheck   = 4
	DefaultLimiterCapacity  = 100_000
	DefaultMaxTokensPerUser = 10_000
	// DefaultDeviceStarts browser sign-ins may be started per
	// AuthFailWindow from one address: a person needs one, an office
	// behind one address a few at once.
	DefaultDeviceStarts = 30
	// DefaultMaxPendingDeviceCodes bounds the device codes waiting for a
	// person at once, whatever their addresses.
	DefaultMaxPendingDeviceCodes = 10_000
	touchInterval                = time.Minute
)

// Config tunes a server. The zero value is usable: every zero field takes
// its default.
type Config struct {
	// TokenPrefix starts every token this server mints; default "tkn_".
	TokenPrefix string
	// MaxLifetime caps the lifetime of a new token; default 366 days.
	MaxLifetime time.Duration
	// DefaultLifetime applies when a create names no expiry; default 30
	// days, capped by MaxLifetime.
	DefaultLifetime time.Duration
	// DefaultLoginLifetime is what GET /v1/server tells a client's
	// password login to ask for when its user names no lifetime; default
	// 90 days (api.DefaultLoginLifetime), capped by MaxLifetime.
	DefaultLoginLifetime time.Duration
	// MaxBodyBytes bounds a request body; default 1 MiB.
	MaxBodyBytes int64
	// AuthFailures failing credentials other than passwords (bad tokens,
	// refused identity tokens) per AuthFailWindow from one client address
	// are answered 401; past that the next ones get 429 until the window
	// ends. A valid token is never refused. Defaults 10 per minute.
	AuthFailures   int
	AuthFailWindow time.Duration
	// PasswordFailures wrong passwords per AuthFailWindow for one account
	// from one client address are tolerated; past that every password
	// check of that account from that address gets 429 until the window
	// ends. Default 5.
	PasswordFailures int
	// PasswordFailuresPerAddress wrong passwords per AuthFailWindow from
	// one client address, whatever the accounts, are tolerated; past that
	// every password check from it gets 429. Default 30.
	PasswordFailuresPerAddress int
	// PasswordChecks bounds the password hashes (argon2id, 19 MiB each)
	// running at once; PasswordQueuePerCheck times as many may wait and
	// the rest get 503. Default GOMAXPROCS.
	PasswordChecks int
	// LimiterCapacity bounds how many client addresses the rate limiter
	// remembers, so a spray of addresses cannot grow memory without end.
	LimiterCapacity int
	// TrustProxy takes the client address from the last X-Forwarded-For
	// entry, the one the proxy in front of tokend added. Only set it behind
	// exactly one such proxy, or every client can name its own address.
	TrustProxy bool
	// MaxTokensPerUser caps a user's live (unexpired) tokens; the next
	// create is 409 token_limit_reached. Default 10,000.
	MaxTokensPerUser int
	// DisablePasswordLogin refuses HTTP Basic (username and password) on
	// every route, for SSO-only deployments (tokend serve
	// --password-login=false); tokens keep working.
	DisablePasswordLogin bool
	// DevicePollInterval is the least time between two polls of a device
	// code: whole seconds, MinDevicePollInterval to MaxDevicePollInterval
	// (Validate); default 5 s.
	DevicePollInterval time.Duration
	// DeviceStarts POST /v1/auth/device per AuthFailWindow from one client
	// address are answered; past that 429 until the window ends (shared
	// among replicas like the failure budgets). Default 30.
	DeviceStarts int
	// MaxPendingDeviceCodes bounds the unexpired device codes nobody has
	// approved or refused yet; past it a start gets 503. Default 10,000.
	MaxPendingDeviceCodes int
	// PublicURL is where clients reach this server (https://tokend.example.com),
	// used in the device grant's verification_uri; empty takes it from
	// each request.
	PublicURL string
	// Now is the clock; tests inject one to exercise expiry.
	Now func() time.Time
	// Verifier checks identity tokens for POST /v1/tokens/exchange; nil
	// makes one with oidcverify's defaults on Now.
	Verifier *oidcverify.Verifier
	// GitHubKeysURLs are where GitHub and any GitHub Enterprise Servers
	// publish the keys that sign secret-scanning reports; none turns
	// POST /v1/secret-scanning/github off (github.go).
	GitHubKeysURLs []string
	// GitHubClient fetches GitHubKeysURLs; nil is a client with a timeout.
	GitHubClient *http.Client
}

func (c Config) withDefaults() Config {
	if c.TokenPrefix == "" {
		c.TokenPrefix = secret.DefaultPrefix
	}
	if c.MaxLifetime <= 0 {
		c.MaxLifetime = DefaultMaxLifetime
	}
	if c.DefaultLifetime <= 0 {
		c.DefaultLifetime = DefaultTokenLifetime
	}
	if c.DefaultLifetime > c.MaxLifetime {
		c.DefaultLifetime = c.MaxLifetime
	}
	if c.DefaultLoginLifetime <= 0 {
		c.DefaultLoginLifetime = api.DefaultLoginLifetime
	}
	if c.DefaultLoginLifetime > c.MaxLifetime {
		c.DefaultLoginLifetime = c.MaxLifetime
	}
	if c.MaxBodyBytes <= 0 {
		c.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if c.AuthFailures <= 0 {
		c.AuthFailures = DefaultAuthFailures
	}
	if c.PasswordFailures <= 0 {
		c.PasswordFailures = DefaultPasswordFailures
	}
	if c.PasswordFailuresPerAddress <= 0 {
		c.PasswordFailuresPerAddress = DefaultAddressFailures
	}
	if c.PasswordChecks <= 0 {
		c.PasswordChecks = runtime.GOMAXPROCS(0)
	}
	if c.AuthFailWindow <= 0 {
		c.AuthFailWindow = DefaultAuthFailWindow
	}
	if c.LimiterCapacity <= 0 {
		c.LimiterCapacity = DefaultLimiterCapacity
	}
	if c.MaxTokensPerUser <= 0 {
		c.MaxTokensPerUser = DefaultMaxTokensPerUser
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.DeviceStarts <= 0 {
		c.DeviceStarts = DefaultDeviceStarts
	}
	if c.MaxPendingDeviceCodes <= 0 {
		c.MaxPendingDeviceCodes = DefaultMaxPendingDeviceCodes
	}
	if c.DevicePollInterval < time.Second {
		c.DevicePollInterval = DevicePollInterval
	}
	c.DevicePollInterval = c.DevicePollInterval.Truncate(time.Second)
	return c
}

// ConfigError names the Config field Validate refused.
type ConfigError struct {
	Field string // e.g. "MaxLifetime"
	Err   error
}

func (e *ConfigError) Error() string { return e.Field + ": " + e.Err.Error() }
func (e *ConfigError) Unwrap() error { return e.Err }

// Validate reports a configuration the server cannot run with. New
// applies defaults but cannot fail, so callers (tokend serve) call this
// first.
func (c Config) Validate() error {
	set := c
	c = c.withDefaults()
	if err := secret.ValidPrefix(c.TokenPrefix); err != nil {
		return &ConfigError{"TokenPrefix", err}
	}
	if c.MaxLifetime < api.MinLifetime {
		return &ConfigError{"MaxLifetime", fmt.Errorf("max lifetime must be at least %s, got %s", api.MinLifetime, c.MaxLifetime)}
	}
	// An explicit default longer than the maximum is a mistake; only the
	// built-in default is quietly capped.
	if set.DefaultLifetime > c.MaxLifetime {
		return &ConfigError{"DefaultLifetime", fmt.Errorf("default lifetime %s is longer than the max lifetime %s", set.DefaultLifetime, c.MaxLifetime)}
	}
	if c.DefaultLifetime < api.MinLifetime {
		return &ConfigError{"DefaultLifetime", fmt.Errorf("default lifetime must be at least %s, got %s", api.MinLifetime, c.DefaultLifetime)}
	}
	if set.DefaultLoginLifetime > c.MaxLifetime {
		return &ConfigError{"DefaultLoginLifetime", fmt.Errorf("login lifetime %s is longer than the max lifetime %s", set.DefaultLoginLifetime, c.MaxLifetime)}
	}
	if c.DefaultLoginLifetime < api.MinLifetime {
		return &ConfigError{"DefaultLoginLifetime", fmt.Errorf("login lifetime must be at least %s, got %s", api.MinLifetime, c.DefaultLoginLifetime)}
	}
	if d := set.DevicePollInterval; d != 0 && (d < MinDevicePollInterval || d > MaxDevicePollInterval || d%time.Second != 0) {
		return &ConfigError{"DevicePollInterval", fmt.Errorf("must be whole seconds from %s to %s, such as 5s, got %s", MinDevicePollInterval, MaxDevicePollInterval, d)}
	}
	return nil
}

type server struct {
	cfg     Config
	store   store.Store
	log     *slog.Logger
	mux     *http.ServeMux
	limits  authLimits
	methods []string // every method some route uses, for 405 detection
	// hashing bounds concurrent password checks: each argon2id check takes
	// 19 MiB, so a burst of Basic requests must queue briefly, then be
	// told to come back, not exhaust memory.
	hashing *password.Gate
	audit   auditState // events.go, revoke.go
	// verifier checks identity tokens for the exchange (exchange.go).
	verifier *oidcverify.Verifier
	github   *githubKeys // nil without GitHubKeysURLs (github.go)
}

// New returns the API v1 handler over st. Call Config.Validate first: New
// cannot fail, and an invalid prefix would make every create fail.
func New(cfg Config, st store.Store, logger *slog.Logger) http.Handler {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	cfg = cfg.withDefaults()
	registerPrefix(cfg.TokenPrefix) // redact hides cut-off tokens of this prefix
	s := &server{
		cfg:     cfg,
		store:   st,
		log:     logger,
		mux:     http.NewServeMux(),
		limits:  newAuthLimits(cfg, st, logger),
		hashing: password.NewGate(cfg.PasswordChecks, PasswordQueuePerCheck*cfg.PasswordChecks),

		verifier: cfg.Verifier,
	}
	if s.verifier == nil {
		s.verifier = oidcverify.New(oidcverify.Options{Now: cfg.Now})
	}
	s.github = newGitHubKeys(cfg)
	s.addRoutes()
	// Outermost first: the request id exists before anything logs, the
	// access log sees the final status, and a panic anywhere is recovered.
	return s.withRequestID(s.withAccessLog(s.withRecover(s.withBodyLimit(http.HandlerFunc(s.dispatch)))))
}
