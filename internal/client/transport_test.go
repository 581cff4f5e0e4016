package client

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tokenctl/tokenctl/internal/api"
)

// A password login that is rate limited fails at once with the server's
// wait, instead of sleeping through Retry-After and sending the password
// again.
func TestRateLimitedPasswordIsNotRetried(t *testing.T) {
	tests := []struct {
		name, retryAfter, want string
	}{
		{"with Retry-After", "58", "too many failed sign-ins from this address; try again in 58s"},
		{"wait longer than the retry cap", "90", "too many failed sign-ins from this address; try again in 1m30s"},
		{"without Retry-After", "", "too many failed sign-ins from this address; try again later"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				calls.Add(1)
				if tt.retryAfter != "" {
					w.Header().Set("Retry-After", tt.retryAfter)
				}
				writeJSON(w, http.StatusTooManyRequests, api.Problem{Status: 429, Title: "Too Many Requests", Detail: "too many failed logins"})
			}))
			defer srv.Close()
			c, sl := newTestClient(t, srv.URL, func(o *Options) { o.Token, o.Username, o.Password = "", "alice", "pw" })
			_, err := c.CreateToken(context.Background(), api.CreateTokenRequest{Name: "login"}, "")
			var sle *SignInLimitedError
			if !errors.As(err, &sle) || err.Error() != tt.want {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
			if !IsStatus(err, http.StatusTooManyRequests) {
				t.Errorf("the APIError is not kept under %v", err)
			}
			if calls.Load() != 1 || len(sl.all()) != 0 {
				t.Errorf("sent %d times, slept %v: want one request and no wait", calls.Load(), sl.all())
			}
		})
	}
}

// A bearer request still honours Retry-After, and a wait longer than a
// second is announced before it starts.
func TestLongRetryWaitIsAnnounced(t *testing.T) {
	for _, tt := range []struct {
		retryAfter string
		want       []string
	}{
		{"5", []string{"rate limited by HOST; retrying in 5s"}},
		{"1", nil}, // a second's wait is not worth a line
	} {
		var calls atomic.Int32
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if calls.Add(1) == 1 {
				w.Header().Set("Retry-After", tt.retryAfter)
				writeJSON(w, http.StatusTooManyRequests, api.Problem{Status: 429, Title: "Too Many Requests"})
				return
			}
			writeJSON(w, http.StatusOK, api.User{ID: "u1", Username: "alice"})
		}))
		host := strings.TrimPrefix(srv.URL, "http://")
		var mu sync.Mutex
		var got []string
		c, sl := newTestClient(t, srv.URL, func(o *Options) {
			o.OnWait = func(w Wait) { mu.Lock(); got = append(got, strings.ReplaceAll(w.String(), host, "HOST")); mu.Unlock() }
		})
		if _, err := c.User(context.Background()); err != nil {
			t.Fatal(err)
		}
		srv.Close()
		if strings.Join(got, "|") != strings.Join(tt.want, "|") {
			t.Errorf("Retry-After %s: announced %q, want %q", tt.retryAfter, got, tt.want)
		}
		if w := sl.all(); len(w) != 1 || w[0].String() != tt.retryAfter+"s" {
			t.Errorf("Retry-After %s: waited %v", tt.retryAfter, w)
		}
	}
}

// --timeout bounds the whole call: a server that keeps failing cannot make
// the client run past it through retries and their waits.
func TestTimeoutCoversEveryAttempt(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		time.Sleep(150 * time.Millisecond)
		w.Header().Set("Retry-After", "1")
		writeJSON(w, http.StatusServiceUnavailable, api.Problem{Status: 503, Title: "Service Unavailable"})
	}))
	defer srv.Close()
	c, err := New(Options{Host: srv.URL, Token: "t", Timeout: 400 * time.Millisecond, MaxAttempts: 5})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = c.User(context.Background())
	took := time.Since(start)
	if !IsStatus(err, http.StatusServiceUnavailable) {
		t.Fatalf("err = %v, want the last 503", err)
	}
	// One attempt (150ms), then a 1s wait that would outlive the 400ms
	// deadline: the client gives up at once instead of waiting.
	if took > 400*time.Millisecond || calls.Load() != 1 {
		t.Errorf("took %s over %d attempts with --timeout 400ms", took, calls.Load())
	}
}

// The CLI's page size is its own choice but must stay within what the
// server accepts, or every listing would be refused.
func TestPageSizeWithinServerCap(t *testing.T) {
	if PageSize < 1 || PageSize > api.MaxPageSize {
		t.Errorf("PageSize %d outside 1..api.MaxPageSize (%d)", PageSize, api.MaxPageSize)
	}
}

// A body still trickling in when --timeout runs out is a timeout, said as
// one.
func TestTimeoutWhileReadingTheBody(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte(`{"id":`))
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}))
	defer srv.Close()
	c, _ := newTestClient(t, srv.URL, func(o *Options) { o.Timeout = 100 * time.Millisecond })
	_, err := c.User(context.Background())
	if err == nil || !strings.Contains(err.Error(), "did not answer within --timeout 100ms (one limit for all of this command's requests)") {
		t.Fatalf("err = %v, want the timeout", err)
	}
}

// --timeout is one budget for the command: a listing whose pages each
// answer well within it, but not all of them together, fails naming
// --timeout.
func TestTimeoutCoversEveryPageOfAListing(t *testing.T) {
	var pages atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := pages.Add(1)
		select {
		case <-time.After(300 * time.Millisecond):
		case <-r.Context().Done():
			return
		}
		next := fmt.Sprintf("c%d", n)
		writeJSON(w, http.StatusOK, api.TokenPage{Items: []api.Token{{ID: "tok" + next}}, NextCursor: &next})
	}))
	defer srv.Close()
	c, _ := newTestClient(t, srv.URL, func(o *Options) { o.Timeout = 750 * time.Millisecond })
	start := time.Now()
	var got int
	var err error
	for _, e := range c.ListTokens(context.Background(), ListQuery{}) {
		if e != nil {
			err = e
			break
		}
		got++
	}
	took := time.Since(start)
	if !errors.Is(err, ErrTimeout) || !strings.Contains(err.Error(), "--timeout 750ms") {
		t.Fatalf("after %d tokens: err = %v, want the --timeout error", got, err)
	}
	if got != 2 {
		t.Errorf("got %d pages before the timeout, want 2 (3 × 300ms > 750ms)", got)
	}
	if took > 2*time.Second {
		t.Errorf("took %s with --timeout 750ms", took)
	}
}

// Time between calls (a person at a prompt, the child of token exec) does
// not spend the budget; only time in flight does.
func TestTimeBetweenCallsIsNotCounted(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(50 * time.Millisecond)
		writeJSON(w, http.StatusOK, api.User{ID: "u1", Username: "alice"})
	}))
	defer srv.Close()
	c, _ := newTestClient(t, srv.URL, func(o *Options) { o.Timeout = 300 * time.Millisecond })
	for i := range 3 {
		if _, err := c.User(context.Background()); err != nil {
			t.Fatalf("call %d: %v", i+1, err)
		}
		time.Sleep(200 * time.Millisecond) // "at a prompt"
	}
}

// Clients built from one Options share its Budget; WithBudget gives a
// clean-up its own.
func TestBudgetIsSharedAndCanBeReplaced(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(120 * time.Millisecond)
		writeJSON(w, http.StatusOK, api.User{ID: "u1", Username: "alice"})
	}))
	defer srv.Close()
	b := NewBudget(200 * time.Millisecond)
	a, _ := newTestClient(t, srv.URL, func(o *Options) { o.Budget = b })
	second, _ := newTestClient(t, srv.URL, func(o *Options) { o.Budget = b })
	if _, err := a.User(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := second.User(context.Background()); !errors.Is(err, ErrTimeout) {
		t.Fatalf("second client, err = %v: want the shared budget spent", err)
	}
	if _, err := second.WithBudget(NewBudget(time.Second)).User(context.Background()); err != nil {
		t.Fatalf("with a fresh budget: %v", err)
	}
}

// Calls in flight together spend the budget once, at the rate of the wall
// clock, not once each.
func TestBudgetCountsOverlappingCallsOnce(t *testing.T) {
	b := NewBudget(10 * time.Second)
	t0 := time.Unix(1000, 0)
	if dl := b.start(t0); !dl.Equal(t0.Add(10 * time.Second)) {
		t.Fatalf("first deadline %s", dl.Sub(t0))
	}
	if dl := b.start(t0.Add(2 * time.Second)); !dl.Equal(t0.Add(10 * time.Second)) {
		t.Fatalf("overlapping call's deadline %s, want the same as the first", dl.Sub(t0))
	}
	b.stop(t0.Add(3 * time.Second))
	b.stop(t0.Add(4 * time.Second))
	// 4s spent; an hour later 6s are left.
	later := t0.Add(time.Hour)
	if dl := b.start(later); dl.Sub(later) != 6*time.Second {
		t.Fatalf("left after 4s in flight: %s, want 6s", dl.Sub(later))
	}
}

func TestExpiresInIsWholeSeconds(t *testing.T) {
	if got := *ExpiresIn(90*time.Minute + 900*time.Millisecond); got != 5400 {
		t.Errorf("ExpiresIn(1h30m0.9s) = %d, want 5400", got)
	}
}
