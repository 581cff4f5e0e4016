// Package api holds the JSON wire types of token API v1, shared by the
// tokend server and the tokenctl client so both sides agree by construction.
// docs/openapi.yaml documents the same shapes; keep them in step.
package api

import (
	"fmt"
	"time"
	"unicode"

	"github.com/oklog/ulid/v2"

	"github.com/tokenctl/tokenctl/internal/scope"
)

// Token status values. Status is computed from expires_at at read time.
const (
	StatusActive  = "active"
	StatusExpired = "expired"
	StatusAll     = "all"
)

// Token is a token's metadata. It never carries the secret.
type Token struct {
	ID          string     `json:"id"`
	Name        string     `json:"name"`
	Description string     `json:"description"`
	KeyHint     string     `json:"key_hint"`
	CreatedAt   time.Time  `json:"created_at"`
	ExpiresAt   time.Time  `json:"expires_at"`
	LastUsedAt  *time.Time `json:"last_used_at"`
	Status      string     `json:"status"`
	// Scopes is what the token may do: always present ([] when none),
	// sorted and unique.
	Scopes []string `json:"scopes"`
}

// CreatedToken is a token's metadata plus its secret, returned exactly once
// by create and rotate.
type CreatedToken struct {
	Token
	Secret string `json:"token"`
	// ExpiryCappedBy says why expires_at is earlier than the lifetime asked
	// for (or, on rotate, kept): ExpiryCappedByParent, or "" when it is not.
	ExpiryCappedBy string `json:"expiry_capped_by,omitempty"`
}

// ExpiryCappedByParent: a token made or rotated by a token lives no longer
// than the token that made the request.
const ExpiryCappedByParent = "parent_token"

// ExpiryCappedByScope: a token carrying a scope with a maximum lifetime
// (tokend scope add --max-lifetime) lives no longer than that.
const ExpiryCappedByScope = "scope_lifetime"

// CreateTokenRequest is the body of POST /v1/tokens. At most one of
// ExpiresInSeconds and ExpiresAt may be set; with neither the server's
// default lifetime applies.
type CreateTokenRequest struct {
	Name             string     `json:"name"`
	Description      string     `json:"description,omitempty"`
	ExpiresInSeconds *int64     `json:"expires_in_seconds,omitempty"`
	ExpiresAt        *time.Time `json:"expires_at,omitempty"`
	// Scopes asked for. Nil (absent) gets the server's default: all of a
	// password user's power, or exactly the parent token's scopes; an
	// empty, non-nil slice is sent as [] and asks for a token with no
	// scopes (omitzero, not omitempty, which would drop [] too). A Set,
	// so the server has it sorted the moment it decodes the body.
	Scopes scope.Set `json:"scopes,omitzero"`
}

// TokenPage is one page of GET /v1/tokens, newest first. NextCursor is nil
// on the last page.
type TokenPage struct {
	Items      []Token `json:"items"`
	NextCursor *string `json:"next_cursor"`
}

// BulkDeleteRequest is the body of POST /v1/tokens/delete.
type BulkDeleteRequest struct {
	IDs []string `json:"ids"`
}

// BulkDeleteResult reports, per id, what POST /v1/tokens/delete did.
type BulkDeleteResult struct {
	Deleted  []string `json:"deleted"`
	NotFound []string `json:"not_found"`
}

// User is the answer to GET /v1/user. Token is set when the request was
// authenticated with a PAT and describes that token.
type User struct {
	ID         string `json:"id"`
	Username   string `json:"username"`
	AuthMethod string `json:"auth_method"` // "token" or "password"
	Token      *Token `json:"token,omitempty"`
	// Role is RoleMember or RoleAdmin; Kind KindPerson or KindService.
	Role string `json:"role"`
	Kind string `json:"kind"`
}

// Roles and kinds of user (issue 23).
const (
	RoleMember  = "member"
	RoleAdmin   = "admin"
	KindPerson  = "person"
	KindService = "service"
)

// Auth methods reported in User.AuthMethod.
const (
	AuthToken    = "token"
	AuthPassword = "password"
)

// Scope is one scope a token may be given (GET /v1/scopes).
type Scope struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	Builtin     bool   `json:"builtin"`
}

// ScopeList is the answer to GET /v1/scopes, sorted by name.
type ScopeList struct {
	Items []Scope `json:"items"`
}

// UserRef names the user a token belongs to.
type UserRef struct {
	ID       string `json:"id"`
	Username string `json:"username"`
}

// CurrentToken is the answer to GET /v1/tokens/current: the presented
// token's own record and its user.
type CurrentToken struct {
	Token
	User UserRef `json:"user"`
}

// Health is the body of GET /healthz and GET /readyz.
type Health struct {
	Status string `json:"status"` // "ok" or "unavailable"
}

// Problem is an RFC 9457 problem detail with a stable machine-readable Code.
type Problem struct {
	Type      string `json:"type"`
	Title     string `json:"title"`
	Status    int    `json:"status"`
	Detail    string `json:"detail"`
	Code      string `json:"code"`
	RequestID string `json:"request_id,omitempty"`

	// RequiredScopes and TokenScopes come with insufficient_scope: what
	// the operation needs and what the presented token carries.
	RequiredScopes []string `json:"required_scopes,omitempty"`
	TokenScopes    []string `json:"token_scopes,omitempty"`

	// Reason comes with subject_token_rejected: which check failed.
	Reason string `json:"reason,omitempty"`

	// UnknownScopes comes with validation_failed when the request named
	// scopes the server does not define, so a client can point at its own
	// way of listing them (tokenctl scope list) instead of the detail's.
	UnknownScopes []string `json:"unknown_scopes,omitempty"`

	// Interval comes with slow_down: the seconds to wait between polls
	// from now on.
	Interval int64 `json:"interval,omitempty"`
}

// ProblemContentType is the media type of every error response.
const ProblemContentType = "application/problem+json"

// Stable problem codes. Clients branch on these, so never rename one.
const (
	CodeBadRequest          = "bad_request"            // 400 malformed query or path parameter
	CodeInvalidJSON         = "invalid_json"           // 400 body is not valid JSON / unknown field
	CodeValidation          = "validation_failed"      // 400 a field's value is out of range
	CodeUnauthorized        = "unauthorized"           // 401 no or bad credentials
	CodeNotFound            = "not_found"              // 404
	CodeMethodNotAllowed    = "method_not_allowed"     // 405
	CodeBodyTooLarge        = "body_too_large"         // 413
	CodeUnsupportedMedia    = "unsupported_media_type" // 415
	CodeInsufficientScope   = "insufficient_scope"     // 403 the token lacks the operation's scope
	CodeAdminRequired       = "admin_required"         // 403 a member asked for an admin route or admin scope
	CodeUserExists          = "user_exists"            // 409 POST /v1/admin/users with a taken username
	CodeLifetimeCapped      = "lifetime_capped"        // 400 a scope's maximum lifetime is shorter than asked
	CodeExceedsParent       = "exceeds_parent"         // 403 a child asked for more than its parent has
	CodeTokenExpired        = "token_expired"          // 409 rotating an expired token
	CodeTokenLimitReached   = "token_limit_reached"    // 409 the user has the most live tokens allowed
	CodeNotAToken           = "not_a_token"            // 400 GET /v1/tokens/current with a password
	CodeIdempotencyMismatch = "idempotency_key_reused" // 422 same key, different body
	CodeRateLimited         = "rate_limited"           // 429
	CodeInternal            = "internal_error"         // 500
	CodeUnavailable         = "unavailable"            // 503
	// CodePasswordChecksBusy is 503 with Retry-After: every password
	// check slot and its short queue are taken.
	CodePasswordChecksBusy = "password_checks_busy"
)

// Limits shared by server validation and client-side checks.
const (
	MaxNameLen        = 100
	MaxDescriptionLen = 1000
	MaxBulkDelete     = 1000
	MaxPageSize       = 1000
	DefaultPageSize   = 100
	MinLifetime       = time.Minute
	IdempotencyHeader = "Idempotency-Key"
)

// ValidID reports whether s has the shape of a record id: a lower-case
// ULID, 26 characters of Crockford base32 (store.NewID makes them). The
// server answers a malformed id with 400 before asking the store, and
// tokenctl refuses one before sending it.
func ValidID(s string) bool {
	if len(s) != ulid.EncodedSize {
		return false
	}
	_, err := ulid.ParseStrict(s)
	return err == nil
}

// Audit trail (GET /v1/events) and leak revocation (POST /v1/tokens/revoke).

// Event types.
const (
	EventTokenCreated       = "token.created"
	EventTokenRotated       = "token.rotated"
	EventTokenDeleted       = "token.deleted"
	EventTokenRevokedLeaked = "token.revoked_leaked"
	EventAuthFailed         = "auth.failed"
	// Issue 23: the unused-expiry sweep, and an admin's changes to a user.
	EventTokenExpiredUnused = "token.expired_unused"
	EventUserCreated        = "user.created"
	EventUserDisabled       = "user.disabled"
	EventUserEnabled        = "user.enabled"
	EventUserRoleChanged    = "user.role_changed"
	EventUserDeleted        = "user.deleted"
	// Issue 22: a person signed in through an SSO provider.
	EventSSOLogin = "auth.sso_login"
	// Issue 24: the expiry sweep's notices, once each per token.
	EventTokenExpiring = "token.expiring"
	EventTokenExpired  = "token.expired"
)

// EventTypes lists every event type, in the order the docs give them.
var EventTypes = []string{EventTokenCreated, EventTokenRotated, EventTokenDeleted, EventTokenRevokedLeaked, EventAuthFailed, EventTokenExchanged,
	EventTokenExpiredUnused, EventUserCreated, EventUserDisabled, EventUserEnabled, EventUserRoleChanged, EventUserDeleted,
	EventSSOLogin, EventTokenExpiring, EventTokenExpired}

// Actor kinds: who caused an event.
const (
	ActorPassword   = "password"    // signed in with the user's password
	ActorToken      = "token"       // one of the user's tokens (Actor.TokenID says which)
	ActorLeakReport = "leak_report" // anyone, through POST /v1/tokens/revoke
	ActorOperator   = "operator"    // the server's operator, through `tokend user …`
	ActorConsole    = "console"     // the user, signed in to the token console in a browser
)

// Event is one entry of a user's audit trail. It never carries a secret or
// a password.
type Event struct {
	ID     string      `json:"id"`
	Time   time.Time   `json:"time"`
	Type   string      `json:"type"`
	Token  *EventToken `json:"token"` // null when no token is involved
	Actor  EventActor  `json:"actor"`
	Client EventClient `json:"client"`
	Source string      `json:"source,omitempty"` // leak reports: where it was found
	Reason string      `json:"reason,omitempty"` // auth.failed: why
	// Detail says what an admin changed on a user.* event ("role admin").
	Detail string `json:"detail,omitempty"`
	// User is whose trail the event is in; set by GET /v1/admin/events only.
	User string `json:"user,omitempty"`
}

// EventToken names the token an event is about, as it was then.
type EventToken struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	KeyHint string `json:"key_hint"`
}

// EventActor is who caused an event.
type EventActor struct {
	Kind      string `json:"kind"`
	TokenID   string `json:"token_id,omitempty"`
	TokenName string `json:"token_name,omitempty"`
	// TrustPolicy and Claims come with kind oidc: the policy that allowed
	// the exchange and the identity's identifying claims (iss, sub, jti and
	// those the policy matched on, such as repository, ref and run_id).
	TrustPolicy string            `json:"trust_policy,omitempty"`
	Claims      map[string]string `json:"claims,omitempty"`
	// User is the admin who acted, when not the trail's owner.
	User string `json:"user,omitempty"`
	// Provider comes with kind sso: the provider the person signed in at
	// (Claims then holds its subject and the claims that matched).
	Provider string `json:"provider,omitempty"`
}

// EventClient is where the request came from.
type EventClient struct {
	Address   string `json:"address"`
	UserAgent string `json:"user_agent"`
}

// EventPage is one page of GET /v1/events, newest first.
type EventPage struct {
	Items      []Event `json:"items"`
	NextCursor *string `json:"next_cursor"`
}

// RevokeRequest is the body of POST /v1/tokens/revoke.
type RevokeRequest struct {
	Secrets []string `json:"secrets"`
	Source  string   `json:"source,omitempty"`
}

// RevokeResult is the answer of POST /v1/tokens/revoke. It never says which
// secret matched which user.
type RevokeResult struct {
	Revoked   int               `json:"revoked"`
	NotLive   int               `json:"not_live"`
	Malformed []RevokeMalformed `json:"malformed"`
}

// RevokeMalformed is a request entry that is not a token.
type RevokeMalformed struct {
	Index  int    `json:"index"`
	Reason string `json:"reason"` // RevokeChecksumMismatch or RevokeNotAToken
}

// RevokeMalformed reasons.
const (
	RevokeChecksumMismatch = "checksum mismatch"
	RevokeNotAToken        = "not a token"
)

// Limits of POST /v1/tokens/revoke.
const (
	MaxRevokeSecrets = 1000
	MaxRevokeSource  = 500
)

// Admin API (issue 23): every user's tokens, events and accounts, for a
// token carrying admin:read or admin:write.

// AdminToken is a token with the username of its owner.
type AdminToken struct {
	Token
	User string `json:"user"`
}

// AdminTokenPage is one page of GET /v1/admin/tokens, newest first.
type AdminTokenPage struct {
	Items      []AdminToken `json:"items"`
	NextCursor *string      `json:"next_cursor"`
}

// AdminUser is one account as GET /v1/admin/users shows it.
type AdminUser struct {
	ID         string     `json:"id"`
	Username   string     `json:"username"`
	Role       string     `json:"role"`
	Kind       string     `json:"kind"`
	Disabled   bool       `json:"disabled"`
	DisabledAt *time.Time `json:"disabled_at"`
	CreatedAt  time.Time  `json:"created_at"`
}

// AdminUserList is the answer of GET /v1/admin/users, ordered by username.
type AdminUserList struct {
	Items []AdminUser `json:"items"`
}

// CreateUserRequest is the body of POST /v1/admin/users. A service account
// has no password; a person may have none (SSO sign-in only).
type CreateUserRequest struct {
	Username string `json:"username"`
	Role     string `json:"role,omitempty"` // default member
	Kind     string `json:"kind,omitempty"` // default person
	Password string `json:"password,omitempty"`
}

// UpdateUserRequest is the body of PATCH /v1/admin/users/{name}: the
// fields present are changed.
type UpdateUserRequest struct {
	Role     *string `json:"role,omitempty"`
	Disabled *bool   `json:"disabled,omitempty"`
}

// MaxUsernameLen bounds a username.
const MaxUsernameLen = 64

// ValidUsername says what is wrong with a username, or nil: 1 to 64
// characters without ':' (HTTP Basic), spaces or control characters.
func ValidUsername(name string) error {
	if name == "" || len(name) > MaxUsernameLen {
		return fmt.Errorf("a user name must be 1 to %d characters", MaxUsernameLen)
	}
	for _, c := range name {
		if c == ':' || unicode.IsSpace(c) || unicode.IsControl(c) {
			return fmt.Errorf("user name %q may not contain ':', spaces or control characters", name)
		}
	}
	return nil
}
