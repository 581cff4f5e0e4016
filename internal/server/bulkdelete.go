package server

import (
	"context"
	"fmt"
	"net/http"

	"github.com/tokenctl/tokenctl/internal/api"
)

func (s *server) handleBulkDelete(w http.ResponseWriter, r *http.Request, p *principal) {
	s.bulkDelete(w, r, s.audited(r, p), p.user.ID)
}

// bulkDelete deletes the listed tokens of userID (store.AnyUser for an
// admin), recording who acts from ctx.
func (s *server) bulkDelete(w http.ResponseWriter, r *http.Request, ctx context.Context, userID string) {
	req, prob := decode[api.BulkDeleteRequest](r)
	if prob != nil {
		s.fail(w, r, prob)
		return
	}
	if n := len(req.IDs); n == 0 || n > api.MaxBulkDelete {
		s.fail(w, r, newProblem(http.StatusBadRequest, api.CodeValidation,
			fmt.Sprintf("ids must list 1 to %d token ids, got %d", api.MaxBulkDelete, n)))
		return
	}
	// A malformed id names no row, so the store reports it under
	// not_found (with unknown, other users' and repeated ids) rather than
	// the whole batch failing.
	deleted, notFound, err := s.store.DeleteTokens(ctx, userID, req.IDs)
	if err != nil {
		s.storeError(w, r, "delete tokens", "", err)
		return
	}
	// Empty lists, not null, on the wire.
	deleted, notFound = append([]string{}, deleted...), append([]string{}, notFound...)
	for i, id := range notFound {
		notFound[i] = redact(id) // a secret pasted here goes back as its hint
	}
	encode(w, http.StatusOK, api.BulkDeleteResult{Deleted: deleted, NotFound: notFound})
}
