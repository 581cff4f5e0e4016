package server

import (
	"net/http"

	"github.com/tokenctl/tokenctl/internal/api"
)

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
