package server

import (
	"net/http"

	"github.com/tokenctl/tokenctl/internal/api"
)

// handleCurrentToken answers with the presented token's own record, so a
// client knows what it holds (scopes, expiry) without tokens:read.
func (s *server) handleCurrentToken(w http.ResponseWriter, r *http.Request, p *principal) {
	if p.token == nil {
		s.fail(w, r, newProblem(http.StatusBadRequest, api.CodeNotAToken,
			"this request was made with a password, not a token; send Authorization: Bearer <token>"))
		return
	}
	encode(w, http.StatusOK, api.CurrentToken{
		Token: s.wireToken(*p.token),
		User:  api.UserRef{ID: p.user.ID, Username: p.user.Username},
	})
}

// handleDeleteCurrentToken deletes the presented token. It needs no scope,
// so a token minted without tokens:write (an exchanged CI token, an exec
// token) can still end its own life when its job is done.
func (s *server) handleDeleteCurrentToken(w http.ResponseWriter, r *http.Request, p *principal) {
	if p.token == nil {
		s.fail(w, r, newProblem(http.StatusBadRequest, api.CodeNotAToken,
			"this request was made with a password, not a token; send Authorization: Bearer <token> to delete that token"))
		return
	}
	if err := s.store.DeleteToken(s.audited(r, p), p.user.ID, p.token.ID); err != nil {
		s.storeError(w, r, "delete token", p.token.ID, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
