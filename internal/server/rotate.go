package server

import (
	"fmt"
	"net/http"
	"strings"
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
	var notAfter time.Time
	capped := false
	if p.token != nil {
		if notAfter, capped, ok = s.rotateBounds(w, r, p, id, now); !ok {
			return
		}
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
	t, err := s.store.RotateToken(s.audited(r, p), p.user.ID, id, sec.Digest(), sec.Hint(), now, notAfter)
	if err != nil {
		s.storeError(w, r, "rotate token", id, err)
		return
	}
	out := api.CreatedToken{Token: s.wireToken(t), Secret: sec.String()}
	if capped {
		out.ExpiryCappedBy = api.ExpiryCappedByParent
	}
	encode(w, http.StatusOK, out)
}

// rotateBounds keeps a token from getting, by rotation, a secret it could
// not have created. A rotated token with a scope the caller lacks is
// refused; one whose new expiry (now plus its lifetime) would pass the
// caller's is cut to the caller's expiry, as create cuts a default
// expiry, so a parent can rotate its child however soon it expires itself.
// It returns that cap (zero for none) and whether it cuts, or answers the
// request and reports false.
func (s *server) rotateBounds(w http.ResponseWriter, r *http.Request, p *principal, id string, now time.Time) (notAfter time.Time, capped, ok bool) {
	t, err := s.store.GetToken(r.Context(), p.user.ID, id)
	if err != nil {
		s.storeError(w, r, "rotate token", id, err)
		return time.Time{}, false, false
	}
	if t.ID == p.token.ID {
		return time.Time{}, false, true // a token renewing itself gains no scope; its lifetime length stays
	}
	if extra := p.token.Scopes.Missing(t.Scopes...); len(extra) > 0 {
		s.fail(w, r, newProblem(http.StatusForbidden, api.CodeExceedsParent,
			fmt.Sprintf("token %s carries %s, which this token lacks (it has: %s); rotate it with a broader credential", id, strings.Join(extra, " "), scopeList(p.token.Scopes))))
		return time.Time{}, false, false
	}
	limit := p.token.ExpiresAt.UTC()
	return limit, now.Add(t.ExpiresAt.Sub(t.CreatedAt)).After(limit), true
}
