// Package store defines the storage contract of tokend. Backends live in
// sub-packages (sqlite, postgres); storetest holds the conformance
// suite every backend must pass, so behaviour is defined once, here and there.
package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tokenctl/tokenctl/internal/api"
	"github.com/tokenctl/tokenctl/internal/scope"
)

// Errors every backend returns (wrapped or bare) so callers can use errors.Is.
var (
	ErrNotFound            = errors.New("not found")
	ErrConflict            = errors.New("already exists")
	ErrIdempotencyMismatch = errors.New("idempotency key reused with a different request")
	// ErrLimit: CreateToken would take the user past NewToken.MaxLive
	// live tokens.
	ErrLimit = errors.New("live token limit reached")
	// ErrExpired: RotateToken on a token already expired at now.
	ErrExpired = errors.New("token expired")
)

// Roles: a member acts on their own tokens; an admin's tokens may also
// carry admin:read and admin:write, which reach every user's.
const (
	RoleMember = "member"
	RoleAdmin  = "admin"
)

// Kinds of user: a person signs in; a service account cannot (an admin
// mints its tokens), so no person's departure takes its tokens away.
const (
	KindPerson  = "person"
	KindService = "service"
)

// AnyUser, passed as the userID of GetToken, ListTokens, ScanTokens,
// DeleteToken and DeleteTokens (and EventListOptions.UserID), reaches every
// user's rows: the admin API. No user id is ever "*".
const AnyUser = "*"

// User is an account that can log in with a password and own tokens.
type User struct {
	ID           string
	Username     string
	PasswordHash string // encoded hash (argon2id/bcrypt); never a password
	CreatedAt    time.Time
	Role         string // RoleMember or RoleAdmin; "" is stored as RoleMember
	Kind         string // KindPerson or KindService; "" is stored as KindPerson
	// Disabled users are refused at every sign-in and every token they
	// own is refused; DisabledAt says since when (zero when enabled).
	Disabled   bool
	DisabledAt time.Time
}

// IsAdmin reports whether u has the admin role.
func (u User) IsAdmin() bool { return u.Role == RoleAdmin }

// ValidRole reports whether role is one CreateUser and SetUserRole accept.
func ValidRole(role string) bool { return role == RoleMember || role == RoleAdmin }

// CheckRole is ValidRole as the error both backends give for a bad role.
func CheckRole(role string) error {
	if !ValidRole(role) {
		return fmt.Errorf("role %q is neither %s nor %s", role, RoleMember, RoleAdmin)
	}
	return nil
}

// WithDefaults fills the stored defaults of an unset role and kind, and
// refuses a role or kind no backend stores.
func (u User) WithDefaults() (User, error) {
	if u.Role == "" {
		u.Role = RoleMember
	}
	if u.Kind == "" {
		u.Kind = KindPerson
	}
	if err := CheckRole(u.Role); err != nil {
		return u, err
	}
	if u.Kind != KindPerson && u.Kind != KindService {
		return u, fmt.Errorf("kind %q is neither %s nor %s", u.Kind, KindPerson, KindService)
	}
	return u, nil
}

// Token is a stored token. The secret itself is never stored: only its
// SHA-256 digest, which is not part of this struct on purpose.
type Token struct {
	ID          string // time-sortable, URL-safe; newest sorts last
	UserID      string
	Name        string
	Description string
	KeyHint     string
	CreatedAt   time.Time
	ExpiresAt   time.Time
	LastUsedAt  *time.Time
	Scopes      scope.Set // never nil
}

// Expired reports whether t is expired at now.
func (t Token) Expired(now time.Time) bool { return !now.Before(t.ExpiresAt) }

// NewToken is what CreateToken stores.
type NewToken struct {
	ID          string
	UserID      string
	Name        string
	Description string
	KeyHint     string
	Digest      [32]byte
	CreatedAt   time.Time
	ExpiresAt   time.Time

	// IdempotencyKey, when not empty, makes the create retry-safe per user:
	// a second CreateToken with the same (UserID, IdempotencyKey) and the
	// same RequestHash does not insert a row; it replaces the digest and key
	// hint of the token first created under that key with the ones given
	// here (so the earlier secret dies and the caller holds a working one)
	// and returns that token with replayed=true. A different RequestHash
	// fails with ErrIdempotencyMismatch.
	IdempotencyKey string
	RequestHash    [32]byte

	// Scopes the token carries, stored as given: a Set is already sorted.
	Scopes scope.Set
	// MaxLive, when positive, refuses the create with ErrLimit if the user
	// already has MaxLive tokens unexpired at CreatedAt. The count and the
	// insert are one atomic step, so concurrent creates (on any replica)
	// cannot overshoot. A replayed idempotent create is never refused.
	MaxLive int

	// SubjectTokenUse, when not nil, is recorded in the same transaction
	// as the insert; CreateToken fails with ErrReplayed (inserting nothing)
	// when the same (Issuer, ID) is recorded with ExpiresAt still after
	// CreatedAt. Records whose ExpiresAt passed may be deleted by any call.
	SubjectTokenUse *SubjectTokenUse
}

// Status filters a listing.
type Status int

const (
	StatusAll Status = iota
	StatusActive
	StatusExpired
)

// ListOptions selects one page of a user's tokens, newest first.
type ListOptions struct {
	UserID string
	Status Status
	Now    time.Time // what "expired" is measured against
	// NameGlob, when not empty, keeps tokens whose name matches: '*' is any
	// run of characters, '?' exactly one, everything else literal and
	// case-sensitive.
	NameGlob string
	// BeforeID, when not empty, returns only tokens whose ID sorts before it
	// (keyset pagination: pass the last ID of the previous page).
	BeforeID string
	Limit    int // 1..api.MaxPageSize
	// Scopes, when not empty, keeps tokens that carry every one of them.
	Scopes scope.Set
	// MaxScan, when positive, bounds how many of the user's tokens (after
	// BeforeID, newest first) one ScanTokens call examines, whatever the
	// filters, so a filter that matches little cannot make a page read
	// every token the user has.
	MaxScan int
	// UnusedBefore, when not zero, keeps tokens never used or last used
	// before it (GET /v1/tokens?unused_since=).
	UnusedBefore time.Time
	// ExpiresBefore, when not zero, keeps tokens expiring before it
	// (GET /v1/admin/tokens?expiring_within=).
	ExpiresBefore time.Time
}

// Windowed checks o.Limit and says how ScanTokens reads: true, a window
// of at most MaxScan rows (a filter is set, or the window is no larger
// than the page); false, the page straight off the index.
func (o ListOptions) Windowed() (bool, error) {
	if o.Limit < 1 || o.Limit > api.MaxPageSize {
		return false, fmt.Errorf("limit %d is outside 1..%d", o.Limit, api.MaxPageSize)
	}
	filtered := o.Status != StatusAll || o.NameGlob != "" || len(o.Scopes) > 0 || !o.UnusedBefore.IsZero() ||
		!o.ExpiresBefore.IsZero()
	return o.MaxScan > 0 && (filtered || o.MaxScan <= o.Limit), nil
}

// Scope is an application scope defined by the operator. The built-in
// scopes (tokens:read, tokens:write) are not stored.
type Scope struct {
	Name        string
	Description string
	CreatedAt   time.Time
	// MaxLifetime, when positive, caps the lifetime of any token that
	// carries the scope (create, rotate and exchange).
	MaxLifetime time.Duration
}

// ScopeInUseError refuses to delete a scope live tokens still carry or a
// trust policy still grants.
type ScopeInUseError struct {
	Scope    string
	Live     int      // how many unexpired tokens carry it
	Policies []string // trust policies granting it, by name
}

func (e *ScopeInUseError) Error() string {
	var why []string
	if e.Live > 0 {
		why = append(why, fmt.Sprintf("carried by %d unexpired token(s); delete them or let them expire", e.Live))
	}
	if n := len(e.Policies); n > 0 {
		names := strings.Join(e.Policies[:min(n, 5)], ", ")
		if n > 5 {
			names += fmt.Sprintf(" and %d more", n-5)
		}
		what := "trust policy " + names + "; remove it"
		if n > 1 {
			what = "trust policies " + names + "; remove them"
		}
		why = append(why, "granted by "+what+" with tokend trust delete")
	}
	return fmt.Sprintf("scope %s is %s first", e.Scope, strings.Join(why, ", and "))
}

// Is makes errors.Is(err, ErrConflict) true.
func (e *ScopeInUseError) Is(target error) bool { return target == ErrConflict }

// Store is tokend's persistence. Every method is safe for concurrent use.
// Methods that take a userID only ever see or touch that user's rows: another
// user's token is ErrNotFound, never a permission error. AnyUser is the one
// exception, for the admin API.
type Store interface {
	EventStore   // the audit trail and leak revocation: events.go
	TrustStore   // trust policies for POST /v1/tokens/exchange: trust.go
	SSOStore     // sign-in through an OpenID provider: sso.go
	ConsoleStore // the token console's browser sessions: console.go
	WebhookStore // webhooks, their outbox and expiry notices: webhook.go

	// CreateUser adds a user; ErrConflict when the username is taken.
	CreateUser(ctx context.Context, u User) error
	// UserByName returns a user by username or ErrNotFound.
	UserByName(ctx context.Context, username string) (User, error)
	// ListUsers returns all users ordered by username.
	ListUsers(ctx context.Context) ([]User, error)
	// DeleteUser removes a user and all their tokens; ErrNotFound if unknown.
	DeleteUser(ctx context.Context, username string) error
	// SetUserRole makes the user RoleMember or RoleAdmin; ErrNotFound if
	// unknown. With an Audit on ctx it records user.role_changed in the
	// user's trail in the same transaction.
	SetUserRole(ctx context.Context, username, role string) error
	// SetUserDisabled disables the user as of at (disabled) or enables them;
	// ErrNotFound if unknown. Disabling an already disabled user keeps its
	// first time. With an Audit on ctx it records user.disabled or
	// user.enabled in the user's trail in the same transaction.
	SetUserDisabled(ctx context.Context, username string, disabled bool, at time.Time) error
	// UserByID returns a user by id or ErrNotFound.
	UserByID(ctx context.Context, id string) (User, error)

	// CreateToken stores a token; see NewToken for idempotency.
	CreateToken(ctx context.Context, t NewToken) (tok Token, replayed bool, err error)
	// TokenByDigest returns the token with this digest and its owner, or
	// ErrNotFound. It is the authentication hot path: one indexed read, or
	// none where a backend can tell at once that nothing changed since it
	// last read the token (SQLite: sqlite/tokencache.go). A change committed
	// by anyone before the call is always seen. Expiry and the owner's
	// Disabled flag are the caller's business.
	TokenByDigest(ctx context.Context, digest [32]byte) (Token, User, error)
	// TouchToken sets last_used_at to at unless it is already within
	// minInterval of at, so a busy token costs one write per interval.
	// It never moves last_used_at back; an unknown id is ErrNotFound.
	TouchToken(ctx context.Context, id string, at time.Time, minInterval time.Duration) error
	// GetToken returns one of the user's tokens or ErrNotFound.
	GetToken(ctx context.Context, userID, id string) (Token, error)
	// ScanTokens returns one page of the user's tokens, newest first: it
	// examines the user's tokens after opts.BeforeID, at most opts.MaxScan
	// of them when MaxScan is positive, and returns the first opts.Limit
	// that pass the filters. next is "" when the scan reached the user's oldest
	// token; otherwise it is the last id examined, to pass as BeforeID for
	// the rest. A page may hold fewer than Limit tokens (even none) while
	// next is not "".
	ScanTokens(ctx context.Context, opts ListOptions) (toks []Token, next string, err error)

	// CreateScope adds an application scope; ErrConflict when it exists.
	CreateScope(ctx context.Context, sc Scope) error
	// ListScopes returns the application scopes ordered by name.
	ListScopes(ctx context.Context) ([]Scope, error)
	// SetScopeMaxLifetime sets (d > 0) or clears (d == 0) an application
	// scope's lifetime cap; ErrNotFound when the scope is unknown.
	SetScopeMaxLifetime(ctx context.Context, name string, d time.Duration) error
	// DeleteScope removes an application scope. ErrNotFound when unknown;
	// a *ScopeInUseError (which is ErrConflict) while tokens unexpired at
	// now carry it or a trust policy grants it.
	DeleteScope(ctx context.Context, name string, now time.Time) error
	// DeleteToken removes one of the user's tokens or returns ErrNotFound.
	DeleteToken(ctx context.Context, userID, id string) error
	// DeleteTokens removes the listed tokens of the user in one transaction
	// and reports which ids were deleted and which were not found (unknown,
	// another user's, or listed twice), each in input order.
	DeleteTokens(ctx context.Context, userID string, ids []string) (deleted, notFound []string, err error)
	// RotateToken gives one of the user's tokens a new digest and key hint,
	// sets CreatedAt to now and ExpiresAt to now plus the token's previous
	// lifetime (ExpiresAt-CreatedAt), or notAfter if that is earlier and
	// not zero (a token rotating its child gives it no more than its own
	// expiry), keeping id, name and description.
	// The old digest stops matching in the same transaction. LastUsedAt is
	// cleared: the new secret has not been used yet. A token expired at
	// now is not rotated: ErrExpired (nothing comes back from the dead).
	RotateToken(ctx context.Context, userID, id string, digest [32]byte, keyHint string, now, notAfter time.Time) (Token, error)

	// Ping checks the store can serve reads.
	Ping(ctx context.Context) error
	// Ready checks the store can commit a write that a restarted server
	// will see (for /readyz): it fails when the disk is full, the data is
	// read-only, or the database was deleted or replaced under it. It may
	// cost one small durable write.
	Ready(ctx context.Context) error
	// Close releases the store.
	Close() error
}

// LoginWindow is one client key's failed-login window as a LoginThrottle
// holds it.
type LoginWindow struct {
	Key      string
	Start    time.Time // when the window opened; it ends at Start+window
	Failures int       // failed checks counted in the window
	Pending  int       // checks admitted and not yet settled
}

// LoginThrottle is an optional Store capability: a failed-login budget kept
// in the store, so every server process sharing the store spends the same
// budget. The server uses it when its store implements it; a store used by
// one process (SQLite) leaves it out and the server counts in memory.
//
// A key's window opens at the first call that finds none open (or only one
// that ended: Start+window <= now) and lasts window; every method reads and
// changes a window atomically with respect to every other caller of the
// same store, in this process or another.
type LoginThrottle interface {
	// ReserveLogin admits one password check for key when the window's
	// failures plus pending checks are fewer than limit, counting it as
	// pending, and reports the window as it stands afterwards.
	ReserveLogin(ctx context.Context, key string, now time.Time, window time.Duration, limit int) (w LoginWindow, admitted bool, err error)
	// SettleLogin ends a check admitted by ReserveLogin in the window that
	// started at start: it is no longer pending, and when failed it counts
	// as a failure, in that window if it is still open at now and otherwise
	// in key's current one.
	SettleLogin(ctx context.Context, key string, start time.Time, failed bool, now time.Time, window time.Duration) error
	// CountLoginFailure adds one failure to key's current window and
	// returns that window.
	CountLoginFailure(ctx context.Context, key string, now time.Time, window time.Duration) (LoginWindow, error)
	// BlockedLogins returns up to max windows still open at now whose
	// failures reached limit.
	BlockedLogins(ctx context.Context, now time.Time, window time.Duration, limit, max int) ([]LoginWindow, error)
}
