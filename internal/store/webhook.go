package store

import (
	"context"
	"encoding/json"
	"time"

	"github.com/tokenctl/tokenctl/internal/api"
)

// Webhook formats: how a delivery's body looks.
const (
	// WebhookStandard: the event as JSON, signed as the Standard Webhooks
	// specification says (webhook-id, webhook-timestamp, webhook-signature).
	WebhookStandard = "standard"
	// WebhookSlack: a Slack incoming webhook's {"text": …}; the URL is
	// the credential, so there is no signature.
	WebhookSlack = "slack"
)

// Delivery states.
const (
	DeliveryPending   = "pending"   // not delivered yet; retried until given up
	DeliveryDelivered = "delivered" // the receiver answered 2xx
	DeliveryFailed    = "failed"    // given up after the retry bound
)

// Expiry notices the sweep records, once each per token and expiry.
const (
	NoticeWeek    = "7d"      // token.expiring, 7 days or less before expiry
	NoticeDay     = "1d"      // token.expiring, 1 day or less before expiry
	NoticeExpired = "expired" // token.expired
)

// Webhook is an operator's endpoint told about events (tokend webhook).
// Webhooks live in the store so every replica delivers to the same ones.
type Webhook struct {
	Name   string
	URL    string // for WebhookSlack, the incoming webhook URL, itself a credential
	Events []string
	Format string
	// Secret is the Standard Webhooks signing secret (whsec_ and base64).
	// It signs every delivery, so it is kept as is: the one secret tokend
	// cannot keep as a digest. Never printed or logged.
	Secret    string
	CreatedAt time.Time
}

// WebhookStatus is a webhook (without its secret) and how its deliveries
// stand.
type WebhookStatus struct {
	Webhook
	Pending, Delivered, Failed int
	// LastError is the most recent failed attempt's error (of any
	// delivery), at LastErrorAt; empty when none ever failed.
	LastError   string
	LastErrorAt time.Time
}

// Delivery is one outbox row: an event on its way to one webhook. Its
// EventID is the webhook-id header, the same on every attempt, so a
// receiver can drop a repeat.
type Delivery struct {
	EventID   string
	Webhook   string
	EventType string
	Payload   []byte // the Standard Webhooks body, as built in the event's transaction
	CreatedAt time.Time
	Attempts  int // including the one just claimed
}

// DeliveryResult is how an attempt ended.
type DeliveryResult struct {
	At        time.Time
	Delivered bool
	// GiveUp marks an undelivered row failed for good; otherwise
	// NextAttempt is when it is due again.
	GiveUp      bool
	NextAttempt time.Time
	Error       string // "" when delivered
}

// Outcome is the state and next attempt time r leaves its row in, for both backends' FinishDelivery.
func (r DeliveryResult) Outcome() (state string, next time.Time) {
	switch {
	case r.Delivered:
		return DeliveryDelivered, r.At
	case r.GiveUp:
		return DeliveryFailed, r.At
	}
	return DeliveryPending, r.NextAttempt
}

// WebhookStore keeps webhooks, their outbox and the expiry notices. Store
// embeds it.
//
// Every event a backend records (AddEvents, and the events of an Audit)
// also writes, in the same transaction, one pending delivery for each
// webhook subscribed to its type: an event is never recorded without its
// deliveries, nor a delivery left by an event that rolled back.
type WebhookStore interface {
	// CreateWebhook adds a webhook; ErrConflict when the name is taken.
	CreateWebhook(ctx context.Context, w Webhook) error
	// ListWebhooks returns every webhook, without secrets, by name.
	ListWebhooks(ctx context.Context) ([]WebhookStatus, error)
	// WebhookByName returns one webhook with its secret, or ErrNotFound.
	WebhookByName(ctx context.Context, name string) (Webhook, error)
	// DeleteWebhook removes a webhook and its deliveries, or returns
	// ErrNotFound.
	DeleteWebhook(ctx context.Context, name string) error

	// DueWebhooks returns the names of webhooks with a pending delivery
	// due at now that nobody holds a lease on.
	DueWebhooks(ctx context.Context, now time.Time) ([]string, error)
	// ClaimDelivery leases to owner, until leaseUntil, the webhook's
	// oldest pending delivery due at now and unleased (or whose lease ran
	// out), counting an attempt, and returns it; ErrNotFound when there
	// is none. Two claimers never hold the same row at once.
	ClaimDelivery(ctx context.Context, webhook, owner string, now, leaseUntil time.Time) (Delivery, error)
	// RenewLease moves owner's lease on d to until, for an attempt that
	// outlasts a lease term; ErrNotFound when owner no longer holds it.
	RenewLease(ctx context.Context, d Delivery, owner string, until time.Time) error
	// FinishDelivery records the end of owner's attempt at d and releases
	// the lease; ErrNotFound when owner no longer holds it (its lease ran
	// out and another claimed it).
	FinishDelivery(ctx context.Context, d Delivery, owner string, r DeliveryResult) error
	// PruneDeliveries deletes up to limit delivered or failed rows made
	// before before and returns how many.
	PruneDeliveries(ctx context.Context, before time.Time, limit int) (int, error)

	// NoteExpiries records, for up to limit tokens per notice, the expiry
	// notices due at now and not yet recorded: NoticeExpired for tokens
	// that expired at most ExpiredLookback ago, NoticeDay for those
	// expiring within a day, NoticeWeek within 7 days but not 1. Tokens
	// whose lifetime is a day or less get none. Each notice is recorded
	// once per token and expiry, however many replicas sweep, with its
	// event (token.expiring, Reason the notice and Detail the expiry in
	// RFC 3339; token.expired) when ctx carries an Audit. It returns how
	// many it recorded.
	NoteExpiries(ctx context.Context, now time.Time, limit int) (int, error)
}

// ExpiredLookback bounds how long after expiry a token still gets its
// token.expired notice: on the first start with webhooks, years of
// expired tokens are not announced.
const ExpiredLookback = 7 * 24 * time.Hour

// Notices are the expiry notices NoteExpiries records.
var Notices = []string{NoticeExpired, NoticeDay, NoticeWeek}

// NoticeRange is when a token's expiry must fall, seen at now, for notice
// to be due: (from, to]. Expired: in the last ExpiredLookback; the day's:
// within a day; the week's: within 7 days but not within 1, so a token
// first seen a day before expiry gets only the day's.
func NoticeRange(notice string, now time.Time) (from, to time.Time) {
	const day = 24 * time.Hour
	switch notice {
	case NoticeExpired:
		return now.Add(-ExpiredLookback), now
	case NoticeDay:
		return now, now.Add(day)
	}
	return now.Add(day), now.Add(7 * day)
}

// MinNoticeLifetime: tokens living no longer than this (CI's short-lived
// tokens) get no expiry notices.
const MinNoticeLifetime = 24 * time.Hour

// NoticeEvent is the event NoteExpiries records for notice about t.
func NoticeEvent(a Audit, notice string, t Token) Event {
	if notice == NoticeExpired {
		e := a.Event(EventTokenExpired, t)
		e.Detail = t.ExpiresAt.UTC().Format(time.RFC3339)
		return e
	}
	e := a.Event(EventTokenExpiring, t)
	e.Reason = notice
	e.Detail = t.ExpiresAt.UTC().Format(time.RFC3339)
	return e
}

// WebhookPayload is the body of a Standard Webhooks delivery of e, whose
// user is username: {"type", "timestamp", "data"}, data being the event
// as GET /v1/admin/events shows it.
type WebhookPayload struct {
	Type      string    `json:"type"`
	Timestamp time.Time `json:"timestamp"`
	Data      api.Event `json:"data"`
}

// EncodeWebhookPayload returns e's delivery body.
func EncodeWebhookPayload(e Event, username string) ([]byte, error) {
	data := WireEvent(e)
	data.User = username
	return json.Marshal(WebhookPayload{Type: e.Type, Timestamp: e.Time.UTC(), Data: data})
}

// WireEvent is e as the API shows it (GET /v1/events) and webhooks carry it.
func WireEvent(e Event) api.Event {
	out := api.Event{
		ID:     e.ID,
		Time:   e.Time.UTC(),
		Type:   e.Type,
		Actor:  api.EventActor{Kind: e.ActorKind},
		Client: api.EventClient{Address: e.ClientAddress, UserAgent: e.UserAgent},
		Source: e.Source,
		Reason: e.Reason,
		Detail: e.Detail,
	}
	out.Actor.User = e.ActorUser
	if e.TokenID != "" {
		out.Token = &api.EventToken{ID: e.TokenID, Name: e.TokenName, KeyHint: e.TokenKeyHint}
	}
	switch e.ActorKind {
	case ActorToken:
		out.Actor.TokenID, out.Actor.TokenName = e.ActorTokenID, e.ActorTokenName
	case ActorOIDC:
		out.Actor.TrustPolicy, out.Actor.Claims = e.TrustPolicy, e.Claims
	case ActorSSO:
		// The store keeps the provider where an exchange keeps its policy.
		out.Actor.Provider, out.Actor.Claims = e.TrustPolicy, e.Claims
	}
	return out
}

// Subscriptions maps event types to the webhooks receiving them.
type Subscriptions map[string][]string

// WebhookDeliveries returns the deliveries evs make under subs, with
// usernames looked up by username(userID); nil when none is subscribed.
// Both backends call it in the events' transaction.
func WebhookDeliveries(subs Subscriptions, evs []Event, username func(userID string) (string, error)) ([]Delivery, error) {
	if len(subs) == 0 {
		return nil, nil
	}
	var out []Delivery
	names := map[string]string{}
	for _, e := range evs {
		hooks := subs[e.Type]
		if len(hooks) == 0 {
			continue
		}
		name, ok := names[e.UserID]
		if !ok {
			var err error
			if name, err = username(e.UserID); err != nil {
				return nil, err
			}
			names[e.UserID] = name
		}
		body, err := EncodeWebhookPayload(e, name)
		if err != nil {
			return nil, err
		}
		for _, h := range hooks {
			out = append(out, Delivery{EventID: e.ID, Webhook: h, EventType: e.Type, Payload: body, CreatedAt: e.Time})
		}
	}
	return out, nil
}
