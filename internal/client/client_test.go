package client

import (
	"bytes"
	"context"
	"encoding/json"
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
	"github.com/tokenctl/tokenctl/internal/secret"
)

// sleeps records the waits a client asked for instead of sleeping.
type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.d = append(s.d, d)
	return ctx.Err()
}

func (s *sleeps) all() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.d...)
}

func newTestClient(t *testing.T, url string, mod ...func(*Options)) (*Client, *sleeps) {
	t.Helper()
	sl := &sleeps{}
	opts := Options{
		Host:    url,
		Token:   "test-bearer",
		Timeout: time.Minute, // longer than any Retry-After the tests send
		Sleep:   sl.sleep,
		Backoff: func(n int) time.Duration { return time.Duration(n) * time.Millisecond },
	}
	for _, m := range mod {
		m(&opts)
	}
	c, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return c, sl
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func TestRetries(t *testing.T) {
	user := api.User{ID: "u1", Username: "alice"}
	tests := []struct {
		name       string
		failures   []int  // statuses answered before success
		retryAfter string // on failures
		call       func(*Client) error
		wantCalls  int32
		wantErr    bool
		wantSleeps []time.Duration
	}{
		{
			name: "GET retried after 503 then succeeds", failures: []int{503},
			call:      func(c *Client) error { _, err := c.User(context.Background()); return err },
			wantCalls: 2, wantSleeps: []time.Duration{time.Millisecond},
		},
		{
			name: "GET retried on 502 and 504 with growing backoff", failures: []int{502, 504},
			call:      func(c *Client) error { _, err := c.User(context.Background()); return err },
			wantCalls: 3, wantSleeps: []time.Duration{time.Millisecond, 2 * time.Millisecond},
		},
		{
			name: "GET gives up after three attempts", failures: []int{503, 503, 503, 503},
			call:      func(c *Client) error { _, err := c.User(context.Background()); return err },
			wantCalls: 3, wantErr: true, wantSleeps: []time.Duration{time.Millisecond, 2 * time.Millisecond},
		},
		{
			name: "429 honours Retry-After seconds", failures: []int{429}, retryAfter: "2",
			call:      func(c *Client) error { _, err := c.User(context.Background()); return err },
			wantCalls: 2, wantSleeps: []time.Duration{2 * time.Second},
		},
		{
			name: "Retry-After is capped at 30s", failures: []int{429}, retryAfter: "3600",
			call:      func(c *Client) error { _, err := c.User(context.Background()); return err },
			wantCalls: 2, wantSleeps: []time.Duration{30 * time.Second},
		},
		{
			name: "DELETE is retried", failures: []int{503},
			call:      func(c *Client) error { return c.DeleteToken(context.Background(), "x") },
			wantCalls: 2, wantSleeps: []time.Duration{time.Millisecond},
		},
		{
			name: "bulk delete is retried", failures: []int{503},
			call: func(c *Client) error {
				_, err := c.DeleteTokens(context.Background(), []string{"a"})
				return err
			},
			wantCalls: 2, wantSleeps: []time.Duration{time.Millisecond},
		},
		{
			name: "create is retried with its idempotency key", failures: []int{503},
			call: func(c *Client) error {
				_, err := c.CreateToken(context.Background(), api.CreateTokenRequest{Name: "n"}, "")
				return err
			},
			wantCalls: 2, wantSleeps: []time.Duration{time.Millisecond},
		},
		{
			name: "rotate is never retried", failures: []int{503},
			call: func(c *Client) error {
				_, err := c.RotateToken(context.Background(), "x")
				return err
			},
			wantCalls: 1, wantErr: true,
		},
		{
			name: "400 is not retried", failures: []int{400},
			call:      func(c *Client) error { _, err := c.User(context.Background()); return err },
			wantCalls: 1, wantErr: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls atomic.Int32
			var keys sync.Map
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				n := calls.Add(1)
				if k := r.Header.Get(api.IdempotencyHeader); k != "" {
					keys.Store(k, true)
				}
				if int(n) <= len(tt.failures) {
					if tt.retryAfter != "" {
						w.Header().Set("Retry-After", tt.retryAfter)
					}
					writeJSON(w, tt.failures[n-1], api.Problem{Status: tt.failures[n-1], Detail: "try later", Code: "x"})
					return
				}
				switch {
				case r.Method == http.MethodDelete:
					w.WriteHeader(http.StatusNoContent)
				case strings.HasSuffix(r.URL.Path, "/delete"):
					writeJSON(w, 200, api.BulkDeleteResult{Deleted: []string{"a"}})
				case r.Method == http.MethodPost:
					writeJSON(w, 201, api.CreatedToken{Token: api.Token{ID: "t"}, Secret: "s"})
				default:
					writeJSON(w, 200, user)
				}
			}))
			defer srv.Close()
			c, sl := newTestClient(t, srv.URL)
			err := tt.call(c)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if got := calls.Load(); got != tt.wantCalls {
				t.Errorf("server saw %d requests, want %d", got, tt.wantCalls)
			}
			if got := sl.all(); fmt.Sprint(got) != fmt.Sprint(tt.wantSleeps) && !(len(got) == 0 && len(tt.wantSleeps) == 0) {
				t.Errorf("waits = %v, want %v", got, tt.wantSleeps)
			}
			n := 0
			keys.Range(func(_, _ any) bool { n++; return true })
			if n > 1 {
				t.Errorf("a retried create sent %d different idempotency keys, want one", n)
			}
		})
	}
}

func TestCreateAlwaysSendsIdempotencyKey(t *testing.T) {
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.Header.Get(api.IdempotencyHeader))
		writeJSON(w, 201, api.CreatedToken{})
	}))
	defer srv.Close()
	c, _ := newTestClient(t, srv.URL)
	for _, key := range []string{"", "", "caller-key"} {
		if _, err := c.CreateToken(context.Background(), api.CreateTokenRequest{Name: "n"}, key); err != nil {
			t.Fatal(err)
		}
	}
	if got[0] == "" || got[1] == "" || got[0] == got[1] {
		t.Errorf("generated keys = %q, %q: want two different non-empty keys", got[0], got[1])
	}
	if got[2] != "caller-key" {
		t.Errorf("caller's key sent as %q", got[2])
	}
}

func TestNetworkErrorIsRetried(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			// Drop the connection without an answer.
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close()
			}
			return
		}
		writeJSON(w, 200, api.User{Username: "alice"})
	}))
	defer srv.Close()
	c, _ := newTestClient(t, srv.URL)
	u, err := c.User(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if u.Username != "alice" || calls.Load() != 2 {
		t.Errorf("user %q after %d calls", u.Username, calls.Load())
	}
}

func TestBadResponsesBecomeOneLineErrors(t *testing.T) {
	big := bytes.Repeat([]byte("a"), MaxResponseBytes+10)
	tests := []struct {
		name    string
		handler http.HandlerFunc
		want    []string
	}{
		{"HTML on 200", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprint(w, "<html><body>Welcome to nginx</body></html>")
		}, []string{"HTTP 200", "text/html", "not valid JSON"}},
		{"HTML error page", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusInternalServerError)
			fmt.Fprint(w, "<html><body><h1>500</h1></body></html>")
		}, []string{"HTTP 500", "Internal Server Error"}},
		{"truncated JSON", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"id":"u1","username":"ali`)
		}, []string{"HTTP 200", "not valid JSON"}},
		{"body shorter than its Content-Length", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Content-Length", "500")
			fmt.Fprint(w, `{"id":"u1"`)
		}, []string{"cut short", "HTTP 200"}},
		{"oversized body", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(big)
		}, []string{"too large", "HTTP 200"}},
		{"problem details", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", api.ProblemContentType)
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprint(w, `{"status":404,"detail":"token not found","code":"not_found"}`)
		}, []string{"token not found", "HTTP 404"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(tt.handler)
			defer srv.Close()
			c, _ := newTestClient(t, srv.URL)
			_, err := c.User(context.Background())
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			host := strings.TrimPrefix(srv.URL, "http://")
			for _, w := range append(tt.want, host) {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not mention %q", msg, w)
				}
			}
			if strings.Contains(msg, "\n") || strings.Contains(msg, "{") || len(msg) > 300 {
				t.Errorf("error is not one short line: %q", msg)
			}
		})
	}
}

func TestRedirectToAnotherOriginDropsAuthorization(t *testing.T) {
	var otherAuth, sameAuth atomic.Value
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		otherAuth.Store(r.Header.Get("Authorization"))
		writeJSON(w, 200, api.User{Username: "other"})
	}))
	defer other.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/v1/user":
			http.Redirect(w, r, other.URL+"/v1/user", http.StatusFound)
		case "/v1/tokens/same":
			http.Redirect(w, r, "/v1/tokens/final", http.StatusFound)
		case "/v1/tokens/final":
			sameAuth.Store(r.Header.Get("Authorization"))
			writeJSON(w, 200, api.Token{ID: "final"})
		}
	}))
	defer srv.Close()
	// Same IP, different port: a different origin.
	c, _ := newTestClient(t, srv.URL)
	if _, err := c.User(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got, _ := otherAuth.Load().(string); got != "" {
		t.Errorf("other origin received Authorization %q", got)
	}
	if _, err := c.GetToken(context.Background(), "same"); err != nil {
		t.Fatal(err)
	}
	if got, _ := sameAuth.Load().(string); got != "Bearer test-bearer" {
		t.Errorf("same-origin redirect lost Authorization: %q", got)
	}
}

func TestRedirectToPlainHTTPElsewhereIsRefused(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://tokens.example.com/v1/user", http.StatusFound)
	}))
	defer srv.Close()
	c, _ := newTestClient(t, srv.URL)
	_, err := c.User(context.Background())
	if err == nil || !strings.Contains(err.Error(), "refusing redirect to plain http") {
		t.Fatalf("err = %v, want a refused redirect", err)
	}
}

func TestPlainHTTPRefusedBeforeSending(t *testing.T) {
	tests := []struct {
		host    string
		wantErr bool
	}{
		{"http://tokens.example.com", true},
		{"http://localhost.example.com:8080", true},
		{"http://10.0.0.1", true},
		{"ftp://localhost", true},
		{"http://localhost:8080", false},
		{"http://127.0.0.2:9000", false},
		{"http://[::1]:8080", false},
		{"127.0.0.1:8080", false},
		{"tokens.example.com", false}, // becomes https
	}
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			var sent atomic.Bool
			tr := roundTripFunc(func(r *http.Request) (*http.Response, error) {
				sent.Store(true)
				return nil, errors.New("no network in this test")
			})
			_, err := New(Options{Host: tt.host, Token: "x", Transport: tr})
			if (err != nil) != tt.wantErr {
				t.Fatalf("New(%q) err = %v, wantErr %v", tt.host, err, tt.wantErr)
			}
			if sent.Load() {
				t.Error("a request was sent")
			}
		})
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestDebugTraceRedactsSecrets(t *testing.T) {
	tok, err := secret.Generate("tkn_")
	if err != nil {
		t.Fatal(err)
	}
	newSecret := tok.String()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: "session", Value: "cookie-secret-value"})
		writeJSON(w, 201, api.CreatedToken{Token: api.Token{ID: "t1", Name: "ci"}, Secret: newSecret})
	}))
	defer srv.Close()
	var trace bytes.Buffer
	c, _ := newTestClient(t, srv.URL, func(o *Options) {
		o.Token = ""
		o.Username, o.Password = "alice", "hunter2-password"
		o.Debug = &trace
	})
	if _, err := c.CreateToken(context.Background(), api.CreateTokenRequest{Name: "ci", Description: newSecret}, ""); err != nil {
		t.Fatal(err)
	}
	out := trace.String()
	for _, leak := range []string{newSecret, "hunter2-password", "YWxpY2U6aHVudGVyMi1wYXNzd29yZA", "cookie-secret-value"} {
		if strings.Contains(out, leak) {
			t.Errorf("trace leaks a secret (%d chars)", len(leak))
		}
	}
	for _, want := range []string{"> POST " + srv.URL + "/v1/tokens", "< 201 Created", "Authorization: Basic [redacted]", `"token":"[redacted]"`, `"name":"ci"`} {
		if !strings.Contains(out, want) {
			t.Errorf("trace lacks %q", want)
		}
	}
}

func TestListTokensWalksPages(t *testing.T) {
	pages := map[string]api.TokenPage{
		"":   {Items: []api.Token{{ID: "a"}, {ID: "b"}}, NextCursor: ptr("c1")},
		"c1": {Items: []api.Token{{ID: "c"}}, NextCursor: ptr("c2")},
		"c2": {Items: []api.Token{{ID: "d"}}},
	}
	var requests atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		if r.URL.Query().Get("status") != "all" || r.URL.Query().Get("limit") != "2" {
			writeJSON(w, 400, api.Problem{Status: 400, Detail: "bad query " + r.URL.RawQuery})
			return
		}
		writeJSON(w, 200, pages[r.URL.Query().Get("cursor")])
	}))
	defer srv.Close()
	c, _ := newTestClient(t, srv.URL)
	var ids []string
	for tok, err := range c.ListTokens(context.Background(), ListQuery{Status: "all", PageSize: 2}) {
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, tok.ID)
	}
	if strings.Join(ids, ",") != "a,b,c,d" || requests.Load() != 3 {
		t.Errorf("ids %v after %d requests", ids, requests.Load())
	}
	// Stopping early fetches no further page.
	requests.Store(0)
	for range c.ListTokens(context.Background(), ListQuery{Status: "all", PageSize: 2}) {
		break
	}
	if requests.Load() != 1 {
		t.Errorf("early stop made %d requests, want 1", requests.Load())
	}
}

func TestDefaultBackoffIsJitteredAndGrows(t *testing.T) {
	for n := 1; n <= 3; n++ {
		base := 250 * time.Millisecond << (n - 1)
		for range 50 {
			d := defaultBackoff(n)
			if d < base/2 || d >= base*3/2 {
				t.Fatalf("backoff(%d) = %s, want within [%s, %s)", n, d, base/2, base*3/2)
			}
		}
	}
}

func TestRetryAfterHTTPDate(t *testing.T) {
	date := time.Now().Add(10 * time.Second).UTC().Format(http.TimeFormat)
	if d := retryAfter(date, DefaultMaxRetryAfter); d <= 5*time.Second || d > 10*time.Second {
		t.Errorf("retryAfter(%q) = %s, want about 10s", date, d)
	}
	for _, v := range []string{"", "soon", "-5"} {
		if d := retryAfter(v, DefaultMaxRetryAfter); d != 0 {
			t.Errorf("retryAfter(%q) = %s, want 0", v, d)
		}
	}
}

func ptr[T any](v T) *T { return &v }

func TestTimeoutEndsAHungRequest(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		<-r.Context().Done() // never answers; released when the client gives up
	}))
	defer srv.Close()
	c, _ := newTestClient(t, srv.URL, func(o *Options) { o.Timeout = 50 * time.Millisecond })
	_, err := c.User(context.Background())
	host := strings.TrimPrefix(srv.URL, "http://")
	if err == nil || err.Error() != host+" did not answer within --timeout 50ms (one limit for all of this command's requests): timed out" {
		t.Fatalf("err = %v, want a timeout naming the host", err)
	}
	if calls.Load() != 1 {
		t.Errorf("a GET that used up --timeout was tried %d times, want 1 (the timeout covers every attempt)", calls.Load())
	}
}

func TestCancelledContextIsNotRetried(t *testing.T) {
	var calls atomic.Int32
	ctx, cancel := context.WithCancel(context.Background())
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		cancel()
		<-r.Context().Done()
	}))
	defer srv.Close()
	c, _ := newTestClient(t, srv.URL)
	_, err := c.User(ctx)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if calls.Load() != 1 {
		t.Errorf("tried %d times after cancel, want 1", calls.Load())
	}
}
