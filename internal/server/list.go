package server

import (
	"fmt"
	"net/http"
	"time"

	"github.com/tokenctl/tokenctl/internal/api"
	"github.com/tokenctl/tokenctl/internal/store"
)

func (s *server) handleListTokens(w http.ResponseWriter, r *http.Request, p *principal) {
	bad := func(format string, a ...any) {
		s.fail(w, r, newProblem(http.StatusBadRequest, api.CodeBadRequest, fmt.Sprintf(format, a...)))
	}
	q, limit, prob := pageQuery(r)
	if prob != nil {
		s.fail(w, r, prob)
		return
	}
	// The store reads one row past the page, so next_cursor is null exactly
	// on the last unfiltered page, in one query.
	opts := store.ListOptions{UserID: p.user.ID, Now: s.cfg.Now(), Limit: limit}
	switch v := q.Get("status"); v {
	case "", api.StatusAll:
		opts.Status = store.StatusAll
	case api.StatusActive:
		opts.Status = store.StatusActive
	case api.StatusExpired:
		opts.Status = store.StatusExpired
	default:
		bad("status must be active, expired or all")
		return
	}
	if v := q.Get("name"); v != "" {
		if msg := checkText("name", v, api.MaxNameLen, false); msg != "" {
			bad("%s", msg)
			return
		}
		opts.NameGlob = v
	}
	if v := q.Get("unused_since"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			bad("unused_since must be an RFC 3339 time such as 2026-01-02T15:04:05Z")
			return
		}
		opts.UnusedBefore = t.UTC()
	}
	if v := q.Get("cursor"); v != "" {
		id, ok := decodeCursor(v)
		if !ok {
			bad("cursor is malformed; pass next_cursor from the previous page unchanged")
			return
		}
		opts.BeforeID = id
	}
	scopes, prob := queryScopes(q["scope"])
	if prob != nil {
		s.fail(w, r, prob)
		return
	}
	opts.Scopes = scopes
	// A page examines a bounded number of rows whatever the filters, so a
	// filter that matches little cannot read every token per page: the
	// page may then hold fewer than limit items while next_cursor, the
	// last id examined, says where to go on.
	opts.MaxScan = max(10*limit, minScan)
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
