package store

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tokenctl/tokenctl/internal/scope"
)

// ErrReplayed: CreateToken was given a SubjectTokenUse already recorded
// and not yet expired (an identity token exchanged twice).
var ErrReplayed = errors.New("subject token already used")

// ClaimMatch is one condition of a trust policy: the identity token's claim
// Claim must match Glob ('*' any run of characters, '?' exactly one,
// everything else literal and case-sensitive). A claim that is an array
// matches when one of its elements does; numbers and booleans match their
// JSON text; a missing claim never matches.
type ClaimMatch struct {
	Claim string
	Glob  string
}

// TrustPolicy lets identity tokens from Issuer, for Audience, whose claims
// match every ClaimMatch, be exchanged for a token of UserID carrying at
// most Scopes and living at most MaxLifetime. Operators manage them with
// `tokend trust`; they live in the store so every replica sees the same.
type TrustPolicy struct {
	Name        string
	Issuer      string // exact iss, e.g. https://token.actions.githubusercontent.com
	Audience    string // one of the token's aud must equal it
	Claims      []ClaimMatch
	UserID      string
	Username    string // filled by reads; CreateTrustPolicy ignores it
	Scopes      scope.Set
	MaxLifetime time.Duration
	CreatedAt   time.Time
}

// SubjectTokenUse records that an identity token was exchanged, so it is
// accepted once: (Issuer, ID) is unique until ExpiresAt, after which the
// record may be forgotten (the token itself is refused as expired by then).
type SubjectTokenUse struct {
	Issuer    string
	ID        string // the jti, or "sha256:" + hex digest of the token when it has none
	ExpiresAt time.Time
}

// TrustStore keeps trust policies. Store embeds it.
type TrustStore interface {
	// CreateTrustPolicy adds a policy: ErrConflict when the name is taken,
	// ErrNotFound when UserID names no user.
	CreateTrustPolicy(ctx context.Context, p TrustPolicy) error
	// ListTrustPolicies returns every policy ordered by name.
	ListTrustPolicies(ctx context.Context) ([]TrustPolicy, error)
	// TrustPoliciesForIssuer returns the policies naming issuer, by name:
	// the exchange's one read before it verifies a signature.
	TrustPoliciesForIssuer(ctx context.Context, issuer string) ([]TrustPolicy, error)
	// DeleteTrustPolicy removes a policy or returns ErrNotFound.
	DeleteTrustPolicy(ctx context.Context, name string) error
}

// NormalizeClaims returns claims sorted by (Claim, Glob), without
// duplicates, never nil: the order every read gives them back in.
func NormalizeClaims(claims []ClaimMatch) []ClaimMatch {
	out := append([]ClaimMatch{}, claims...)
	slices.SortFunc(out, func(a, b ClaimMatch) int {
		return cmp.Or(strings.Compare(a.Claim, b.Claim), strings.Compare(a.Glob, b.Glob))
	})
	return slices.Compact(out)
}

// CreatedEventType is the event type CreateToken records under ctx's
// Audit: token.exchanged when an OIDC identity was traded for the token,
// token.created otherwise.
func CreatedEventType(ctx context.Context) string {
	if a, ok := AuditFrom(ctx); ok && a.ActorKind == ActorOIDC {
		return EventTokenExchanged
	}
	return EventTokenCreated
}

// claimJSON is one ClaimMatch as both backends' claims column holds it.
type claimJSON struct {
	Claim string `json:"claim"`
	Glob  string `json:"glob"`
}

// EncodeClaims is the text a backend stores for a policy's claims: a JSON
// array, sorted, so equal policies store equal text.
func EncodeClaims(claims []ClaimMatch) (string, error) {
	out := []claimJSON{}
	for _, c := range NormalizeClaims(claims) {
		out = append(out, claimJSON(c))
	}
	b, err := json.Marshal(out)
	return string(b), err
}

// DecodeClaims reads what EncodeClaims wrote.
func DecodeClaims(col string) ([]ClaimMatch, error) {
	var in []claimJSON
	if err := json.Unmarshal([]byte(col), &in); err != nil {
		return nil, fmt.Errorf("claims column: %w", err)
	}
	out := make([]ClaimMatch, 0, len(in))
	for _, c := range in {
		out = append(out, ClaimMatch(c))
	}
	return NormalizeClaims(out), nil
}
