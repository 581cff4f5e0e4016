package store

import (
	"context"
	"crypto/rand"
	"strings"
	"sync"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/tokenctl/tokenctl/internal/api"
)

// Event types of the audit trail (the same strings as on the wire).
const (
	EventTokenCreated       = "token.created"
	EventTokenRotated       = "token.rotated"
	EventTokenDeleted       = "token.deleted"
	EventTokenRevokedLeaked = "token.revoked_leaked"
	EventAuthFailed         = "auth.failed"
	// EventTokenExchanged replaces token.created for a token minted by
	// POST /v1/tokens/exchange (Audit.ActorKind == ActorOIDC).
	EventTokenExchanged = "token.exchanged"
	// EventTokenExpiredUnused: the unused-expiry sweep expired the token
	// (tokend serve --expire-unused-after).
	EventTokenExpiredUnused = "token.expired_unused"
	// EventTokenExpiring and EventTokenExpired: the expiry sweep's notices
	// (tokend serve, for webhooks), once each per token (NoteExpiries).
	EventTokenExpiring = "token.expiring"
	EventTokenExpired  = "token.expired"
	// User events, recorded in the affected user's trail with the admin
	// as actor (Event.ActorUser).
	EventUserCreated     = "user.created"
	EventUserDisabled    = "user.disabled"
	EventUserEnabled     = "user.enabled"
	EventUserRoleChanged = "user.role_changed"
	// EventUserDeleted is recorded in the acting admin's trail (the
	// deleted user's goes with them); Detail names the user.
	EventUserDeleted = "user.deleted"
	// EventSSOLogin: a person signed in through an SSO provider and
	// approved a device code (the provider is in TrustPolicy, the subject
	// and the claims that matched in Claims).
	EventSSOLogin = "auth.sso_login"
)

// Actor kinds: who caused an event.
const (
	ActorPassword   = "password"
	ActorToken      = "token"
	ActorLeakReport = "leak_report"
	ActorOperator   = "operator"
	ActorOIDC       = "oidc"
	// ActorSSO: a person who signed in at an SSO provider (tokend sso).
	ActorSSO = "sso"
	// ActorConsole: a person signed in to the token console in a browser.
	ActorConsole = "console"
)

// MaxEventListLimit is the largest EventListOptions.Limit: the API's
// largest page plus the one row that tells whether another page follows.
const MaxEventListLimit = api.MaxPageSize + 1

// Event is one entry of a user's audit trail. It never holds a secret or a
// password; it outlives the token it describes and goes with its user.
type Event struct {
	ID string // time-sortable like token ids; newest sorts last
	// UserID is whose trail it is in; empty for an event in no user's
	// trail, seen only by admins (ListEvents with AnyUser) and the export:
	// an SSO sign-in refused for someone with no account here, or a
	// provider that failed.
	UserID string
	Time   time.Time
	Type   string
	// The token the event is about; TokenID is empty when there is none
	// (a failed password sign-in).
	TokenID, TokenName, TokenKeyHint string
	// ActorTokenID and ActorTokenName are set when ActorKind is ActorToken.
	ActorKind, ActorTokenID, ActorTokenName string
	ClientAddress, UserAgent                string
	Source                                  string // leak reports' optional source
	Reason                                  string // auth.failed only
	// TrustPolicy and Claims are set when ActorKind is ActorOIDC: the
	// policy that allowed the exchange and the identifying claims.
	TrustPolicy string
	Claims      map[string]string
	// ActorUser is the username of the one who acted when it is not the
	// trail's owner: an admin. Detail says what an admin changed on a
	// user event ("role admin").
	ActorUser, Detail string
}

// EventListOptions selects one page of a user's events, newest first.
type EventListOptions struct {
	UserID  string
	TokenID string   // when not empty, only events about this token
	Types   []string // when not empty, only events of these types
	Since   time.Time
	Until   time.Time // zero: no bound; Since is inclusive, Until exclusive
	// BeforeID, when not empty, returns only events whose ID sorts before it.
	BeforeID string
	Limit    int // 1..MaxEventListLimit
}

// EventStore is the part of Store that keeps the audit trail.
type EventStore interface {
	// AddEvents stores events in one transaction.
	AddEvents(ctx context.Context, events []Event) error
	// ListEvents returns up to opts.Limit of the user's events, newest first.
	ListEvents(ctx context.Context, opts EventListOptions) ([]Event, error)
	// PruneEvents deletes up to limit events older than before (oldest
	// first) in one short transaction and returns how many it deleted.
	PruneEvents(ctx context.Context, before time.Time, limit int) (int, error)
	// RevokeByDigests deletes every token whose digest is listed and that
	// is live at now, whoever owns it, in one transaction, and returns the
	// deleted tokens (UserID says whose). Digests matching nothing, and
	// tokens already expired at now, are skipped: an expired secret is no
	// leak to stop, so it gets no token.revoked_leaked event.
	RevokeByDigests(ctx context.Context, digests [][32]byte, now time.Time) ([]Token, error)
	// ExpireUnused expires (sets ExpiresAt to now) up to limit tokens,
	// oldest first, that are unexpired at now, were created before before,
	// and were never used or last used before before, in one short
	// transaction, recording token.expired_unused for each when ctx
	// carries an Audit. It returns the tokens as they were.
	ExpireUnused(ctx context.Context, before, now time.Time, limit int) ([]Token, error)
}

// Audit says who is acting and from where. Attached to a context with
// WithAudit, it makes CreateToken (not a replay), RotateToken, DeleteToken,
// DeleteTokens and RevokeByDigests record one event per token they touch,
// in the same transaction as the change: a token never changes without its
// event, nor an event appear for a change that rolled back.
type Audit struct {
	At                                      time.Time
	ActorKind, ActorTokenID, ActorTokenName string
	ClientAddress, UserAgent                string
	Source                                  string
	// TrustPolicy and Claims: see Event (ActorKind ActorOIDC).
	TrustPolicy string
	Claims      map[string]string
	// ActorUser: see Event; set when an admin acts on another's rows.
	ActorUser string
}

type auditKey struct{}

// WithAudit returns ctx carrying a.
func WithAudit(ctx context.Context, a Audit) context.Context {
	return context.WithValue(ctx, auditKey{}, a)
}

// AuditFrom returns the Audit attached to ctx, if any.
func AuditFrom(ctx context.Context) (Audit, bool) {
	a, ok := ctx.Value(auditKey{}).(Audit)
	return a, ok
}

// Event returns the event of type typ about t, acted by a.
func (a Audit) Event(typ string, t Token) Event {
	return Event{
		ID:             NewEventID(a.At),
		UserID:         t.UserID,
		Time:           a.At,
		Type:           typ,
		TokenID:        t.ID,
		TokenName:      t.Name,
		TokenKeyHint:   t.KeyHint,
		ActorKind:      a.ActorKind,
		ActorTokenID:   a.ActorTokenID,
		ActorTokenName: a.ActorTokenName,
		ClientAddress:  a.ClientAddress,
		UserAgent:      a.UserAgent,
		Source:         a.Source,
		TrustPolicy:    a.TrustPolicy,
		Claims:         a.Claims,
		ActorUser:      a.ActorUser,
	}
}

// UserEvent returns the event of type typ about user userID (no token),
// acted by a, with detail.
func (a Audit) UserEvent(typ, userID, detail string) Event {
	e := a.Event(typ, Token{UserID: userID})
	e.Detail = detail
	return e
}

// AuditEvents returns the events of type typ for toks if ctx carries an
// Audit, else nil. Backends call it inside the mutating transaction.
func AuditEvents(ctx context.Context, typ string, toks ...Token) []Event {
	a, ok := AuditFrom(ctx)
	if !ok || len(toks) == 0 {
		return nil
	}
	evs := make([]Event, len(toks))
	for i, t := range toks {
		evs[i] = a.Event(typ, t)
	}
	return evs
}

var (
	eventIDMu      sync.Mutex
	eventIDEntropy = ulid.Monotonic(rand.Reader, 0)
)

// NewEventID is NewID for events: ids made by one process in the same
// millisecond still sort in the order they were made, so a create and the
// rotate right after it list in that order.
// A time a ULID cannot hold (before 1970) takes the nearest one rather than
// panic; the store then refuses the event time itself.
func NewEventID(at time.Time) string {
	ms := uint64(0)
	if at.UnixMilli() > 0 {
		ms = min(uint64(at.UnixMilli()), ulid.MaxTime())
	}
	eventIDMu.Lock()
	id, err := ulid.New(ms, eventIDEntropy)
	eventIDMu.Unlock()
	if err != nil { // the millisecond's sequence overflowed: astronomically rare
		id = ulid.MustNew(ms, rand.Reader)
	}
	return strings.ToLower(id.String())
}
