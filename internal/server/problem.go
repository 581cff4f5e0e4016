package server

import (
	"encoding/json"
	"net/http"

	"github.com/tokenctl/tokenctl/internal/api"
)

// ProblemTypeBase prefixes every problem type URI; the code completes it.
const ProblemTypeBase = "https://tokenctl.dev/problems/"

// problem is an error a handler answers with instead of a result.
type problem struct {
	status int
	code   string
	detail string
}

func (p *problem) Error() string { return p.detail }

func newProblem(status int, code, detail string) *problem {
	return &problem{status: status, code: code, detail: detail}
}

// writeProblem is the one way any error leaves the server.
func writeProblem(w http.ResponseWriter, r *http.Request, status int, code, detail string) {
	info := infoFrom(r.Context())
	body := api.Problem{
		Type:   ProblemTypeBase + code,
		Title:  http.StatusText(status),
		Status: status,
		// A last guard: whatever input a detail quotes, a secret in it
		// goes out as its key hint at most.
		Detail: redact(detail),
		Code:   code,
	}
	if info != nil {
		body.RequestID = info.id
		info.problemCode = code
	}
	h := w.Header()
	h.Set("Content-Type", api.ProblemContentType)
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

func (s *server) fail(w http.ResponseWriter, r *http.Request, p *problem) {
	writeProblem(w, r, p.status, p.code, p.detail)
}

// internalError logs err (which never holds a secret: secrets do not reach
// the store or error paths) and answers 500 without details.
func (s *server) internalError(w http.ResponseWriter, r *http.Request, op string, err error) {
	s.log.ErrorContext(r.Context(), "request failed", "request_id", requestID(r), "op", op, "error", err.Error())
	writeProblem(w, r, http.StatusInternalServerError, api.CodeInternal, "the server could not complete the request; it has been logged with the request id")
}

// encode writes v as JSON with status.
func encode[T any](w http.ResponseWriter, status int, v T) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
