// Package client is tokenctl's HTTP client for token API v1.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
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
	tr := opts.Transport
	if tr == nil {
		tr = http.DefaultTransport
	}
	c := &Client{base: base, opts: opts}
	c.http = &http.Client{Transport: tr, Timeout: opts.Timeout}
	return c, nil
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

// CreateToken mints a token. A non-empty idempotencyKey makes the request
// safe to retry.
func (c *Client) CreateToken(ctx context.Context, req api.CreateTokenRequest, idempotencyKey string) (*api.CreatedToken, error) {
	var out api.CreatedToken
	h := http.Header{}
	if idempotencyKey != "" {
		h.Set(api.IdempotencyHeader, idempotencyKey)
	}
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

func (c *Client) do(ctx context.Context, method, path string, h http.Header, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("encode request: %w", err)
		}
		body = bytes.NewReader(b)
	}
	u := c.base.JoinPath() // copy
	rel, err := url.Parse(path)
	if err != nil {
		return fmt.Errorf("bad request path %q: %w", path, err)
	}
	u = u.ResolveReference(&url.URL{Path: strings.TrimSuffix(c.base.Path, "/") + rel.Path, RawQuery: rel.RawQuery})
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return fmt.Errorf("build request: %w", err)
	}
	for k, vs := range h {
		req.Header[k] = vs
	}
	if in != nil {
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
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("cannot reach %s: %w", c.base.Host, unwrapURLError(err))
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, MaxResponseBytes+1))
	if err != nil {
		return fmt.Errorf("%s: reading response (HTTP %d): %w", c.base.Host, resp.StatusCode, err)
	}
	if len(data) > MaxResponseBytes {
		return fmt.Errorf("%s: response too large (HTTP %d, over %d bytes)", c.base.Host, resp.StatusCode, MaxResponseBytes)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		ae := &APIError{Host: c.base.Host, Status: resp.StatusCode}
		var p api.Problem
		if json.Unmarshal(data, &p) == nil && p.Status != 0 {
			ae.Problem = &p
		}
		return ae
	}
	if out == nil || resp.StatusCode == http.StatusNoContent {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		ct := resp.Header.Get("Content-Type")
		return fmt.Errorf("%s: unexpected response (HTTP %d, %s): not valid JSON", c.base.Host, resp.StatusCode, orUnknown(ct))
	}
	return nil
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
