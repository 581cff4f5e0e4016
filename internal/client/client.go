// Package client is tokenctl's HTTP client for token API v1. client.go
// holds the options and the error types, transport.go how one call is sent
// (deadline, retries, redirects, size caps), tokens.go the endpoints.
package client

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/tokenctl/tokenctl/internal/api"
)

// Defaults of Options; each is the value used when the field is zero.
const (
	// DefaultTimeout is the default Budget of one command's network work,
	// every call, attempt and retry wait included: the default of --timeout
	// and of the timeout setting.
	DefaultTimeout = 30 * time.Second
	// DefaultConnectTimeout bounds the TCP connect and the TLS handshake.
	DefaultConnectTimeout = 10 * time.Second
	// DefaultMaxAttempts is how often a retry-safe request is tried.
	DefaultMaxAttempts = 3
	// DefaultMaxRetryAfter caps how long a Retry-After is honoured.
	DefaultMaxRetryAfter = 30 * time.Second
	// PageSize is how many tokens the CLI asks for per page of a listing:
	// within the cap the server enforces on every listing (tokens and
	// events), but the CLI's own choice. token list and audit both use it.
	PageSize = 1000
	// announceAfter is the shortest retry wait worth telling a person about.
	announceAfter = time.Second
)

// MaxResponseBytes caps how much of a response body is read.
const MaxResponseBytes = 8 << 20

// Options configures a Client.
type Options struct {
	// Host is the server's base URL, e.g. https://tokens.example.com.
	Host string
	// Token authenticates with "Authorization: Bearer". Exclusive with
	// Username/Password (HTTP Basic), which only login uses.
	Token              string
	Username, Password string
	// Timeout is the budget of the whole command (--timeout): every call,
	// attempt and wait between attempts draws on it (default
	// DefaultTimeout). Ignored when Budget is set.
	Timeout time.Duration
	// Budget, when set, is shared with every other client built from these
	// Options, so one command's calls all draw on one --timeout.
	Budget *Budget
	// Debug, when set, receives a redacted trace of every request.
	Debug io.Writer
	// UserAgent is sent with each request.
	UserAgent string
	// Transport replaces the default transport (tests).
	Transport http.RoundTripper
	// RootCAs, when set, are the CAs trusted for the server's certificate
	// (the system's plus a private CA: see LoadCAFile). CAFile is where
	// they came from, for messages only.
	RootCAs *x509.CertPool
	CAFile  string
	// OnWait, when set, hears of every retry wait the server asked for
	// (Retry-After) that is longer than a second, before the wait starts,
	// so a person is not left staring at a silent terminal.
	OnWait func(Wait)

	// ConnectTimeout bounds the TCP connect and the TLS handshake (default
	// DefaultConnectTimeout, never more than Timeout).
	ConnectTimeout time.Duration
	// MaxAttempts is how often a retry-safe request is tried (default
	// DefaultMaxAttempts).
	MaxAttempts int
	// Backoff returns the wait before retry number n (1-based) when the
	// server gave no Retry-After (default: jittered exponential from 250ms).
	Backoff func(n int) time.Duration
	// MaxRetryAfter caps how long a Retry-After is honoured (default
	// DefaultMaxRetryAfter).
	MaxRetryAfter time.Duration
	// Sleep waits d or until ctx ends (tests replace it to avoid real waits).
	Sleep func(ctx context.Context, d time.Duration) error
}

// Wait describes a retry the server asked the client to hold back.
type Wait struct {
	Host   string
	Status int // 429, 502, 503 or 504
	Delay  time.Duration
}

// String is the line shown to a person, e.g. "rate limited by HOST;
// retrying in 5s".
func (w Wait) String() string {
	in := w.Delay.Round(time.Second)
	if w.Status == http.StatusTooManyRequests {
		return fmt.Sprintf("rate limited by %s; retrying in %s", w.Host, in)
	}
	return fmt.Sprintf("%s is busy (HTTP %d); retrying in %s", w.Host, w.Status, in)
}

// Client talks to one token API host. Safe for concurrent use.
type Client struct {
	base   *url.URL
	opts   Options
	http   *http.Client
	budget *Budget
}

// New checks the host and returns a client. Plain http is refused unless the
// host is loopback, before anything is sent.
func New(opts Options) (*Client, error) {
	base, err := NormalizeHost(opts.Host)
	if err != nil {
		return nil, err
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.ConnectTimeout <= 0 {
		opts.ConnectTimeout = DefaultConnectTimeout
	}
	if opts.Budget != nil {
		opts.Timeout = opts.Budget.Total()
	}
	opts.ConnectTimeout = min(opts.ConnectTimeout, opts.Timeout)
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = DefaultMaxAttempts
	}
	if opts.Backoff == nil {
		opts.Backoff = defaultBackoff
	}
	if opts.MaxRetryAfter <= 0 {
		opts.MaxRetryAfter = DefaultMaxRetryAfter
	}
	if opts.Sleep == nil {
		opts.Sleep = sleep
	}
	tr := opts.Transport
	if tr == nil {
		dt := http.DefaultTransport.(*http.Transport).Clone()
		dt.DialContext = (&net.Dialer{Timeout: opts.ConnectTimeout, KeepAlive: 30 * time.Second}).DialContext
		dt.TLSHandshakeTimeout = opts.ConnectTimeout
		if opts.RootCAs != nil {
			dt.TLSClientConfig = &tls.Config{RootCAs: opts.RootCAs, MinVersion: tls.VersionTLS12}
		}
		tr = dt
	}
	if opts.Budget == nil {
		opts.Budget = NewBudget(opts.Timeout)
	}
	opts.Timeout = opts.Budget.Total()
	c := &Client{base: base, opts: opts, budget: opts.Budget}
	// No http.Client.Timeout: the deadline of the whole call (do) bounds
	// every attempt, so retries cannot stretch --timeout.
	c.http = &http.Client{Transport: tr, CheckRedirect: checkRedirect}
	return c, nil
}

// WithBudget returns a copy of c that draws on b instead of c's budget: for
// a clean-up that must run even after the command's budget is spent.
func (c *Client) WithBudget(b *Budget) *Client {
	cp := *c
	cp.budget = b
	cp.opts.Budget = b
	return &cp
}

// Host returns the normalised base URL.
func (c *Client) Host() string { return c.base.String() }

// APIError is a non-2xx answer from the server.
type APIError struct {
	Host    string
	Status  int
	Problem *api.Problem // nil when the body was not problem+json

	retryAfter string // the Retry-After header, as sent
}

func (e *APIError) Error() string {
	if e.Problem != nil && e.Problem.Detail != "" {
		return fmt.Sprintf("%s: %s (HTTP %d)", e.Host, e.Problem.Detail, e.Status)
	}
	return fmt.Sprintf("%s answered HTTP %d %s", e.Host, e.Status, http.StatusText(e.Status))
}

// Code returns the problem code, or "" when there is none.
func (e *APIError) Code() string {
	if e.Problem == nil {
		return ""
	}
	return e.Problem.Code
}

// IsStatus reports whether err is an APIError with the given status.
func IsStatus(err error, status int) bool {
	var ae *APIError
	return errors.As(err, &ae) && ae.Status == status
}

// SignInLimitedError is a 429 answer to a password (Basic) request. It is
// never retried: the wait is long, and sending the password again would
// only count as another failed sign-in.
type SignInLimitedError struct {
	RetryAfter time.Duration // 0 when the server did not say
	Err        *APIError
}

func (e *SignInLimitedError) Error() string {
	if e.RetryAfter <= 0 {
		return "too many failed sign-ins from this address; try again later"
	}
	secs := (e.RetryAfter + time.Second - 1) / time.Second // never rounds to 0
	return fmt.Sprintf("too many failed sign-ins from this address; try again in %s", time.Duration(secs)*time.Second)
}

func (e *SignInLimitedError) Unwrap() error { return e.Err }
