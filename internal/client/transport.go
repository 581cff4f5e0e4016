package client

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/tokenctl/tokenctl/internal/api"
	"github.com/tokenctl/tokenctl/internal/netaddr"
)

// checkRedirect keeps credentials on their origin: a hop to another scheme,
// host or port loses Authorization and Cookie, and a hop that would send
// anything over plain http to a non-loopback host is refused.
func checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= 5 {
		return &redirectError{"stopped after 5 redirects"}
	}
	orig := via[0].URL
	if req.URL.Scheme == "http" && !netaddr.IsLoopback(req.URL.Hostname()) {
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

// retrySafe reports whether a request may be sent again: reads and deletes
// are idempotent, bulk delete is too, and a create is only with its
// Idempotency-Key. Rotate never is: a second rotate would kill the secret
// the first one returned.
func retrySafe(method, path string, h http.Header) bool {
	switch {
	case method == http.MethodGet, method == http.MethodDelete:
		return true
	case method == http.MethodPost && (path == "/v1/tokens/delete" || path == adminBulkDeletePath):
		return true
	case method == http.MethodPost && (path == "/v1/tokens" || strings.HasPrefix(path, "/v1/admin/users/") && strings.HasSuffix(path, "/tokens")):
		return h.Get(api.IdempotencyHeader) != ""
	}
	return false
}

// do sends one API call: marshals in, sends it (again, when that is safe
// and worth it) and decodes the answer into out. The call draws on the
// command's budget (--timeout), attempts and waits included.
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
	callCtx, cancel := context.WithDeadline(ctx, c.budget.start(time.Now()))
	defer cancel()
	defer func() { c.budget.stop(time.Now()) }()
	for n := 1; ; n++ {
		wait, err := c.once(ctx, callCtx, method, path, h, payload, out)
		var ae *APIError
		if c.opts.Username != "" && errors.As(err, &ae) && ae.Status == http.StatusTooManyRequests {
			// A password is never sent again on a rate limit: say at once
			// when to try again (the uncapped wait the server asked for).
			return &SignInLimitedError{RetryAfter: retryAfter(ae.retryAfter, 0), Err: ae}
		}
		if wait < 0 || n >= attempts || callCtx.Err() != nil {
			return err
		}
		if wait == 0 {
			wait = c.opts.Backoff(n)
		}
		if dl, ok := callCtx.Deadline(); ok && time.Until(dl) < wait {
			// Waiting would outlive --timeout: give up now, not later.
			return fmt.Errorf("%w; not retried: waiting %s would outlast --timeout %s", err, wait.Round(time.Millisecond), c.budget.Total())
		}
		if errors.As(err, &ae) && wait > announceAfter && c.opts.OnWait != nil {
			c.opts.OnWait(Wait{Host: c.base.Host, Status: ae.Status, Delay: wait})
		}
		if c.opts.Debug != nil {
			fmt.Fprintf(c.opts.Debug, "* retrying in %s (attempt %d of %d): %v\n", wait.Round(time.Millisecond), n+1, attempts, err)
		}
		if serr := c.opts.Sleep(callCtx, wait); serr != nil {
			return err
		}
	}
}

// once sends one request within callCtx (ctx is the caller's, to tell a
// cancel from the call's own deadline). wait < 0 means the outcome is final;
// otherwise the request may be retried after wait (0: use the backoff).
func (c *Client) once(ctx, callCtx context.Context, method, path string, h http.Header, payload []byte, out any) (wait time.Duration, err error) {
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
	req, err := http.NewRequestWithContext(callCtx, method, u.String(), body)
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
		if callCtx.Err() != nil {
			return -1, c.timeoutError()
		}
		if terr := c.tlsError(err); terr != nil {
			return -1, terr
		}
		if !retryableNetErr(err) {
			return -1, fmt.Errorf("cannot reach %s: %w", c.base.Host, err)
		}
		return 0, fmt.Errorf("cannot reach %s: %w", c.base.Host, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, MaxResponseBytes+1))
	c.traceResponse(resp, data, time.Since(start))
	if err != nil && ctx.Err() == nil && callCtx.Err() != nil {
		return -1, c.timeoutError()
	}
	if err != nil {
		// A body cut short is a network failure: worth another try.
		return 0, fmt.Errorf("%s: response cut short (HTTP %d): %w", c.base.Host, resp.StatusCode, unwrapURLError(err))
	}
	if len(data) > MaxResponseBytes {
		return -1, fmt.Errorf("%s: response too large (HTTP %d, over %d bytes)", c.base.Host, resp.StatusCode, MaxResponseBytes)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		ae := &APIError{Host: c.base.Host, Status: resp.StatusCode, retryAfter: resp.Header.Get("Retry-After")}
		var p api.Problem
		if json.Unmarshal(data, &p) == nil && p.Status != 0 {
			ae.Problem = &p
		}
		switch resp.StatusCode {
		case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
			return retryAfter(ae.retryAfter, c.opts.MaxRetryAfter), ae
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
// wait, capped at limit unless limit is 0; 0 when absent or unreadable.
func retryAfter(v string, limit time.Duration) time.Duration {
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
	if limit > 0 {
		d = min(d, limit)
	}
	return d
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
