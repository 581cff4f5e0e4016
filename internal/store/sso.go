package store

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// SSOProvider is an OpenID provider people sign in with through the
// browser (tokenctl auth login --web). Operators manage providers with
// `tokend sso`; they live in the store so every replica sees the same.
type SSOProvider struct {
	Name     string
	Issuer   string // exact iss; discovery is Issuer + /.well-known/openid-configuration
	ClientID string
	// ClientSecret is what tokend authenticates to the provider with. It is
	// read from a file by `tokend sso add` and never printed or logged.
	ClientSecret  string
	UsernameClaim string // preferred_username, email or sub
	// Scopes are asked for besides openid, email and profile (e.g. groups
	// for Dex), sorted; never nil.
	Scopes []string
	// Allow says who may sign in: every match must hold (a claim that is a
	// list matches when one element does). Empty allows everyone the
	// provider vouches for.
	Allow []ClaimMatch
	// AdminIf, when not empty, makes a user signing in whose claims match
	// every entry an administrator.
	AdminIf []ClaimMatch
	// CreateUsers provisions a user on first sign-in; otherwise only
	// existing users may sign in.
	CreateUsers bool
	CreatedAt   time.Time
}

// DeviceState is where a device authorization stands.
type DeviceState string

const (
	DevicePending  DeviceState = "pending"  // waiting for a person to approve it
	DeviceApproved DeviceState = "approved" // approved, not yet collected by the CLI
	DeviceDenied   DeviceState = "denied"   // refused (not allowed, unknown user, the person said no)
	DeviceConsumed DeviceState = "consumed" // the CLI collected its token: never again
)

// DeviceCode is one device authorization grant (RFC 8628). The device code
// itself is a bearer secret: only its SHA-256 digest is stored.
type DeviceCode struct {
	Digest     [32]byte
	UserCode   string // 8 characters, normalised (upper case, no dash)
	ClientHost string // the host name the CLI reported, shown on the page
	ClientAddr string // the address the request came from, shown on the page
	CreatedAt  time.Time
	ExpiresAt  time.Time
	Interval   time.Duration // the least time between two polls
	State      DeviceState
	UserID     string // who approved it (DeviceApproved, DeviceConsumed)
	// MaxPending, when positive, makes CreateDeviceCode refuse with
	// ErrLimit while that many unexpired codes are pending. Not stored.
	MaxPending int
	Username   string // filled by reads: UserID's username
	LastPollAt time.Time
}

// SSOLogin is one browser round trip to a provider, from /login/device to
// /login/callback: what the callback needs and must check. It is taken
// once: a replayed callback finds nothing.
type SSOLogin struct {
	StateDigest   [32]byte // SHA-256 of the state parameter
	SessionDigest [32]byte // SHA-256 of the browser session it started in
	Provider      string
	UserCode      string
	Nonce         string
	Verifier      string // the PKCE code verifier
	ExpiresAt     time.Time
}

// SSOStore keeps providers, device authorizations and browser logins. Store
// embeds it.
type SSOStore interface {
	// CreateSSOProvider adds a provider; ErrConflict when the name is taken.
	CreateSSOProvider(ctx context.Context, p SSOProvider) error
	// ListSSOProviders returns every provider ordered by name.
	ListSSOProviders(ctx context.Context) ([]SSOProvider, error)
	// SSOProviderByName returns one provider or ErrNotFound.
	SSOProviderByName(ctx context.Context, name string) (SSOProvider, error)
	// DeleteSSOProvider removes a provider or returns ErrNotFound.
	DeleteSSOProvider(ctx context.Context, name string) error

	// CreateDeviceCode stores a pending authorization (ErrLimit past
	// d.MaxPending pending ones); ErrConflict when its
	// user code or digest is taken (the caller draws new ones). It first
	// forgets a bounded number of codes expired at d.CreatedAt.
	CreateDeviceCode(ctx context.Context, d DeviceCode) error
	// DeviceCodeByUserCode returns the authorization with this user code or
	// ErrNotFound.
	DeviceCodeByUserCode(ctx context.Context, userCode string) (DeviceCode, error)
	// DecideDeviceCode moves a pending authorization unexpired at now to
	// approved (for userID) or denied, atomically: ErrNotFound when unknown,
	// ErrExpired when expired, ErrConflict when already decided.
	DecideDeviceCode(ctx context.Context, userCode string, approve bool, userID string, now time.Time) error
	// PollDeviceCode records a poll at now of the authorization with this
	// digest and returns it as it stood before the poll, with slowDown true
	// when the previous poll was less than its Interval ago (the interval
	// then grows by 5 s, RFC 8628 §3.5, and nothing else changes). Any
	// other poll of an approved authorization consumes it in the same step,
	// so exactly one poll is ever answered with the token.
	// ErrNotFound when unknown.
	PollDeviceCode(ctx context.Context, digest [32]byte, now time.Time) (d DeviceCode, slowDown bool, err error)

	// CreateSSOLogin stores a browser login; ErrConflict when its state is
	// taken.
	CreateSSOLogin(ctx context.Context, l SSOLogin) error
	// TakeSSOLogin removes and returns the login with this state digest,
	// unexpired at now; ErrNotFound otherwise (unknown, expired, or taken).
	TakeSSOLogin(ctx context.Context, stateDigest [32]byte, now time.Time) (SSOLogin, error)

	// CreateSSOUser adds a user provisioned by provider on first sign-in,
	// with no password; ErrConflict when the username is taken.
	CreateSSOUser(ctx context.Context, u User, provider string) error
	// UserSSOProvider returns the provider that provisioned the user, or ""
	// for a user added with tokend user add.
	UserSSOProvider(ctx context.Context, userID string) (string, error)
}

// CheckDecidable is DecideDeviceCode's rule, shared by the backends: only
// a pending authorization unexpired at now may be decided.
func CheckDecidable(d DeviceCode, now time.Time) error {
	switch {
	case !now.Before(d.ExpiresAt):
		return ErrExpired
	case d.State != DevicePending:
		return ErrConflict
	}
	return nil
}

// SlowDownStep is how much a too-early poll adds to the interval (RFC 8628
// §3.5).
const SlowDownStep = 5 * time.Second

// AfterPoll is what a poll at now makes of d, shared by the backends: the
// interval grows by SlowDownStep when the previous poll was less than an
// interval ago (and nothing else changes: that poll is refused), otherwise
// an approved authorization is consumed.
func AfterPoll(d DeviceCode, now time.Time) DeviceCode {
	if !d.LastPollAt.IsZero() && now.Sub(d.LastPollAt) < d.Interval {
		d.Interval += SlowDownStep
	} else if d.State == DeviceApproved {
		d.State = DeviceConsumed
	}
	d.LastPollAt = now
	return d
}

// SSOColumns are a provider's text columns as both backends store them:
// the scopes space-separated, the claim conditions as EncodeClaims writes.
type SSOColumns struct{ Scopes, Allow, AdminIf string }

// Columns encodes p's scopes and conditions for storing.
func (p SSOProvider) Columns() (SSOColumns, error) {
	c := SSOColumns{Scopes: strings.Join(NormalizeOIDCScopes(p.Scopes), " ")}
	var err error
	if c.Allow, err = EncodeClaims(p.Allow); err != nil {
		return c, err
	}
	c.AdminIf, err = EncodeClaims(p.AdminIf)
	return c, err
}

// SetColumns decodes what Columns stored into p (whose Name it names in
// an error).
func (p *SSOProvider) SetColumns(c SSOColumns) error {
	p.Scopes = NormalizeOIDCScopes(strings.Fields(c.Scopes))
	var err error
	if p.Allow, err = DecodeClaims(c.Allow); err != nil {
		return fmt.Errorf("sso provider %s: %w", p.Name, err)
	}
	if p.AdminIf, err = DecodeClaims(c.AdminIf); err != nil {
		return fmt.Errorf("sso provider %s: %w", p.Name, err)
	}
	return nil
}

// NormalizeOIDCScopes returns scopes sorted, without duplicates or empty
// ones, never nil: how SSOProvider.Scopes is stored and read back.
func NormalizeOIDCScopes(scopes []string) []string {
	out := []string{}
	for _, s := range scopes {
		if s != "" {
			out = append(out, s)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}
