package server

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/tokenctl/tokenctl/internal/api"
	"github.com/tokenctl/tokenctl/internal/secret"
	"github.com/tokenctl/tokenctl/internal/store"
)

// ReplayedHeader marks a create answered from an earlier request with the
// same Idempotency-Key.
const ReplayedHeader = "Idempotent-Replayed"

// MaxIdempotencyKeyLen bounds the Idempotency-Key header.
const MaxIdempotencyKeyLen = 255

func (s *server) handleCreateToken(w http.ResponseWriter, r *http.Request, p *principal) {
	s.createToken(w, r, s.audited(r, p), p, "/v1/tokens/")
}

// createToken mints a token for p.user within p's bounds, recording who
// acts from ctx; location prefixes the new token's id in Location.
func (s *server) createToken(w http.ResponseWriter, r *http.Request, ctx context.Context, p *principal, location string) {
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
	asked, prob := s.validateCreate(&req, now)
	if prob != nil {
		s.fail(w, r, prob)
		return
	}
	explicit := req.ExpiresInSeconds != nil || req.ExpiresAt != nil
	scopes, expires, prob, err := s.createScopes(ctx, p, req.Scopes, asked, explicit)
	if err != nil {
		s.internalError(w, r, "create token", err)
		return
	}
	if prob != nil {
		s.fail(w, r, prob)
		return
	}
	cappedBy := ""
	if expires.Before(asked) {
		cappedBy = api.ExpiryCappedByParent
	}
	beforeCap := expires
	expires, prob, err = s.capExpiry(ctx, scopes, now, expires, explicit)
	if err != nil {
		s.internalError(w, r, "create token", err)
		return
	}
	if prob != nil {
		s.fail(w, r, prob)
		return
	}
	if expires.Before(beforeCap) {
		cappedBy = api.ExpiryCappedByScope
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
	tok, replayed, err := s.store.CreateToken(ctx, nt)
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
	w.Header().Set("Location", location+tok.ID)
	out := api.CreatedToken{Token: s.wireToken(tok), Secret: sec.String(), ExpiryCappedBy: cappedBy}
	encode(w, http.StatusCreated, out)
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
