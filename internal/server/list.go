package server

import (
	"fmt"
	"net/http"
	"time"

	"github.com/tokenctl/tokenctl/internal/api"
	"github.com/tokenctl/tokenctl/internal/store"
)

func (s *server) handleListTokens(w http.ResponseWriter, r *http.Request, p *principal) {
	opts, prob := s.tokenListOptions(r, p.user.ID)
	if prob != nil {
		s.fail(w, r, prob)
		return
	}
	toks, next, err := s.store.ScanTokens(r.Context(), opts)
	if err != nil {
		s.storeError(w, r, "list tokens", "", err)
		return
	}
	page := api.TokenPage{Items: make([]api.Token, 0, len(toks))}
	for _, t := range toks {
		page.Items = append(page.Items, s.wireToken(t))
	}
	if next != "" {
		c := encodeCursor(next)
		page.NextCursor = &c
	}
	encode(w, http.StatusOK, page)
}

// tokenListOptions reads the paging and filters of GET /v1/tokens (and
// GET /v1/admin/tokens) for userID's tokens.
func (s *server) tokenListOptions(r *http.Request, userID string) (store.ListOptions, *problem) {
	bad := func(format string, a ...any) (store.ListOptions, *problem) {
		return store.ListOptions{}, newProblem(http.StatusBadRequest, api.CodeBadRequest, fmt.Sprintf(format, a...))
	}
	q, limit, prob := pageQuery(r)
	if prob != nil {
		return store.ListOptions{}, prob
	}
	// The store reads one row past the page, so next_cursor is null exactly
	// on the last unfiltered page, in one query.
	opts := store.ListOptions{UserID: userID, Now: s.cfg.Now(), Limit: limit}
	switch v := q.Get("status"); v {
	case "", api.StatusAll:
		opts.Status = store.StatusAll
	case api.StatusActive:
		opts.Status = store.StatusActive
	case api.StatusExpired:
		opts.Status = store.StatusExpired
	default:
		return bad("status must be active, expired or all")
	}
	if v := q.Get("name"); v != "" {
		if msg := checkText("name", v, api.MaxNameLen, false); msg != "" {
			return bad("%s", msg)
		}
		opts.NameGlob = v
	}
	if v := q.Get("unused_since"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return bad("unused_since must be an RFC 3339 time such as 2026-01-02T15:04:05Z")
		}
		opts.UnusedBefore = t.UTC()
	}
	if v := q.Get("cursor"); v != "" {
		id, ok := decodeCursor(v)
		if !ok {
			return bad("cursor is malformed; pass next_cursor from the previous page unchanged")
		}
		opts.BeforeID = id
	}
	scopes, prob := queryScopes(q["scope"])
	if prob != nil {
		return store.ListOptions{}, prob
	}
	opts.Scopes = scopes
	// A page examines a bounded number of rows whatever the filters, so a
	// filter that matches little cannot read every token per page: the
	// page may then hold fewer than limit items while next_cursor, the
	// last id examined, says where to go on.
	opts.MaxScan = max(10*limit, minScan)
	return opts, nil
}
