// Package client is tokenctl's HTTP client for token API v1.
package client

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/tokenctl/tokenctl/internal/api"
)

// Options configures a Client.
type Options struct {
	// Host is the server's base URL, e.g. https://tokens.example.com.
	Host string
	// Token authenticates with "Authorization: Bearer". Exclusive with
	// Username/Password (HTTP Basic), which only login uses.
	Token              string
	Username, Password string
	// Timeout bounds each request as a whole (default 30s).
	Timeout time.Duration
	// Debug, when set, receives a redacted trace of every request.
	Debug io.Writer
	// UserAgent is sent with each request.
	UserAgent string
	// Transport replaces the default transport (tests).
	Transport http.RoundTripper

	// ConnectTimeout bounds the TCP connect and the TLS handshake (default
	// 10s, never more than Timeout).
	ConnectTimeout time.Duration
	// MaxAttempts is how often a retry-safe request is tried (default 3).
	MaxAttempts int
	// Backoff returns the wait before retry number n (1-based) when the
	// server gave no Retry-After (default: jittered exponential from 250ms).
	Backoff func(n int) time.Duration
	// MaxRetryAfter caps how long a Retry-After is honoured (default 30s).
	MaxRetryAfter time.Duration
	// Sleep waits d or until ctx ends (tests replace it to avoid real waits).
	Sleep func(ctx context.Context, d time.Duration) error
}

// Client talks to one token API host. Safe for concurrent use.
type Client struct {
	base *url.URL
	opts Options
	http *http.Client
}

// MaxResponseBytes caps how much of a response body is read.
const MaxResponseBytes = 8 << 20

// New checks the host and returns a client. Plain http is refused unless the
// host is loopback, before anything is sent.
func New(opts Options) (*Client, error) {
	base, err := NormalizeHost(opts.Host)
	if err != nil {
		return nil, err
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 30 * time.Second
	}
	if opts.ConnectTimeout <= 0 {
		opts.ConnectTimeout = 10 * time.Second
	}
	opts.ConnectTimeout = min(opts.ConnectTimeout, opts.Timeout)
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = 3
	}
	if opts.Backoff == nil {
		opts.Backoff = defaultBackoff
	}
	if opts.MaxRetryAfter <= 0 {
		opts.MaxRetryAfter = 30 * time.Second
	}
	if opts.Sleep == nil {
		opts.Sleep = sleep
	}
	tr := opts.Transport
	if tr == nil {
		dt := http.DefaultTransport.(*http.Transport).Clone()
		dt.DialContext = (&net.Dialer{Timeout: opts.ConnectTimeout, KeepAlive: 30 * time.Second}).DialContext
		dt.TLSHandshakeTimeout = opts.ConnectTimeout
		tr = dt
	}
	c := &Client{base: base, opts: opts}
	c.http = &http.Client{Transport: tr, Timeout: opts.Timeout, CheckRedirect: checkRedirect}
	return c, nil
}

// checkRedirect keeps credentials on their origin: a hop to another scheme,
// host or port loses Authorization and Cookie, and a hop that would send
// anything over plain http to a non-loopback host is refused.
func checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= 5 {
		return &redirectError{"stopped after 5 redirects"}
	}
	orig := via[0].URL
	if req.URL.Scheme == "http" && !IsLoopback(req.URL.Hostname()) {
		return &redirectError{"refusing redirect to plain http " + req.URL.Host}
	}
	if orig.Scheme == "https" && req.URL.Scheme != "https" {
		return &redirectError{"refusing redirect from https to " + req.URL.Scheme}
	}
	if !strings.EqualFold(req.URL.Scheme, orig.Scheme) || !strings.EqualFold(req.URL.Host, orig.Host) {
		req.Header.Del("Authorization")
		req.Header.Del("Cookie")
	}
	return nil
}

// Host returns the normalised base URL.
func (c *Client) Host() string { return c.base.String() }

// APIError is a non-2xx answer from the server.
type APIError struct {
	Host    string
	Status  int
	Problem *api.Problem // nil when the body was not problem+json
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

// User returns who the credential belongs to.
func (c *Client) User(ctx context.Context) (*api.User, error) {
	var u api.User
	return &u, c.do(ctx, http.MethodGet, "/v1/user", nil, nil, &u)
}

// CreateToken mints a token. Every create carries an Idempotency-Key, so it
// is retried safely: pass "" to get a fresh random key for this call, or
// the caller's own key to make a create safe across processes (a CI job
// that re-runs must not mint a second token).
func (c *Client) CreateToken(ctx context.Context, req api.CreateTokenRequest, idempotencyKey string) (*api.CreatedToken, error) {
	var out api.CreatedToken
	if idempotencyKey == "" {
		idempotencyKey = NewIdempotencyKey()
	}
	h := http.Header{}
	h.Set(api.IdempotencyHeader, idempotencyKey)
	return &out, c.do(ctx, http.MethodPost, "/v1/tokens", h, req, &out)
}

// GetToken returns one token's metadata.
func (c *Client) GetToken(ctx context.Context, id string) (*api.Token, error) {
	var out api.Token
	return &out, c.do(ctx, http.MethodGet, "/v1/tokens/"+url.PathEscape(id), nil, nil, &out)
}

// DeleteToken deletes one token.
func (c *Client) DeleteToken(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, "/v1/tokens/"+url.PathEscape(id), nil, nil, nil)
}

// DeleteTokens deletes up to api.MaxBulkDelete tokens in one request.
func (c *Client) DeleteTokens(ctx context.Context, ids []string) (*api.BulkDeleteResult, error) {
	var out api.BulkDeleteResult
	return &out, c.do(ctx, http.MethodPost, "/v1/tokens/delete", nil, api.BulkDeleteRequest{IDs: ids}, &out)
}

// RotateToken gives a token a new secret; the old one stops working.
func (c *Client) RotateToken(ctx context.Context, id string) (*api.CreatedToken, error) {
	var out api.CreatedToken
	return &out, c.do(ctx, http.MethodPost, "/v1/tokens/"+url.PathEscape(id)+"/rotate", nil, nil, &out)
}

// ListQuery filters a listing.
type ListQuery struct {
	Status   string // active, expired or all ("" = server default)
	Name     string // glob
	PageSize int    // 0 = server default
}

// ListTokens iterates over the caller's tokens, newest first, one page in
// memory at a time. Iteration stops at the first error, which is yielded.
func (c *Client) ListTokens(ctx context.Context, q ListQuery) iter.Seq2[api.Token, error] {
	return func(yield func(api.Token, error) bool) {
		cursor := ""
		for {
			v := url.Values{}
			if q.Status != "" {
				v.Set("status", q.Status)
			}
			if q.Name != "" {
				v.Set("name", q.Name)
			}
			if q.PageSize > 0 {
				v.Set("limit", strconv.Itoa(q.PageSize))
			}
			if cursor != "" {
				v.Set("cursor", cursor)
			}
			path := "/v1/tokens"
			if len(v) > 0 {
				path += "?" + v.Encode()
			}
			var page api.TokenPage
			if err := c.do(ctx, http.MethodGet, path, nil, nil, &page); err != nil {
				yield(api.Token{}, err)
				return
			}
			for _, t := range page.Items {
				if !yield(t, nil) {
					return
				}
			}
			if page.NextCursor == nil || *page.NextCursor == "" {
				return
			}
			cursor = *page.NextCursor
		}
	}
}

// retrySafe reports whether a request may be sent again: reads and deletes
// are idempotent, bulk delete is too, and a create is only with its
// Idempotency-Key. Rotate never is: a second rotate would kill the secret
// the first one returned.
func retrySafe(method, path string, h http.Header) bool {
	switch {
	case method == http.MethodGet, method == http.MethodDelete:
		return true
	case method == http.MethodPost && path == "/v1/tokens/delete":
		return true
	case method == http.MethodPost && path == "/v1/tokens":
		return h.Get(api.IdempotencyHeader) != ""
	}
	return false
}

func (c *Client) do(ctx context.Context, method, path string, h http.Header, in, out any) error {
	var payload []byte
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("encode request: %w", err)
		}
		payload = b
	}
	attempts := 1
	if retrySafe(method, path, h) {
		attempts = c.opts.MaxAttempts
	}
	for n := 1; ; n++ {
		wait, err := c.once(ctx, method, path, h, payload, out)
		if wait < 0 || n >= attempts || ctx.Err() != nil {
			return err
		}
		if wait == 0 {
			wait = c.opts.Backoff(n)
		}
		if c.opts.Debug != nil {
			fmt.Fprintf(c.opts.Debug, "* retrying in %s (attempt %d of %d): %v\n", wait.Round(time.Millisecond), n+1, attempts, err)
		}
		if serr := c.opts.Sleep(ctx, wait); serr != nil {
			return err
		}
	}
}

// once sends one request. wait < 0 means the outcome is final; otherwise
// the request may be retried after wait (0: use the backoff).
func (c *Client) once(ctx context.Context, method, path string, h http.Header, payload []byte, out any) (wait time.Duration, err error) {
	var body io.Reader
	if payload != nil {
		body = bytes.NewReader(payload)
	}
	u := c.base.JoinPath() // copy
	rel, err := url.Parse(path)
	if err != nil {
		return -1, fmt.Errorf("bad request path %q: %w", path, err)
	}
	u = u.ResolveReference(&url.URL{Path: strings.TrimSuffix(c.base.Path, "/") + rel.Path, RawQuery: rel.RawQuery})
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return -1, fmt.Errorf("build request: %w", err)
	}
	for k, vs := range h {
		req.Header[k] = vs
	}
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if c.opts.UserAgent != "" {
		req.Header.Set("User-Agent", c.opts.UserAgent)
	}
	switch {
	case c.opts.Token != "":
		req.Header.Set("Authorization", "Bearer "+c.opts.Token)
	case c.opts.Username != "":
		req.SetBasicAuth(c.opts.Username, c.opts.Password)
	}
	start := time.Now()
	c.traceRequest(req, payload)
	resp, err := c.http.Do(req)
	if err != nil {
		err = unwrapURLError(err)
		c.tracef("< error after %s: %v", time.Since(start).Round(time.Millisecond), err)
		if ctx.Err() != nil {
			return -1, fmt.Errorf("request to %s: %w", c.base.Host, ctx.Err())
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return 0, fmt.Errorf("%s did not answer within %s (see --timeout): %w", c.base.Host, c.opts.Timeout, errTimeout)
		}
		if !retryableNetErr(err) {
			return -1, fmt.Errorf("cannot reach %s: %w", c.base.Host, err)
		}
		return 0, fmt.Errorf("cannot reach %s: %w", c.base.Host, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, MaxResponseBytes+1))
	c.traceResponse(resp, data, time.Since(start))
	if err != nil {
		// A body cut short is a network failure: worth another try.
		return 0, fmt.Errorf("%s: response cut short (HTTP %d): %w", c.base.Host, resp.StatusCode, unwrapURLError(err))
	}
	if len(data) > MaxResponseBytes {
		return -1, fmt.Errorf("%s: response too large (HTTP %d, over %d bytes)", c.base.Host, resp.StatusCode, MaxResponseBytes)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		ae := &APIError{Host: c.base.Host, Status: resp.StatusCode}
		var p api.Problem
		if json.Unmarshal(data, &p) == nil && p.Status != 0 {
			ae.Problem = &p
		}
		switch resp.StatusCode {
		case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
			return c.retryAfter(resp.Header.Get("Retry-After")), ae
		}
		return -1, ae
	}
	if out == nil || resp.StatusCode == http.StatusNoContent {
		return -1, nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		ct := resp.Header.Get("Content-Type")
		return -1, fmt.Errorf("%s: unexpected response (HTTP %d, %s): not valid JSON", c.base.Host, resp.StatusCode, orUnknown(ct))
	}
	return -1, nil
}

// retryAfter turns a Retry-After header (seconds or an HTTP date) into a
// wait, capped at MaxRetryAfter; 0 when absent or unreadable.
func (c *Client) retryAfter(v string) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	var d time.Duration
	if secs, err := strconv.Atoi(v); err == nil {
		d = time.Duration(secs) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = time.Until(t)
	}
	if d <= 0 {
		return 0
	}
	return min(d, c.opts.MaxRetryAfter)
}

// retryableNetErr says whether a transport error may go away on its own.
// Certificate and TLS configuration errors do not.
func retryableNetErr(err error) bool {
	var (
		certErr  *tls.CertificateVerificationError
		unknown  x509.UnknownAuthorityError
		hostErr  x509.HostnameError
		invalid  x509.CertificateInvalidError
		recHdr   tls.RecordHeaderError
		redirect *redirectError
	)
	switch {
	case errors.As(err, &certErr), errors.As(err, &unknown), errors.As(err, &hostErr),
		errors.As(err, &invalid), errors.As(err, &recHdr), errors.As(err, &redirect):
		return false
	}
	return true
}

// errTimeout replaces net/http's timeout text, which names Go internals.
var errTimeout = errors.New("timed out")

type redirectError struct{ msg string }

func (e *redirectError) Error() string { return e.msg }

func defaultBackoff(n int) time.Duration {
	base := 250 * time.Millisecond << (n - 1)
	// Full jitter in [base/2, base*3/2) spreads retries from many clients.
	return base/2 + time.Duration(rand.Int64N(int64(base)))
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// NewIdempotencyKey returns a random UUID (version 4).
func NewIdempotencyKey() string {
	var b [16]byte
	_, _ = crand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func orUnknown(s string) string {
	if s == "" {
		return "no content type"
	}
	return s
}

func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
