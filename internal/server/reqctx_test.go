package server

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
)

type ctxTestKey struct{}

// TestRequestStateContextPassesTheIncomingOneThrough: the request state is
// the handlers' context (it saves an allocation per request), so it must
// answer everything the incoming context answers: its values, its
// cancellation (also to contexts derived from it), and the request id.
func TestRequestStateContextPassesTheIncomingOneThrough(t *testing.T) {
	parent, cancel := context.WithCancel(context.WithValue(context.Background(), ctxTestKey{}, "outer"))
	var (
		sawValue, sawID string
		derivedErr      error
		stateFound      bool
	)
	release := make(chan struct{})
	h := (&server{}).withRequestID(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		sawValue, _ = ctx.Value(ctxTestKey{}).(string)
		stateFound = stateFrom(ctx) != nil
		sawID = requestID(r)
		child, stop := context.WithCancel(ctx)
		defer stop()
		close(release)
		<-child.Done()
		derivedErr = child.Err()
	}))
	r := httptest.NewRequestWithContext(parent, "GET", "/v1/user", nil)
	r.Header.Set("X-Request-Id", "abc-123")
	rec := httptest.NewRecorder()
	go func() { <-release; cancel() }()
	h.ServeHTTP(rec, r)

	if sawValue != "outer" {
		t.Errorf("value of the incoming context: %q, want %q", sawValue, "outer")
	}
	if !stateFound || sawID != "abc-123" || rec.Header().Get("X-Request-Id") != "abc-123" {
		t.Errorf("request state found %v, id %q, header %q; want the state and abc-123 twice",
			stateFound, sawID, rec.Header().Get("X-Request-Id"))
	}
	if !errors.Is(derivedErr, context.Canceled) {
		t.Errorf("a context derived in the handler ended with %v, want context.Canceled", derivedErr)
	}
	if stateFrom(context.Background()) != nil {
		t.Error("stateFrom found a state in a bare context")
	}
}
