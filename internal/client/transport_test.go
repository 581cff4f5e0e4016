package client

import (
	"context"
	"errors"
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
	if err == nil || !strings.Contains(err.Error(), "did not answer within 100ms (see --timeout)") {
		t.Fatalf("err = %v, want the timeout", err)
	}
}
