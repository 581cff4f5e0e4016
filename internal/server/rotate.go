package server

import (
	"net/http"
	"time"

	"github.com/tokenctl/tokenctl/internal/api"
	"github.com/tokenctl/tokenctl/internal/secret"
)

func (s *server) handleRotateToken(w http.ResponseWriter, r *http.Request, p *principal) {
	id, ok := s.pathID(w, r)
	if !ok {
		return
	}
	now := s.cfg.Now().UTC().Truncate(time.Second)
	if p.token != nil && !s.rotateWithinBounds(w, r, p, id, now) {
		return
	}
	// A rotation keeps the lifetime; a scope's cap set since then refuses
	// it, naming the cap (the token keeps working until it expires).
	old, err := s.store.GetToken(r.Context(), p.user.ID, id)
	if err != nil {
		s.storeError(w, r, "rotate token", id, err)
		return
	}
	life := old.ExpiresAt.Sub(old.CreatedAt)
	if _, prob, err := s.capExpiry(r.Context(), old.Scopes, now, now.Add(life), true); err != nil || prob != nil {
		if err != nil {
			s.internalError(w, r, "rotate token", err)
			return
		}
		s.fail(w, r, prob)
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
