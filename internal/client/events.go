package client

import (
	"context"
	"iter"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/tokenctl/tokenctl/internal/api"
)

// EventQuery filters the audit trail. Zero fields do not filter.
type EventQuery struct {
	TokenID  string
	Types    []string
	Since    time.Time
	Until    time.Time
	PageSize int
}

// Events iterates over the caller's audit events, newest first, one page
// in memory at a time. Iteration stops at the first error, which is
// yielded.
func (c *Client) Events(ctx context.Context, q EventQuery) iter.Seq2[api.Event, error] {
	return paged[api.Event](ctx, c, "/v1/events", q.values())
}

// values is the query string of an event listing; AdminEventQuery adds to it.
func (q EventQuery) values() url.Values {
	v := url.Values{}
	if q.TokenID != "" {
		v.Set("token_id", q.TokenID)
	}
	for _, t := range q.Types {
		v.Add("type", t)
	}
	if !q.Since.IsZero() {
		v.Set("since", q.Since.UTC().Format(time.RFC3339))
	}
	if !q.Until.IsZero() {
		v.Set("until", q.Until.UTC().Format(time.RFC3339))
	}
	if q.PageSize > 0 {
		v.Set("limit", strconv.Itoa(q.PageSize))
	}
	return v
}

// RevokeOutcome is the answer to a leak report: the contract's counts,
// plus Results when the server says per secret what happened (one entry
// per secret in request order: "revoked", "not_live" or "malformed"; an
// extension the contract does not have yet, used when present).
type RevokeOutcome struct {
	api.RevokeResult
	Results []string `json:"results,omitempty"`
}

// Per-secret outcomes in RevokeOutcome.Results.
const (
	RevokeRevoked   = "revoked"
	RevokeNotLive   = "not_live"
	RevokeMalformed = "malformed"
)

// RevokeLeaked reports up to api.MaxRevokeSecrets leaked secrets to
// POST /v1/tokens/revoke, which deletes every live one. The call is never
// authenticated, whatever credential c holds: the secrets are the proof,
// and a leak reporter's own credential is none of the server's business.
func (c *Client) RevokeLeaked(ctx context.Context, secrets []string, source string) (*RevokeOutcome, error) {
	anon := *c
	anon.opts.Token, anon.opts.Username, anon.opts.Password = "", "", ""
	var out RevokeOutcome
	return &out, anon.do(ctx, http.MethodPost, "/v1/tokens/revoke", nil, api.RevokeRequest{Secrets: secrets, Source: source}, &out)
}
