package webhook

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/tokenctl/tokenctl/internal/store"
	"github.com/tokenctl/tokenctl/internal/store/sqlite"
	"github.com/tokenctl/tokenctl/internal/webhook/webhooktest"
)

// newReceiver is a Standard Webhooks receiver with a fresh secret.
func newReceiver(t *testing.T, answer func(n int) int) *webhooktest.Receiver {
	r := webhooktest.New(t, NewSecret())
	r.Answer = answer
	return r
}

// clock is a settable time for the worker.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

type env struct {
	t     *testing.T
	st    *sqlite.Store
	user  store.User
	clock *clock
}

func newEnv(t *testing.T) *env {
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "tokend.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	now := time.Now().UTC().Truncate(time.Millisecond)
	u := store.User{ID: store.NewID(now), Username: "alice", PasswordHash: "x", CreatedAt: now}
	if err := st.CreateUser(t.Context(), u); err != nil {
		t.Fatal(err)
	}
	return &env{t: t, st: st, user: u, clock: &clock{now: now}}
}

func (e *env) hook(name, url, secret, format string, types ...string) {
	e.t.Helper()
	if err := e.st.CreateWebhook(e.t.Context(), store.Webhook{Name: name, URL: url, Secret: secret, Format: format,
		Events: types, CreatedAt: e.clock.Now()}); err != nil {
		e.t.Fatal(err)
	}
}

// event records a token.revoked_leaked event for alice now.
func (e *env) event() store.Event {
	e.t.Helper()
	a := store.Audit{At: e.clock.Now(), ActorKind: store.ActorLeakReport, Source: "https://github.com/acme/app/blob/main/.env"}
	ev := a.Event(store.EventTokenRevokedLeaked, store.Token{ID: store.NewID(e.clock.Now()), UserID: e.user.ID, Name: "ci", KeyHint: "tkn_a1B2…x9Z0"})
	if err := e.st.AddEvents(e.t.Context(), []store.Event{ev}); err != nil {
		e.t.Fatal(err)
	}
	return ev
}

func (e *env) worker(cfg Config) *Worker {
	cfg.Store = e.st
	if cfg.Owner == "" {
		cfg.Owner = "test-" + e.t.Name()
	}
	if cfg.Now == nil {
		cfg.Now = e.clock.Now
	}
	if cfg.Jitter == nil {
		cfg.Jitter = func(time.Duration) time.Duration { return 0 }
	}
	return NewWorker(cfg)
}

func (e *env) status(name string) store.WebhookStatus {
	e.t.Helper()
	ws, err := e.st.ListWebhooks(e.t.Context())
	if err != nil {
		e.t.Fatal(err)
	}
	for _, w := range ws {
		if w.Name == name {
			return w
		}
	}
	e.t.Fatalf("no webhook %s", name)
	return store.WebhookStatus{}
}

func TestDeliveryIsSignedAsStandardWebhooksSays(t *testing.T) {
	e := newEnv(t)
	rcv := newReceiver(t, nil)
	e.hook("ops", rcv.URL, rcv.Secret, store.WebhookStandard, store.EventTokenRevokedLeaked)
	ev := e.event()
	e.worker(Config{Now: time.Now}).Drain(t.Context())
	got := rcv.Received()
	if len(got) != 1 {
		t.Fatalf("receiver got %d requests, want 1", len(got))
	}
	r := got[0]
	if r.Verified != nil {
		t.Fatalf("the Standard Webhooks verifier refused the delivery: %v", r.Verified)
	}
	if r.ID != ev.ID || r.Type != store.EventTokenRevokedLeaked {
		t.Fatalf("webhook-id %q type %q; want %q %s", r.ID, r.Type, ev.ID, store.EventTokenRevokedLeaked)
	}
	var p store.WebhookPayload
	if err := json.Unmarshal(r.Body, &p); err != nil {
		t.Fatal(err)
	}
	if p.Data.User != "alice" || p.Data.Token == nil || p.Data.Token.KeyHint != "tkn_a1B2…x9Z0" || p.Data.Source == "" {
		t.Fatalf("payload %s", r.Body)
	}
	// A wrong secret does not verify: the signature is real.
	other, _ := standardwebhooks.NewWebhook(NewSecret())
	if other.Verify(r.Body, r.Header) == nil {
		t.Fatal("another secret verified the delivery")
	}
	if st := e.status("ops"); st.Delivered != 1 || st.Pending != 0 {
		t.Fatalf("status %+v", st)
	}
}

func TestFailedDeliveryIsRetriedWithBackoffUnderTheSameID(t *testing.T) {
	e := newEnv(t)
	rcv := newReceiver(t, func(n int) int {
		if n == 1 {
			return http.StatusInternalServerError
		}
		return http.StatusOK
	})
	rcv.IgnoreTime = true // the worker runs on a test clock
	e.hook("ops", rcv.URL, rcv.Secret, store.WebhookStandard, store.EventTokenRevokedLeaked)
	ev := e.event()
	w := e.worker(Config{})
	w.Drain(t.Context())
	st := e.status("ops")
	if len(rcv.Received()) != 1 || st.Pending != 1 || st.LastError != "HTTP 500" {
		t.Fatalf("after a 500: %d requests, status %+v", len(rcv.Received()), st)
	}
	// Not before the backoff is over.
	wait := w.Backoff(1)
	if wait != FirstRetry {
		t.Fatalf("first backoff %s, want %s", wait, FirstRetry)
	}
	e.clock.Add(wait - time.Millisecond)
	w.Drain(t.Context())
	if n := len(rcv.Received()); n != 1 {
		t.Fatalf("retried before the backoff: %d requests", n)
	}
	e.clock.Add(time.Millisecond)
	w.Drain(t.Context())
	got := rcv.Received()
	if len(got) != 2 || got[1].ID != ev.ID || got[1].ID != got[0].ID || got[1].Verified != nil {
		t.Fatalf("retry: %+v", got)
	}
	if st := e.status("ops"); st.Delivered != 1 || st.Pending != 0 || st.LastError != "HTTP 500" {
		t.Fatalf("after the retry: %+v", st)
	}
}

func TestBackoffDoublesWithJitterUpToTheCap(t *testing.T) {
	w := NewWorker(Config{Jitter: func(d time.Duration) time.Duration { return d - 1 }})
	prev := time.Duration(0)
	for n := 1; n <= 20; n++ {
		b := w.Backoff(n)
		full := min(FirstRetry<<(n-1), MaxRetryWait)
		if n > 12 {
			full = MaxRetryWait
		}
		if b <= full/2 || b > full {
			t.Fatalf("Backoff(%d) = %s, want in (%s, %s]", n, b, full/2, full)
		}
		if b < prev {
			t.Fatalf("Backoff(%d) = %s shrank from %s", n, b, prev)
		}
		prev = b
	}
	w = NewWorker(Config{Jitter: func(time.Duration) time.Duration { return 0 }})
	if w.Backoff(3) != 4*FirstRetry {
		t.Fatalf("Backoff(3) = %s, want %s", w.Backoff(3), 4*FirstRetry)
	}
}

func TestDeliveryIsGivenUpAfterTheBoundAndRecorded(t *testing.T) {
	e := newEnv(t)
	rcv := newReceiver(t, func(int) int { return http.StatusServiceUnavailable })
	e.hook("ops", rcv.URL, rcv.Secret, store.WebhookStandard, store.EventTokenRevokedLeaked)
	e.event()
	w := e.worker(Config{GiveUpAfter: time.Hour})
	for range 1000 {
		w.Drain(t.Context())
		if st := e.status("ops"); st.Failed == 1 {
			break
		}
		e.clock.Add(5 * time.Second)
	}
	st := e.status("ops")
	if st.Failed != 1 || st.Pending != 0 || st.LastError != "HTTP 503" {
		t.Fatalf("status %+v; want failed 1", st)
	}
	// 5s, 10s, ... 40m: the attempts that fit in an hour, then no more.
	n := len(rcv.Received())
	if n < 5 || n > 12 {
		t.Fatalf("%d attempts within the hour's bound", n)
	}
	e.clock.Add(24 * time.Hour)
	w.Drain(t.Context())
	if len(rcv.Received()) != n {
		t.Fatal("a given-up delivery was tried again")
	}
}

func TestHangingReceiverSlowsNoOtherWebhook(t *testing.T) {
	e := newEnv(t)
	release := make(chan struct{})
	hanging := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(hanging.Close)
	t.Cleanup(func() { close(release) })
	rcv := newReceiver(t, nil)
	// "slow" sorts first and gets the first worker slot.
	e.hook("a-slow", hanging.URL, NewSecret(), store.WebhookStandard, store.EventTokenRevokedLeaked)
	e.hook("b-fine", rcv.URL, rcv.Secret, store.WebhookStandard, store.EventTokenRevokedLeaked)
	for range 3 {
		e.event()
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	// The hanging receiver would hold a delivery for an hour.
	w := e.worker(Config{Now: time.Now, Timeout: time.Hour, Concurrency: 2})
	go func() { defer close(done); w.Run(ctx) }()
	for range 3 {
		rcv.Next() // all three reach b-fine while a-slow still hangs on its first
	}
	for _, r := range rcv.Received() {
		if r.Verified != nil {
			t.Fatalf("b-fine: %v", r.Verified)
		}
	}
	// The receiver answered; the outcome is recorded right after.
	for e.status("b-fine").Delivered != 3 {
		time.Sleep(10 * time.Millisecond)
	}
	if st := e.status("a-slow"); st.Pending != 3 || st.Delivered != 0 {
		t.Fatalf("a-slow: %+v", st)
	}
	hanging.CloseClientConnections()
	cancel()
	<-done
}

func TestRedirectsAreNotFollowed(t *testing.T) {
	e := newEnv(t)
	target := newReceiver(t, nil)
	redirect := httptest.NewServer(http.RedirectHandler(target.URL, http.StatusTemporaryRedirect))
	t.Cleanup(redirect.Close)
	e.hook("ops", redirect.URL, target.Secret, store.WebhookStandard, store.EventTokenRevokedLeaked)
	e.event()
	e.worker(Config{}).Drain(t.Context())
	if n := len(target.Received()); n != 0 {
		t.Fatalf("the redirect was followed: target got %d requests", n)
	}
	if st := e.status("ops"); st.Pending != 1 || !strings.HasPrefix(st.LastError, "HTTP 307: redirects are not followed") {
		t.Fatalf("status %+v", st)
	}
}

func TestPlainHTTPToAnotherHostIsRefused(t *testing.T) {
	for _, u := range []string{"https://hooks.example.com/x", "http://127.0.0.1:9/x", "http://localhost/x", "http://[::1]:8080/"} {
		if err := CheckURL(u); err != nil {
			t.Errorf("CheckURL(%s) = %v, want ok", u, err)
		}
	}
	for _, u := range []string{"http://hooks.example.com/x", "http://10.0.0.1/", "http://localhost.evil.com/", "ftp://x/", "hooks.example.com", "https://user:pw@x/"} {
		if err := CheckURL(u); err == nil {
			t.Errorf("CheckURL(%s) accepted", u)
		}
	}
	// And at delivery, for a row that got in another way: nothing is sent.
	e := newEnv(t)
	tripped := false
	client := &http.Client{Transport: roundTripFunc(func(*http.Request) (*http.Response, error) {
		tripped = true
		return nil, io.EOF
	})}
	e.hook("ops", "http://192.0.2.10/hook", NewSecret(), store.WebhookStandard, store.EventTokenRevokedLeaked)
	e.event()
	e.worker(Config{Client: client}).Drain(t.Context())
	if tripped {
		t.Fatal("a request went out over plain http to a non-loopback host")
	}
	// Scheme and host only: a Slack webhook's path is its credential.
	if st := e.status("ops"); !strings.Contains(st.LastError, "plain http") || strings.Contains(st.LastError, "/hook") {
		t.Fatalf("status %+v", st)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestSlackGetsAReadableMessage(t *testing.T) {
	e := newEnv(t)
	bodies := make(chan []byte, 1)
	headers := make(chan http.Header, 1)
	slack := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		bodies <- b
		headers <- r.Header
		_, _ = io.WriteString(w, "ok")
	}))
	t.Cleanup(slack.Close)
	e.hook("chat", slack.URL+"/services/T0/B0/secretpath", "", store.WebhookSlack, store.EventTokenRevokedLeaked)
	e.event()
	e.worker(Config{}).Drain(t.Context())
	var msg map[string]string
	if err := json.Unmarshal(<-bodies, &msg); err != nil {
		t.Fatal(err)
	}
	want := "tokend: token ci (tkn_a1B2…x9Z0) of alice was revoked: it was reported leaked (https://github.com/acme/app/blob/main/.env)."
	if len(msg) != 1 || msg["text"] != want {
		t.Fatalf("slack body %v, want text %q", msg, want)
	}
	if h := <-headers; h.Get("webhook-signature") != "" {
		t.Fatalf("slack got signature headers: %v", h)
	}
}

func TestTestSendsASignedTestEvent(t *testing.T) {
	rcv := newReceiver(t, nil)
	hook := store.Webhook{Name: "ops", URL: rcv.URL, Secret: rcv.Secret, Format: store.WebhookStandard}
	if err := Test(t.Context(), hook, NewClient(time.Minute), time.Now()); err != nil {
		t.Fatal(err)
	}
	got := rcv.Received()
	if len(got) != 1 || got[0].Verified != nil || got[0].Type != EventTest {
		t.Fatalf("received %+v", got)
	}
	rcv.SetAnswer(func(int) int { return http.StatusBadGateway })
	if err := Test(t.Context(), hook, NewClient(time.Minute), time.Now()); err == nil || err.Error() != "HTTP 502" {
		t.Fatalf("Test against a 502 = %v", err)
	}
}

// Stopping tokend does not wait out a hanging receiver: the attempt is cut
// short, and the row is due again at once for the next replica or start.
func TestShutdownCutsAHangingDeliveryShortAndLeavesItDue(t *testing.T) {
	e := newEnv(t)
	rcv := newReceiver(t, nil)
	rcv.Hold = func(int) bool { return true }
	e.hook("ops", rcv.URL, rcv.Secret, store.WebhookStandard, store.EventTokenRevokedLeaked)
	e.event()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	w := e.worker(Config{Now: time.Now, Timeout: time.Hour, ShutdownGrace: 50 * time.Millisecond})
	go func() { defer close(done); w.Run(ctx) }()
	rcv.Next() // the attempt is in flight and would wait an hour, past the grace
	cancel()
	<-done
	st := e.status("ops")
	if st.Pending != 1 || st.LastError != "tokend stopped during the attempt" {
		t.Fatalf("after shutdown: %+v", st)
	}
	if due, err := e.st.DueWebhooks(t.Context(), time.Now()); err != nil || len(due) != 1 {
		t.Fatalf("DueWebhooks after shutdown = %v, %v; want ops at once", due, err)
	}
}

// A receiver that answers within the shutdown grace is recorded as
// delivered: the next replica does not send the event again.
func TestShutdownLetsAPromptAnswerBeRecorded(t *testing.T) {
	e := newEnv(t)
	release := make(chan struct{})
	rcv := newReceiver(t, func(int) int { <-release; return http.StatusNoContent })
	e.hook("ops", rcv.URL, rcv.Secret, store.WebhookStandard, store.EventTokenRevokedLeaked)
	e.event()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	w := e.worker(Config{Now: time.Now, Timeout: time.Hour, ShutdownGrace: time.Minute})
	go func() { defer close(done); w.Run(ctx) }()
	rcv.Next() // the attempt is in flight
	cancel()   // tokend is told to stop, then the receiver answers
	close(release)
	<-done
	if st := e.status("ops"); st.Delivered != 1 || st.Pending != 0 || st.LastError != "" {
		t.Fatalf("after shutdown: %+v", st)
	}
	if n := len(rcv.Received()); n != 1 {
		t.Fatalf("%d attempts, want 1", n)
	}
}

// A receiver that fails gets one attempt per pass, not its whole backlog.
func TestAFailingReceiverGetsOneAttemptPerPass(t *testing.T) {
	e := newEnv(t)
	rcv := newReceiver(t, func(int) int { return http.StatusInternalServerError })
	rcv.IgnoreTime = true
	e.hook("ops", rcv.URL, rcv.Secret, store.WebhookStandard, store.EventTokenRevokedLeaked)
	for range 5 {
		e.event()
	}
	w := e.worker(Config{})
	for pass := 1; pass <= 3; pass++ {
		w.Drain(t.Context())
		if n := len(rcv.Received()); n != pass {
			t.Fatalf("after pass %d: %d attempts, want %d", pass, n, pass)
		}
	}
	if st := e.status("ops"); st.Pending != 5 {
		t.Fatalf("status %+v", st)
	}
}
