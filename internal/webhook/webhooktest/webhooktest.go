// Package webhooktest is a real webhook receiver for tests: an HTTP server
// that checks every delivery with the Standard Webhooks library, as any
// receiver would, and records what it got.
package webhooktest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/tokenctl/tokenctl/internal/store"
)

// Received is one request the receiver got.
type Received struct {
	ID      string // webhook-id
	Type    string // the payload's type
	Payload store.WebhookPayload
	Header  http.Header
	Body    []byte
	// Verified is the Standard Webhooks verifier's verdict: nil when the
	// signature and (unless IgnoreTime) the timestamp hold.
	Verified error
}

// Receiver is a webhook endpoint.
type Receiver struct {
	Secret string
	URL    string
	// Answer is the status for the n-th request (from 1); 204 when nil.
	Answer func(n int) int
	// Hold, when it returns true for the n-th request, keeps that request
	// unanswered until the client goes away.
	Hold func(n int) bool
	// IgnoreTime skips the verifier's timestamp tolerance (a test clock).
	IgnoreTime bool

	t        testing.TB
	srv      *httptest.Server
	mu       sync.Mutex
	got      []Received
	arrivals chan Received
}

// New starts a receiver verifying with secret (whsec_…) on loopback.
func New(t testing.TB, secret string) *Receiver {
	r := &Receiver{Secret: secret, t: t, arrivals: make(chan Received, 1000)}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	r.URL = r.srv.URL
	t.Cleanup(r.srv.Close)
	return r
}

func (r *Receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	wh, err := standardwebhooks.NewWebhook(r.Secret)
	if err != nil {
		r.t.Errorf("webhooktest: secret: %v", err)
		return
	}
	rec := Received{ID: req.Header.Get(standardwebhooks.HeaderWebhookID), Header: req.Header.Clone(), Body: body}
	if r.IgnoreTime {
		rec.Verified = wh.VerifyIgnoringTimestamp(body, req.Header)
	} else {
		rec.Verified = wh.Verify(body, req.Header)
	}
	if json.Unmarshal(body, &rec.Payload) == nil {
		rec.Type = rec.Payload.Type
	}
	r.mu.Lock()
	r.got = append(r.got, rec)
	n := len(r.got)
	answer, hold := r.Answer, r.Hold
	r.mu.Unlock()
	r.arrivals <- rec
	if hold != nil && hold(n) {
		<-req.Context().Done()
		return
	}
	status := http.StatusNoContent
	if answer != nil {
		status = answer(n)
	}
	w.WriteHeader(status)
}

// Received returns every request so far.
func (r *Receiver) Received() []Received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Received(nil), r.got...)
}

// Next waits for the next request to arrive (in the order they came) and
// returns it; the test's own deadline bounds the wait.
func (r *Receiver) Next() Received { return <-r.arrivals }

// SetAnswer changes Answer safely while requests may arrive.
func (r *Receiver) SetAnswer(f func(n int) int) {
	r.mu.Lock()
	r.Answer = f
	r.mu.Unlock()
}
