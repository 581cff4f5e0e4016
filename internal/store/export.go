package store

import (
	"context"
	"errors"
	"time"
)

// ErrNotEmpty is what Import returns when the target already holds users or
// tokens and the caller did not allow that.
var ErrNotEmpty = errors.New("target database is not empty")

// ExportedToken is a token as stored, digest and idempotency record
// included: everything needed to recreate it in another store so that its
// secret keeps authenticating. It never holds a secret.
type ExportedToken struct {
	Token
	Digest         [32]byte
	IdempotencyKey string   // "" when the token was created without a key
	RequestHash    [32]byte // meaningful only with an IdempotencyKey
}

// Snapshot is the whole content of a store at one instant.
type Snapshot struct {
	Users  []User
	Tokens []ExportedToken
	Scopes []Scope // application scopes
	Events []Event // the audit trail, oldest first (by id)
	// TrustPolicies ordered by name; SubjectTokenUses by (Issuer, ID),
	// expired ones included (the caller may drop them).
	TrustPolicies    []TrustPolicy
	SubjectTokenUses []SubjectTokenUse
	// SSOProviders ordered by name (client secrets included: the target
	// must be able to talk to them); SSOUsers by user id. Device codes and
	// browser logins live minutes and are not carried over.
	SSOProviders []SSOProvider
	SSOUsers     []SSOUser
	// Webhooks ordered by name (secrets included: the target signs with
	// them), their outbox rows by (event, webhook) with leases dropped, and
	// the expiry notices sent, so a migrated server neither loses a pending
	// delivery nor notifies twice.
	Webhooks      []Webhook
	Outbox        []OutboxRow
	ExpiryNotices []ExpiryNotice
}

// OutboxRow is a delivery as stored, for tokend migrate.
type OutboxRow struct {
	Delivery
	State                                     string
	NextAttemptAt, LastAttemptAt, LastErrorAt time.Time // zero: never
	LastError                                 string
}

// ExpiryNotice records that notice was sent about a token with that expiry.
type ExpiryNotice struct {
	TokenID, Notice string
	ExpiresAt       time.Time
}

// SSOUser records that a provider provisioned a user.
type SSOUser struct {
	UserID   string
	Provider string
}

// Exporter is a store that can read all of its rows in one consistent pass
// (one read transaction), for `tokend migrate`.
type Exporter interface {
	Export(ctx context.Context) (Snapshot, error)
}

// ImportOptions tunes Import.
type ImportOptions struct {
	// IntoNonEmpty allows importing into a store that already has users or
	// tokens. Rows are only ever added: a clash on a username, id or digest
	// fails the whole import with ErrConflict and changes nothing.
	IntoNonEmpty bool
}

// ImportResult says what Import wrote, counted back from the target inside
// the import's transaction.
type ImportResult struct {
	Users  int
	Tokens int
	Scopes int
	Events int

	TrustPolicies    int
	SubjectTokenUses int
	SSOProviders     int
	SSOUsers         int

	Webhooks      int
	Outbox        int
	ExpiryNotices int
}

// Importer is a store that can write a Snapshot in one transaction: either
// every row lands and the counts check out, or nothing changes.
type Importer interface {
	Import(ctx context.Context, snap Snapshot, opts ImportOptions) (ImportResult, error)
}
