package server

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/tokenctl/tokenctl/internal/api"
	"github.com/tokenctl/tokenctl/internal/store"
)

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
