package console

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"

	"github.com/tokenctl/tokenctl/internal/api"
	"github.com/tokenctl/tokenctl/internal/server"
	"github.com/tokenctl/tokenctl/internal/store"
)

// The console asks the API for every token operation, in this process:
// the handlers of package server own the rules (names, lifetimes, scope
// grants and caps, the token limit, bulk-delete reports, audit events,
// password budgets), so the console cannot drift from them.

// recorder is the smallest http.ResponseWriter that keeps an answer
// (net/http/httptest would register its flags in tokend).
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.body.Write(b)
}
func (r *recorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
}

// apiError is a refusal of the API: its problem, to show beside a field
// or at the top of a page.
type apiError struct {
	Status     int
	Problem    api.Problem
	RetryAfter string
}

func (e *apiError) Error() string {
	if e.Problem.Detail != "" {
		return e.Problem.Detail
	}
	return fmt.Sprintf("the server answered %d", e.Status)
}

// call sends one API request as the console user u (nil: no credential,
// and creds may set an Authorization header), from the browser's request
// r: its client address, forwarded-for and user agent go along, so rate
// limits and audit events see the person's browser. body is JSON-encoded
// when not nil; a 2xx answer is decoded into out when not nil.
func (h *handler) call(r *http.Request, u *store.User, method, path string, q url.Values, body, out any, creds func(*http.Request)) error {
	var rd bytes.Buffer
	if body != nil {
		if err := json.NewEncoder(&rd).Encode(body); err != nil {
			return fmt.Errorf("encode %s %s: %w", method, path, err)
		}
	}
	target := path
	if len(q) > 0 {
		target += "?" + q.Encode()
	}
	// The browser's context: a closed tab cancels the work.
	req, err := http.NewRequestWithContext(r.Context(), method, target, &rd)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	req.RemoteAddr, req.Host = r.RemoteAddr, r.Host
	for _, k := range []string{"X-Forwarded-For", "X-Forwarded-Proto", "User-Agent"} {
		if v := r.Header.Values(k); len(v) > 0 {
			req.Header[k] = v
		}
	}
	if id := server.PageRequestID(r); id != "" {
		req.Header.Set("X-Request-Id", id)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if creds != nil {
		creds(req)
	}
	if u != nil {
		req = server.AsConsoleUser(req, *u)
	}
	rec := &recorder{header: http.Header{}}
	h.cfg.API.ServeHTTP(rec, req)
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	if rec.status >= 300 {
		e := &apiError{Status: rec.status, RetryAfter: rec.header.Get("Retry-After")}
		_ = json.Unmarshal(rec.body.Bytes(), &e.Problem) // a body that is no problem keeps the status
		return e
	}
	if out != nil && rec.status != http.StatusNoContent {
		if err := json.Unmarshal(rec.body.Bytes(), out); err != nil {
			return fmt.Errorf("decode %s %s: %w", method, path, err)
		}
	}
	return nil
}
