package server

import (
	"net/http"

	"github.com/tokenctl/tokenctl/internal/api"
)

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
