package server

import (
	"bytes"
	"encoding/json"
	"net/http"
	"sync"

	"github.com/tokenctl/tokenctl/internal/api"
)

// ProblemTypeBase prefixes every problem type URI; the code completes it.
const ProblemTypeBase = "https://tokenctl.dev/problems/"

// problem is an error a handler answers with instead of a result.
type problem struct {
	status int
	code   string
	detail string

	unknownScopes []string // validation_failed: scope names not defined
}

func (p *problem) Error() string { return p.detail }

func newProblem(status int, code, detail string) *problem {
	return &problem{status: status, code: code, detail: detail}
}

// writeProblem is the one way any error leaves the server.
func writeProblem(w http.ResponseWriter, r *http.Request, status int, code, detail string) {
	writeProblemReason(w, r, status, code, "", detail)
}

// writeProblemReason is writeProblem with the reason member set (for
// subject_token_rejected).
func writeProblemReason(w http.ResponseWriter, r *http.Request, status int, code, reason, detail string) {
	writeProblemBody(w, r, status, api.Problem{Code: code, Reason: reason, Detail: detail})
}

// writeProblemBody completes body (type, title, status, request id) and
// sends it.
func writeProblemBody(w http.ResponseWriter, r *http.Request, status int, body api.Problem) {
	info := infoFrom(r.Context())
	body.Type = ProblemTypeBase + body.Code
	body.Title = http.StatusText(status)
	body.Status = status
	// A last guard: whatever input a detail quotes, a secret in it goes
	// out as its key hint at most, and the request's own credential not
	// at all.
	body.Detail = redactFor(r, body.Detail)
	if info != nil {
		body.RequestID = info.id
		info.problemCode = body.Code
	}
	writeJSON(w, status, problemContentType, &body)
}

func (s *server) fail(w http.ResponseWriter, r *http.Request, p *problem) {
	writeProblemBody(w, r, p.status, api.Problem{Code: p.code, Detail: p.detail, UnknownScopes: p.unknownScopes})
}

// internalError logs err (which never holds a secret: secrets do not reach
// the store or error paths) and answers 500 without details.
func (s *server) internalError(w http.ResponseWriter, r *http.Request, op string, err error) {
	s.log.ErrorContext(r.Context(), "request failed", "request_id", requestID(r), "op", op, "error", err.Error())
	writeProblem(w, r, http.StatusInternalServerError, api.CodeInternal, "the server could not complete the request; it has been logged with the request id")
}

// encode writes v as JSON with status.
func encode[T any](w http.ResponseWriter, status int, v T) {
	if u, ok := any(&v).(*api.User); ok && writeUser(w, status, u) {
		return
	}
	slow := v // only this copy escapes to the heap
	writeJSON(w, status, jsonContentType, &slow)
}

// Header values shared by every response: net/http only reads them, and
// Header().Set would allocate a fresh slice for each on every request.
var (
	jsonContentType    = []string{"application/json"}
	problemContentType = []string{api.ProblemContentType}
	noStore            = []string{"no-store"}
	noSniff            = []string{"nosniff"}
)

// jsonBuffer is an encoder over its own buffer, pooled: a response body is
// built in it and written in one Write.
type jsonBuffer struct {
	buf bytes.Buffer
	enc *json.Encoder
}

var jsonBuffers = sync.Pool{New: func() any {
	b := &jsonBuffer{}
	b.enc = json.NewEncoder(&b.buf)
	return b
}}

// writeJSON answers status with v encoded as JSON (one line, like
// json.Encoder) and the headers every tokend body carries.
func writeJSON(w http.ResponseWriter, status int, contentType []string, v any) {
	b := jsonBuffers.Get().(*jsonBuffer)
	defer func() {
		// A huge page would pin its buffer in the pool for good.
		if b.buf.Cap() <= 64<<10 {
			b.buf.Reset()
			jsonBuffers.Put(b)
		}
	}()
	err := b.enc.Encode(v)
	h := w.Header()
	h["Content-Type"] = contentType
	h["Cache-Control"] = noStore
	h["X-Content-Type-Options"] = noSniff
	w.WriteHeader(status)
	if err == nil {
		_, _ = w.Write(b.buf.Bytes())
	}
}
