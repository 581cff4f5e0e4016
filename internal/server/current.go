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
