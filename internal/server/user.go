package server

import (
	"net/http"

	"github.com/tokenctl/tokenctl/internal/api"
)

func (s *server) handleUser(w http.ResponseWriter, r *http.Request, p *principal) {
	u := api.User{ID: p.user.ID, Username: p.user.Username, AuthMethod: api.AuthPassword, Role: p.user.Role, Kind: p.user.Kind}
	if p.token != nil {
		t := s.wireToken(*p.token)
		u.AuthMethod = api.AuthToken
		u.Token = &t
	}
	encode(w, http.StatusOK, u)
}
