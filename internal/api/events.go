package api

import "time"

// Event types (issue 13 wire contract).
const (
	EventTokenCreated     = "token.created"
	EventTokenRotated     = "token.rotated"
	EventTokenDeleted     = "token.deleted"
	EventTokenRevokedLeak = "token.revoked_leaked"
	EventAuthFailed       = "auth.failed"
)

// Actor kinds of an event.
const (
	ActorPassword   = "password"
	ActorToken      = "token"
	ActorLeakReport = "leak_report"
	ActorOperator   = "operator"
)

// Event is one entry of the audit trail, GET /v1/events. It never carries
// a secret or a password.
type Event struct {
	ID     string      `json:"id"`
	Time   time.Time   `json:"time"`
	Type   string      `json:"type"`
	Token  *EventToken `json:"token"`
	Actor  EventActor  `json:"actor"`
	Client EventClient `json:"client"`
	Source string      `json:"source,omitempty"`
	Reason string      `json:"reason,omitempty"`
}

// EventToken names the token an event is about; it outlives the token.
type EventToken struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	KeyHint string `json:"key_hint"`
}

// EventActor is who did it. TokenID and TokenName are set when Kind is
// ActorToken.
type EventActor struct {
	Kind      string `json:"kind"`
	TokenID   string `json:"token_id,omitempty"`
	TokenName string `json:"token_name,omitempty"`
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

// MaxRevokeSecrets is how many secrets one POST /v1/tokens/revoke takes.
const MaxRevokeSecrets = 1000

// RevokeRequest is the body of POST /v1/tokens/revoke (no authentication).
type RevokeRequest struct {
	Secrets []string `json:"secrets"`
	Source  string   `json:"source,omitempty"`
}

// RevokeResult is the answer: counts, never which secret was whose.
// Results, when the server sends it, has one entry per secret in request
// order: RevokeRevoked, RevokeNotLive or RevokeMalformed.
type RevokeResult struct {
	Revoked   int               `json:"revoked"`
	NotLive   int               `json:"not_live"`
	Malformed []MalformedSecret `json:"malformed"`
	Results   []string          `json:"results,omitempty"`
}

// MalformedSecret is an entry of the request the server could not read.
type MalformedSecret struct {
	Index  int    `json:"index"`
	Reason string `json:"reason"`
}

// Per-secret outcomes in RevokeResult.Results.
const (
	RevokeRevoked   = "revoked"
	RevokeNotLive   = "not_live"
	RevokeMalformed = "malformed"
)
