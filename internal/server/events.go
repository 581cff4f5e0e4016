package server

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tokenctl/tokenctl/internal/api"
	"github.com/tokenctl/tokenctl/internal/store"
)

// maxUserAgent bounds the user agent an event keeps.
const maxUserAgent = 200

// client returns the client part of an event: the address as logged and
// the user agent, cut short and with anything secret-shaped redacted (it is
// the client's to write, and a pasted secret must not land in the trail).
func (s *server) client(r *http.Request) (addr, userAgent string) {
	ua := r.UserAgent()
	if len(ua) > maxUserAgent {
		ua = ua[:maxUserAgent]
		for !utf8.ValidString(ua) {
			ua = ua[:len(ua)-1]
		}
	}
	return s.clientAddr(r), redact(ua)
}

// audited returns the request's context carrying who acts, so the store
// records each token created, rotated or deleted in the same transaction.
func (s *server) audited(r *http.Request, p *principal) context.Context {
	a := store.Audit{At: s.eventTime(), ActorKind: store.ActorPassword}
	if p.token != nil {
		a.ActorKind, a.ActorTokenID, a.ActorTokenName = store.ActorToken, p.token.ID, p.token.Name
	}
	if p.console {
		a.ActorKind = store.ActorConsole
	}
	a.ClientAddress, a.UserAgent = s.client(r)
	return store.WithAudit(r.Context(), a)
}

// eventTime is now in milliseconds, the precision of event ids, so the
// time of an event and its place in the list agree on every store.
func (s *server) eventTime() time.Time { return s.cfg.Now().UTC().Truncate(time.Millisecond) }

// Reasons of auth.failed events.
const (
	reasonWrongPassword = "wrong password"
	reasonExpiredToken  = "expired token"
)

// authFailed records a failed sign-in to u's account. tok is the expired
// token presented, or nil for a wrong password. A failure to record is
// logged; the answer is a 401 either way.
func (s *server) authFailed(r *http.Request, u store.User, tok *store.Token, reason string) {
	at := s.eventTime()
	e := store.Event{ID: store.NewEventID(at), UserID: u.ID, Time: at, Type: store.EventAuthFailed,
		ActorKind: store.ActorPassword, Reason: reason}
	if tok != nil {
		e.TokenID, e.TokenName, e.TokenKeyHint = tok.ID, tok.Name, tok.KeyHint
		e.ActorKind, e.ActorTokenID, e.ActorTokenName = store.ActorToken, tok.ID, tok.Name
	}
	e.ClientAddress, e.UserAgent = s.client(r)
	// The request's context may be cancelled as soon as the 401 is out.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 5*time.Second)
	defer cancel()
	if err := s.store.AddEvents(ctx, []store.Event{e}); err != nil {
		s.log.WarnContext(r.Context(), "record failed sign-in", "request_id", requestID(r), "error", err.Error())
	}
}

func (s *server) handleListEvents(w http.ResponseWriter, r *http.Request, p *principal) {
	s.listEvents(w, r, p.user.ID, func(e store.Event) (api.Event, error) { return store.WireEvent(e), nil })
}

// listEvents answers one page of userID's trail (store.AnyUser: everyone's)
// for GET /v1/events and GET /v1/admin/events; wire turns each event into
// what the route sends, and its error is a 500.
func (s *server) listEvents(w http.ResponseWriter, r *http.Request, userID string, wire func(store.Event) (api.Event, error)) {
	opts, limit, prob := eventListOptions(r, userID)
	if prob != nil {
		s.fail(w, r, prob)
		return
	}
	evs, err := s.store.ListEvents(r.Context(), opts)
	if err != nil {
		s.storeError(w, r, "list events", "", err)
		return
	}
	more := len(evs) > limit
	evs = evs[:min(len(evs), limit)]
	page := api.EventPage{Items: make([]api.Event, 0, len(evs))}
	for _, e := range evs {
		we, err := wire(e)
		if err != nil {
			s.internalError(w, r, "list events", err)
			return
		}
		page.Items = append(page.Items, we)
	}
	if more {
		c := encodeCursor(evs[len(evs)-1].ID)
		page.NextCursor = &c
	}
	encode(w, http.StatusOK, page)
}

// eventListOptions reads the paging and filters of GET /v1/events (and
// GET /v1/admin/events) for userID's trail; limit is the page size (the
// options ask one more, to know whether another page follows).
func eventListOptions(r *http.Request, userID string) (store.EventListOptions, int, *problem) {
	bad := func(format string, a ...any) (store.EventListOptions, int, *problem) {
		return store.EventListOptions{}, 0, newProblem(http.StatusBadRequest, api.CodeBadRequest, fmt.Sprintf(format, a...))
	}
	q, limit, prob := pageQuery(r)
	if prob != nil {
		return store.EventListOptions{}, 0, prob
	}
	opts := store.EventListOptions{UserID: userID, Limit: limit + 1}
	if v := q.Get("cursor"); v != "" {
		id, ok := decodeCursor(v)
		if !ok {
			return bad("cursor is malformed; pass next_cursor from the previous page unchanged")
		}
		opts.BeforeID = id
	}
	if v := q.Get("token_id"); v != "" {
		if !api.ValidID(v) {
			return bad("token_id %s is not a token id", quote(v, 40))
		}
		opts.TokenID = v
	}
	for _, v := range q["type"] {
		if !slices.Contains(api.EventTypes, v) {
			return bad("type %s is not an event type; use one of %s", quote(v, 40), strings.Join(api.EventTypes, ", "))
		}
		if !slices.Contains(opts.Types, v) {
			opts.Types = append(opts.Types, v)
		}
	}
	for _, b := range []struct {
		name string
		dst  *time.Time
	}{{"since", &opts.Since}, {"until", &opts.Until}} {
		v := q.Get(b.name)
		if v == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return bad("%s must be an RFC 3339 time such as 2026-01-02T15:04:05Z", b.name)
		}
		*b.dst = t.UTC()
	}
	if !opts.Since.IsZero() && !opts.Until.IsZero() && !opts.Since.Before(opts.Until) {
		return bad("since must be before until")
	}
	return opts, limit, nil
}
