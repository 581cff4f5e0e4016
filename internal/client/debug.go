package client

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/tokenctl/tokenctl/internal/secret"
)

// redacted replaces every secret in a debug trace.
const redacted = "[redacted]"

// maxTraceBody is how much of a JSON body a trace shows.
const maxTraceBody = 4096

// sensitiveHeaders never appear in a trace with their value.
var sensitiveHeaders = map[string]bool{
	"Authorization":       true,
	"Proxy-Authorization": true,
	"Cookie":              true,
	"Set-Cookie":          true,
}

// sensitiveFields are JSON keys whose string values are secrets.
var sensitiveFields = []string{"token", "password", "secret", "passphrase"}

func (c *Client) tracef(format string, a ...any) {
	if c.opts.Debug == nil {
		return
	}
	fmt.Fprintf(c.opts.Debug, format+"\n", a...)
}

func (c *Client) traceRequest(req *http.Request, body []byte) {
	if c.opts.Debug == nil {
		return
	}
	c.tracef("> %s %s", req.Method, req.URL.Redacted())
	c.traceHeaders(">", req.Header)
	c.traceBody(">", req.Header.Get("Content-Type"), body)
}

func (c *Client) traceResponse(resp *http.Response, body []byte, took time.Duration) {
	if c.opts.Debug == nil {
		return
	}
	c.tracef("< %s (%s)", resp.Status, took.Round(time.Millisecond))
	c.traceHeaders("<", resp.Header)
	c.traceBody("<", resp.Header.Get("Content-Type"), body)
}

func (c *Client) traceHeaders(dir string, h http.Header) {
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := strings.Join(h[k], ", ")
		if sensitiveHeaders[http.CanonicalHeaderKey(k)] {
			v = redactAuth(v)
		}
		c.tracef("%s %s: %s", dir, k, v)
	}
}

// redactAuth keeps the scheme of an Authorization value (useful when
// debugging) and drops the rest.
func redactAuth(v string) string {
	if scheme, _, ok := strings.Cut(v, " "); ok && (strings.EqualFold(scheme, "Bearer") || strings.EqualFold(scheme, "Basic")) {
		return scheme + " " + redacted
	}
	return redacted
}

func (c *Client) traceBody(dir, contentType string, body []byte) {
	if len(body) == 0 {
		return
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		// Not JSON: could be anything, so say what it is, not what it says.
		c.tracef("%s [%d bytes of %s, not shown]", dir, len(body), orUnknown(contentType))
		return
	}
	out, err := json.Marshal(RedactJSON(v))
	if err != nil {
		return
	}
	s := string(out)
	if len(s) > maxTraceBody {
		s = s[:maxTraceBody] + fmt.Sprintf("… (%d bytes)", len(out))
	}
	c.tracef("%s %s", dir, s)
}

// RedactJSON returns v (decoded JSON) with every secret replaced: string
// values of fields named like token/password/secret, and any string that
// parses as a token wherever it sits.
func RedactJSON(v any) any {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, val := range t {
			if _, err := secret.Parse(k); err == nil {
				k = redacted // a token used as a key
			}
			if s, ok := val.(string); ok && s != "" && isSensitiveField(k) {
				out[k] = redacted
				continue
			}
			out[k] = RedactJSON(val)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, val := range t {
			out[i] = RedactJSON(val)
		}
		return out
	case string:
		if _, err := secret.Parse(t); err == nil || looksLikeJWT(t) {
			return redacted
		}
		return t
	}
	return v
}

// looksLikeJWT reports a compact JWS/JWT (an identity token): three
// base64url parts whose header starts a JSON object. It is a secret
// wherever it sits in a body, not only under subject_token.
func looksLikeJWT(s string) bool {
	return strings.HasPrefix(s, "eyJ") && strings.Count(s, ".") == 2 && !strings.ContainsAny(s, " \t\n")
}

func isSensitiveField(k string) bool {
	k = strings.ToLower(k)
	for _, s := range sensitiveFields {
		if k == s || strings.HasSuffix(k, "_"+s) {
			return true
		}
	}
	return false
}
