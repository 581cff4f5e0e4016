package server

import (
	"net/url"
	"strings"
	"testing"
)

// TestSecretsAreNeverEchoed sends a real secret (and cut-off pieces of it)
// to every place the server quotes input, and finds it in no body, header
// or log line.
func TestSecretsAreNeverEchoed(t *testing.T) {
	e := newTestEnv(t)
	e.addUser("alice", "pw")
	auth := bearer(e.login("alice", "pw"))
	victim := e.create(auth, map[string]any{"name": "victim"})
	full := victim.Secret
	// A cut-off secret still leaks: the checksum can be recomputed.
	pieces := map[string]string{
		"full":      full,
		"truncated": full[:len(full)-6],
		"random":    strings.TrimPrefix(full, "tkn_"),
	}
	for name, s := range pieces {
		t.Run(name, func(t *testing.T) {
			cases := []req{
				{method: "GET", path: "/v1/tokens/" + s},
				{method: "DELETE", path: "/v1/tokens/" + s},
				{method: "POST", path: "/v1/tokens/" + s + "/rotate"},
				{method: "GET", path: "/v1/" + s},
				{method: "GET", path: "/v1//" + s},
				{method: "PUT", path: "/v1/tokens/" + s},
				{method: "GET", path: "/v1/tokens?cursor=" + url.QueryEscape(s)},
				{method: "POST", path: "/v1/tokens/delete", json: map[string]any{"ids": []string{s, "x"}}},
				{method: "POST", path: "/v1/tokens", body: `{"name":"a"}`, contentType: "application/" + s},
				{method: "POST", path: "/v1/tokens", body: `{"name":"a","` + s + `":1}`},
				{method: "POST", path: "/v1/tokens", body: `{"` + s + `":1,"` + strings.ToUpper(s) + `":2}`},
				{method: "POST", path: "/v1/tokens", json: map[string]any{"name": "a"}, header: map[string]string{"Idempotency-Key": s + " x"}},
				{method: "GET", path: "/v1/user", header: map[string]string{"X-Request-Id": s}},
			}
			for _, rq := range cases {
				rq.auth = auth
				res := e.do(rq)
				if strings.Contains(string(res.body), s) {
					t.Errorf("%s %s: body echoes the secret: %s", rq.method, rq.path, res.body)
				}
				for k, vs := range res.header {
					for _, v := range vs {
						if strings.Contains(v, s) {
							t.Errorf("%s %s: header %s echoes the secret", rq.method, rq.path, k)
						}
					}
				}
			}
			if strings.Contains(e.logs.String(), s) {
				t.Errorf("the log holds the secret:\n%s", e.logs)
			}
		})
	}
	// A whole secret is named by its key hint, so the client can tell
	// which token it pasted.
	res := e.do(req{method: "GET", path: "/v1/tokens/" + full, auth: auth})
	if p := res.problem(t); !strings.Contains(p.Detail, victim.KeyHint) {
		t.Errorf("detail %q does not name the key hint %q", p.Detail, victim.KeyHint)
	}
	res = e.do(req{method: "POST", path: "/v1/tokens/delete", json: map[string]any{"ids": []string{full[:30]}}, auth: auth})
	if !strings.Contains(string(res.body), secretShown) {
		t.Errorf("bulk delete of a cut secret: %s", res.body)
	}
}

func TestRedactLeavesOrdinaryTextAlone(t *testing.T) {
	for _, s := range []string{
		"no token with id \"01jd5x3k9q8w7e6r5t4y3z2a1b\"",
		"expires_in_seconds must be at most 31622400",
		"deploy_production_2026",
		"no such endpoint: /v1/tokens/a/b/c",
	} {
		if got := redact(s); got != s {
			t.Errorf("redact(%q) = %q", s, got)
		}
	}
}
