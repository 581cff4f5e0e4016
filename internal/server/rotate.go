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
