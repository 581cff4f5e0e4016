package server

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/tokenctl/tokenctl/internal/api"
	"github.com/tokenctl/tokenctl/internal/secret"
	"github.com/tokenctl/tokenctl/internal/store"
)

// ReplayedHeader marks a create answered from an earlier request with the
// same Idempotency-Key.
const ReplayedHeader = "Idempotent-Replayed"

// MaxIdempotencyKeyLen bounds the Idempotency-Key header.
const MaxIdempotencyKeyLen = 255

func (s *server) handleHealthz(w http.ResponseWriter, r *http.Request, _ *principal) {
	encode(w, http.StatusOK, api.Health{Status: "ok"})
}

func (s *server) handleReadyz(w http.ResponseWriter, r *http.Request, _ *principal) {
	if err := s.store.Ready(r.Context()); err != nil {
		s.log.WarnContext(r.Context(), "store not ready", "request_id", requestID(r), "error", err.Error())
		encode(w, http.StatusServiceUnavailable, api.Health{Status: "unavailable"})
		return
	}
	encode(w, http.StatusOK, api.Health{Status: "ok"})
}

func (s *server) handleUser(w http.ResponseWriter, r *http.Request, p *principal) {
	u := api.User{ID: p.user.ID, Username: p.user.Username, AuthMethod: api.AuthPassword}
	if p.token != nil {
		t := s.wireToken(*p.token)
		u.AuthMethod = api.AuthToken
		u.Token = &t
	}
	encode(w, http.StatusOK, u)
}

func (s *server) handleCreateToken(w http.ResponseWriter, r *http.Request, p *principal) {
	req, prob := decode[api.CreateTokenRequest](r)
	if prob != nil {
		s.fail(w, r, prob)
		return
	}
	key := r.Header.Get(api.IdempotencyHeader)
	if prob := validIdempotencyKey(key, r.Header.Values(api.IdempotencyHeader)); prob != nil {
		s.fail(w, r, prob)
		return
	}
	exact := s.cfg.Now().UTC()
	// Whole seconds: what people read and scripts compare. The id keeps
	// full precision so tokens made in the same second still list in order.
	now := exact.Truncate(time.Second)
	expires, prob := s.validateCreate(&req, now)
	if prob != nil {
		s.fail(w, r, prob)
		return
	}
	scopes, expires, prob, err := s.createScopes(r.Context(), p, req.Scopes, expires, req.ExpiresInSeconds != nil || req.ExpiresAt != nil)
	if err != nil {
		s.internalError(w, r, "create token", err)
		return
	}
	if prob != nil {
		s.fail(w, r, prob)
		return
	}
	sec, err := secret.Generate(s.cfg.TokenPrefix)
	if err != nil {
		s.internalError(w, r, "generate token", err)
		return
	}
	nt := store.NewToken{
		ID:          store.NewID(exact),
		UserID:      p.user.ID,
		Name:        req.Name,
		Description: req.Description,
		KeyHint:     sec.Hint(),
		Digest:      sec.Digest(),
		CreatedAt:   now,
		ExpiresAt:   expires,
		Scopes:      scopes,
		MaxLive:     s.cfg.MaxTokensPerUser,
	}
	if key != "" {
		nt.IdempotencyKey = key
		nt.RequestHash = requestHash(req, p)
	}
	tok, replayed, err := s.store.CreateToken(s.audited(r, p), nt)
	if err != nil {
		s.storeError(w, r, "create token", "", err)
		return
	}
	if replayed && tok.Expired(s.cfg.Now()) {
		// The record stays one token, but a 201 would hand over a secret
		// that can never work.
		s.fail(w, r, newProblem(http.StatusUnprocessableEntity, api.CodeIdempotencyMismatch,
			"this Idempotency-Key belongs to a token that has expired; use a new key for a new token"))
		return
	}
	if replayed {
		w.Header().Set(ReplayedHeader, "true")
	}
	w.Header().Set("Location", "/v1/tokens/"+tok.ID)
	encode(w, http.StatusCreated, api.CreatedToken{Token: s.wireToken(tok), Secret: sec.String()})
}

func validIdempotencyKey(key string, all []string) *problem {
	if len(all) > 1 {
		return newProblem(http.StatusBadRequest, api.CodeBadRequest, "send at most one Idempotency-Key header")
	}
	if len(all) == 1 && key == "" {
		return newProblem(http.StatusBadRequest, api.CodeBadRequest,
			"Idempotency-Key is empty; send a key of 1 to 255 characters, or leave the header out")
	}
	if len(key) > MaxIdempotencyKeyLen {
		return newProblem(http.StatusBadRequest, api.CodeBadRequest,
			fmt.Sprintf("Idempotency-Key is longer than %d characters", MaxIdempotencyKeyLen))
	}
	for i := 0; i < len(key); i++ {
		if key[i] < 0x21 || key[i] > 0x7e {
			return newProblem(http.StatusBadRequest, api.CodeBadRequest,
				"Idempotency-Key may hold only printable ASCII characters without spaces")
		}
	}
	return nil
}

// requestHash fingerprints what a create asked for, as given, so a replay
// with the same key can be told apart from a different request.
func requestHash(req api.CreateTokenRequest, p *principal) [32]byte {
	h := sha256.New()
	field := func(s string) {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(s)))
		h.Write(n[:])
		h.Write([]byte(s))
	}
	field(req.Name)
	field(req.Description)
	if req.ExpiresInSeconds != nil {
		field("in:" + strconv.FormatInt(*req.ExpiresInSeconds, 10))
	} else {
		field("")
	}
	if req.ExpiresAt != nil {
		field("at:" + req.ExpiresAt.UTC().Format(time.RFC3339Nano))
	} else {
		field("")
	}
	// Scopes and the parent token change what a create makes; hashed only
	// when present, so keys from before scopes still replay.
	if req.Scopes != nil {
		field("scopes:" + req.Scopes.String()) // a scope.Set: sorted when decoded
	}
	if p != nil && p.token != nil {
		field("by:" + p.token.ID)
	}
	var sum [32]byte
	copy(sum[:], h.Sum(nil))
	return sum
}

// validateCreate checks a create request and returns the expiry it asks for.
func (s *server) validateCreate(req *api.CreateTokenRequest, now time.Time) (time.Time, *problem) {
	invalid := func(format string, a ...any) (time.Time, *problem) {
		return time.Time{}, newProblem(http.StatusBadRequest, api.CodeValidation, fmt.Sprintf(format, a...))
	}
	if msg := checkText("name", req.Name, api.MaxNameLen, false); msg != "" {
		return invalid("%s", msg)
	}
	if msg := checkText("description", req.Description, api.MaxDescriptionLen, true); msg != "" {
		return invalid("%s", msg)
	}
	maxLife := s.cfg.MaxLifetime
	switch {
	case req.ExpiresInSeconds != nil && req.ExpiresAt != nil:
		return invalid("give expires_in_seconds or expires_at, not both")
	case req.ExpiresInSeconds != nil:
		secs := *req.ExpiresInSeconds
		if secs < 0 {
			return invalid("expires_in_seconds must be positive, got %d", secs)
		}
		if secs < seconds(api.MinLifetime) {
			return invalid("expires_in_seconds must be at least %d (1 minute), got %d", seconds(api.MinLifetime), secs)
		}
		if secs > seconds(maxLife) {
			return invalid("expires_in_seconds must be at most %d (the server's maximum lifetime, %s), got %d",
				seconds(maxLife), maxLife, secs)
		}
		return now.Add(time.Duration(secs) * time.Second), nil
	case req.ExpiresAt != nil:
		at := req.ExpiresAt.UTC()
		if !at.After(now) {
			return invalid("expires_at %s is in the past", at.Format(time.RFC3339))
		}
		if at.Sub(now) < api.MinLifetime {
			return invalid("expires_at must be at least 1 minute from now")
		}
		if at.Sub(now) > maxLife {
			return invalid("expires_at must be within the server's maximum lifetime of %s (no later than %s)",
				maxLife, now.Add(maxLife).Format(time.RFC3339))
		}
		return at, nil
	default:
		return now.Add(s.cfg.DefaultLifetime), nil
	}
}

// checkText validates a name or description and returns what is wrong, or "".
func checkText(field, v string, maxLen int, multiline bool) string {
	if !utf8.ValidString(v) {
		return field + " must be valid UTF-8"
	}
	if !multiline && strings.TrimSpace(v) == "" {
		return field + " must not be empty"
	}
	if n := utf8.RuneCountInString(v); n > maxLen {
		return fmt.Sprintf("%s is %d characters long; the maximum is %d", field, n, maxLen)
	}
	visible := false
	for _, c := range v {
		if multiline && (c == '\n' || c == '\t') {
			continue
		}
		if unicode.IsControl(c) || c == '\u2028' || c == '\u2029' {
			return fmt.Sprintf("%s must not contain control characters (found %U)", field, c)
		}
		if isBidiControl(c) {
			// They reorder what a table or terminal shows around them.
			return fmt.Sprintf("%s must not contain bidirectional control characters (found %U)", field, c)
		}
		visible = visible || isVisible(c)
	}
	if !multiline && !visible {
		return field + " must contain at least one visible character"
	}
	return ""
}

// isBidiControl reports the explicit embedding, override and isolate
// controls (U+202A-U+202E, U+2066-U+2069).
func isBidiControl(c rune) bool {
	return c >= '\u202a' && c <= '\u202e' || c >= '\u2066' && c <= '\u2069'
}

// isVisible reports whether c draws a glyph: not a space, not a format
// character such as U+200B, and not one of the letters that render blank.
func isVisible(c rune) bool {
	switch c {
	case '\u115f', '\u1160', '\u3164', '\uffa0', '\u2800':
		return false
	}
	return unicode.IsGraphic(c) && !unicode.IsSpace(c) && !unicode.Is(unicode.Cf, c) &&
		!unicode.Is(unicode.Mn, c) && !unicode.Is(unicode.Me, c)
}

// pageQuery parses a listing's query string and its limit (default
// api.DefaultPageSize, at most api.MaxPageSize).
func pageQuery(r *http.Request) (url.Values, int, *problem) {
	bad := func(format string, a ...any) (url.Values, int, *problem) {
		return nil, 0, newProblem(http.StatusBadRequest, api.CodeBadRequest, fmt.Sprintf(format, a...))
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return bad("the query string is malformed: %s", truncate(err.Error(), 100))
	}
	limit := api.DefaultPageSize
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > api.MaxPageSize {
			return bad("limit must be an integer from 1 to %d", api.MaxPageSize)
		}
		limit = n
	}
	return q, limit, nil
}

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

// minScan is the fewest rows a filtered page examines.
const minScan = 1000

// Cursors are opaque to clients; today they carry the last id of a page.
const cursorVersion = "v1:"

func encodeCursor(id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(cursorVersion + id))
}

func decodeCursor(c string) (string, bool) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return "", false
	}
	id, ok := strings.CutPrefix(string(b), cursorVersion)
	if !ok || !api.ValidID(id) {
		return "", false
	}
	return id, true
}

// pathID returns the {id} path value, or answers 404 for one that cannot
// name any token.
func (s *server) pathID(w http.ResponseWriter, r *http.Request) (string, bool) {
	id := r.PathValue("id")
	if !api.ValidID(id) {
		s.fail(w, r, newProblem(http.StatusNotFound, api.CodeNotFound, "no token with id "+quote(id, 40)))
		return "", false
	}
	return id, true
}

// storeError answers a store error: the one place store errors become
// problems. id names the token the operation was about, if any.
func (s *server) storeError(w http.ResponseWriter, r *http.Request, op, id string, err error) {
	switch {
	case errors.Is(err, store.ErrNotFound) && id != "":
		s.fail(w, r, newProblem(http.StatusNotFound, api.CodeNotFound, "no token with id "+quote(id, 40)))
	case errors.Is(err, store.ErrIdempotencyMismatch):
		s.fail(w, r, newProblem(http.StatusUnprocessableEntity, api.CodeIdempotencyMismatch,
			"this Idempotency-Key was already used with a different request body; use a new key for a new token"))
	case errors.Is(err, store.ErrLimit):
		s.fail(w, r, newProblem(http.StatusConflict, api.CodeTokenLimitReached,
			fmt.Sprintf("you already have %d live tokens, the most this server allows; delete some (tokenctl token delete --expired, or by name) and try again",
				s.cfg.MaxTokensPerUser)))
	case errors.Is(err, store.ErrExpired) && id != "":
		s.fail(w, r, newProblem(http.StatusConflict, api.CodeTokenExpired,
			"token "+id+" has expired and cannot be rotated; create a new token instead"))
	default:
		s.internalError(w, r, op, err)
	}
}

// seconds is d in whole seconds, as the API counts lifetimes.
func seconds(d time.Duration) int64 { return int64(d / time.Second) }

func (s *server) handleGetToken(w http.ResponseWriter, r *http.Request, p *principal) {
	id, ok := s.pathID(w, r)
	if !ok {
		return
	}
	t, err := s.store.GetToken(r.Context(), p.user.ID, id)
	if err != nil {
		s.storeError(w, r, "get token", id, err)
		return
	}
	encode(w, http.StatusOK, s.wireToken(t))
}

func (s *server) handleDeleteToken(w http.ResponseWriter, r *http.Request, p *principal) {
	id, ok := s.pathID(w, r)
	if !ok {
		return
	}
	if err := s.store.DeleteToken(s.audited(r, p), p.user.ID, id); err != nil {
		s.storeError(w, r, "delete token", id, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *server) handleBulkDelete(w http.ResponseWriter, r *http.Request, p *principal) {
	req, prob := decode[api.BulkDeleteRequest](r)
	if prob != nil {
		s.fail(w, r, prob)
		return
	}
	if n := len(req.IDs); n == 0 || n > api.MaxBulkDelete {
		s.fail(w, r, newProblem(http.StatusBadRequest, api.CodeValidation,
			fmt.Sprintf("ids must list 1 to %d token ids, got %d", api.MaxBulkDelete, n)))
		return
	}
	// A malformed id names no row, so the store reports it under
	// not_found (with unknown, other users' and repeated ids) rather than
	// the whole batch failing.
	deleted, notFound, err := s.store.DeleteTokens(s.audited(r, p), p.user.ID, req.IDs)
	if err != nil {
		s.storeError(w, r, "delete tokens", "", err)
		return
	}
	// Empty lists, not null, on the wire.
	deleted, notFound = append([]string{}, deleted...), append([]string{}, notFound...)
	for i, id := range notFound {
		notFound[i] = redact(id) // a secret pasted here goes back as its hint
	}
	encode(w, http.StatusOK, api.BulkDeleteResult{Deleted: deleted, NotFound: notFound})
}

func (s *server) handleRotateToken(w http.ResponseWriter, r *http.Request, p *principal) {
	id, ok := s.pathID(w, r)
	if !ok {
		return
	}
	now := s.cfg.Now().UTC().Truncate(time.Second)
	if p.token != nil && !s.rotateWithinBounds(w, r, p, id, now) {
		return
	}
	sec, err := secret.Generate(s.cfg.TokenPrefix)
	if err != nil {
		s.internalError(w, r, "generate token", err)
		return
	}
	t, err := s.store.RotateToken(s.audited(r, p), p.user.ID, id, sec.Digest(), sec.Hint(), now)
	if err != nil {
		s.storeError(w, r, "rotate token", id, err)
		return
	}
	encode(w, http.StatusOK, api.CreatedToken{Token: s.wireToken(t), Secret: sec.String()})
}

func (s *server) wireToken(t store.Token) api.Token {
	status := api.StatusActive
	if t.Expired(s.cfg.Now()) {
		status = api.StatusExpired
	}
	out := api.Token{
		ID:          t.ID,
		Name:        t.Name,
		Description: t.Description,
		KeyHint:     t.KeyHint,
		CreatedAt:   t.CreatedAt.UTC(),
		ExpiresAt:   t.ExpiresAt.UTC(),
		Status:      status,
		Scopes:      t.Scopes,
	}
	if out.Scopes == nil {
		out.Scopes = []string{}
	}
	if t.LastUsedAt != nil {
		lu := t.LastUsedAt.UTC()
		out.LastUsedAt = &lu
	}
	return out
}
