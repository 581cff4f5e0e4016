package server

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/tokenctl/tokenctl/internal/api"
	"github.com/tokenctl/tokenctl/internal/secret"
	"github.com/tokenctl/tokenctl/internal/store"
)

func TestTokenLifecycle(t *testing.T) {
	e := newTestEnv(t)
	e.addUser("alice", "alice-pw")

	res := e.do(req{method: "POST", path: "/v1/tokens", auth: basic("alice", "alice-pw"),
		json: map[string]any{"name": "laptop", "description": "my laptop", "expires_in_seconds": 3600}})
	if res.status != http.StatusCreated {
		t.Fatalf("create: %d %s", res.status, res.body)
	}
	var created api.CreatedToken
	res.decode(t, &created)
	if loc := res.header.Get("Location"); loc != "/v1/tokens/"+created.ID {
		t.Errorf("Location = %q, want /v1/tokens/%s", loc, created.ID)
	}
	tok, err := secret.Parse(created.Secret)
	if err != nil || tok.Prefix != secret.DefaultPrefix {
		t.Fatalf("created secret is not a valid %s token: %v", secret.DefaultPrefix, err)
	}
	if created.KeyHint != tok.Hint() || created.Status != api.StatusActive || created.LastUsedAt != nil {
		t.Errorf("unexpected metadata: hint %q status %q last_used %v", created.KeyHint, created.Status, created.LastUsedAt)
	}
	if got := created.ExpiresAt.Sub(created.CreatedAt); got != time.Hour {
		t.Errorf("lifetime = %s, want 1h", got)
	}

	// The new token authenticates as alice.
	var me api.User
	res = e.do(req{method: "GET", path: "/v1/user", auth: bearer(created.Secret)})
	res.decode(t, &me)
	if res.status != 200 || me.Username != "alice" || me.AuthMethod != api.AuthToken || me.Token == nil || me.Token.ID != created.ID {
		t.Fatalf("GET /v1/user with the token: %d %s", res.status, res.body)
	}
	if me.Token.LastUsedAt == nil {
		t.Error("last_used_at not set by the first use")
	}
	res = e.do(req{method: "GET", path: "/v1/user", auth: basic("alice", "alice-pw")})
	me = api.User{}
	res.decode(t, &me)
	if me.AuthMethod != api.AuthPassword || me.Token != nil {
		t.Errorf("GET /v1/user with a password: %s", res.body)
	}

	// List shows the hint and dates, never the secret.
	res = e.do(req{method: "GET", path: "/v1/tokens", auth: bearer(created.Secret)})
	if strings.Contains(string(res.body), created.Secret) || strings.Contains(string(res.body), `"token"`) {
		t.Fatalf("list leaks the secret: %s", res.body)
	}
	var page api.TokenPage
	res.decode(t, &page)
	if len(page.Items) != 1 || page.Items[0].ID != created.ID || page.NextCursor != nil {
		t.Fatalf("list = %s", res.body)
	}

	res = e.do(req{method: "GET", path: "/v1/tokens/" + created.ID, auth: bearer(created.Secret)})
	var got api.Token
	res.decode(t, &got)
	if res.status != 200 || got.Name != "laptop" || got.Description != "my laptop" {
		t.Fatalf("get: %d %s", res.status, res.body)
	}

	// Rotate: the old secret dies at once, the new one works.
	res = e.do(req{method: "POST", path: "/v1/tokens/" + created.ID + "/rotate", auth: bearer(created.Secret)})
	var rotated api.CreatedToken
	res.decode(t, &rotated)
	if res.status != 200 || rotated.ID != created.ID || rotated.Secret == created.Secret || rotated.Name != "laptop" {
		t.Fatalf("rotate: %d %s", res.status, res.body)
	}
	if got := rotated.ExpiresAt.Sub(rotated.CreatedAt); got != time.Hour {
		t.Errorf("rotated lifetime = %s, want the original 1h", got)
	}
	if res := e.do(req{method: "GET", path: "/v1/user", auth: bearer(created.Secret)}); res.status != 401 {
		t.Fatalf("old secret after rotate: %d, want 401", res.status)
	}
	if res := e.do(req{method: "GET", path: "/v1/user", auth: bearer(rotated.Secret)}); res.status != 200 {
		t.Fatalf("new secret after rotate: %d, want 200", res.status)
	}

	// Delete: 204, then the token is gone and fails auth on the next request.
	other := e.create(bearer(rotated.Secret), map[string]any{"name": "other"})
	if res := e.do(req{method: "DELETE", path: "/v1/tokens/" + created.ID, auth: bearer(other.Secret)}); res.status != 204 || len(res.body) != 0 {
		t.Fatalf("delete: %d %s", res.status, res.body)
	}
	if res := e.do(req{method: "GET", path: "/v1/user", auth: bearer(rotated.Secret)}); res.status != 401 {
		t.Fatalf("deleted token authenticates: %d", res.status)
	}
	res = e.do(req{method: "GET", path: "/v1/tokens/" + created.ID, auth: bearer(other.Secret)})
	if res.status != 404 || res.problem(t).Code != api.CodeNotFound {
		t.Fatalf("get deleted: %d", res.status)
	}
	if res := e.do(req{method: "DELETE", path: "/v1/tokens/" + created.ID, auth: bearer(other.Secret)}); res.status != 404 {
		t.Fatalf("second delete: %d, want 404", res.status)
	}
}

func TestCreateDefaultsAndExpiresAt(t *testing.T) {
	e := newTestEnv(t, func(c *Config) { c.MaxLifetime = 10 * 24 * time.Hour })
	e.addUser("alice", "pw")
	auth := bearer(e.login("alice", "pw"))
	now := e.clock.Now()

	ct := e.create(auth, map[string]any{"name": "default"})
	if got := ct.ExpiresAt.Sub(ct.CreatedAt); got != 10*24*time.Hour {
		t.Errorf("default lifetime with a 10d maximum = %s, want it capped at 10d", got)
	}
	at := now.Add(48 * time.Hour).Truncate(time.Second)
	ct = e.create(auth, map[string]any{"name": "dated", "expires_at": at.Format(time.RFC3339)})
	if !ct.ExpiresAt.Equal(at) {
		t.Errorf("expires_at = %s, want %s", ct.ExpiresAt, at)
	}
	ct = e.create(auth, map[string]any{"name": "  spaced name ü 🙂 ", "description": "line 1\nline 2\tend"})
	if ct.Name != "  spaced name ü 🙂 " || ct.Description != "line 1\nline 2\tend" {
		t.Errorf("name/description not kept as given: %q %q", ct.Name, ct.Description)
	}
	ct = e.create(auth, map[string]any{"name": strings.Repeat("é", api.MaxNameLen), "description": strings.Repeat("d", api.MaxDescriptionLen)})
	if ct.Status != api.StatusActive {
		t.Error("longest allowed name and description refused")
	}
}

func TestTokenPrefixIsConfigurable(t *testing.T) {
	e := newTestEnv(t, func(c *Config) { c.TokenPrefix = "acme_" })
	e.addUser("alice", "pw")
	sec := e.login("alice", "pw")
	if !strings.HasPrefix(sec, "acme_") {
		t.Fatalf("secret %q does not use the configured prefix", sec[:5])
	}
	if res := e.do(req{method: "GET", path: "/v1/user", auth: bearer(sec)}); res.status != 200 {
		t.Fatalf("acme_ token does not authenticate: %d", res.status)
	}
}

func TestBadInputGets4xxProblem(t *testing.T) {
	e := newTestEnv(t, func(c *Config) { c.MaxLifetime = 24 * time.Hour })
	e.addUser("alice", "pw")
	auth := bearer(e.login("alice", "pw"))
	past := e.clock.Now().Add(-time.Hour).Format(time.RFC3339)
	soon := e.clock.Now().Add(30 * time.Second).Format(time.RFC3339)
	far := e.clock.Now().Add(25 * time.Hour).Format(time.RFC3339)
	huge := `{"name":"x","description":"` + strings.Repeat("a", 1<<20) + `"}`

	tests := []struct {
		name      string
		req       req
		status    int
		code      string
		detailHas string
	}{
		{"truncated JSON", req{method: "POST", path: "/v1/tokens", body: `{"name":"a",`}, 400, api.CodeInvalidJSON, "truncated"},
		{"malformed JSON", req{method: "POST", path: "/v1/tokens", body: `{"name" "a"}`}, 400, api.CodeInvalidJSON, "malformed JSON"},
		{"empty body", req{method: "POST", path: "/v1/tokens", body: " ", contentType: "application/json"}, 400, api.CodeInvalidJSON, "empty"},
		{"two JSON values", req{method: "POST", path: "/v1/tokens", body: `{"name":"a"} {"name":"b"}`}, 400, api.CodeInvalidJSON, "exactly one"},
		{"array instead of object", req{method: "POST", path: "/v1/tokens", body: `[{"name":"a"}]`}, 400, api.CodeInvalidJSON, "object"},
		{"unknown field", req{method: "POST", path: "/v1/tokens", body: `{"name":"a","permissions":["admin"]}`}, 400, api.CodeInvalidJSON, `"permissions"`},
		{"unknown scope", req{method: "POST", path: "/v1/tokens", body: `{"name":"a","scopes":["admin"]}`}, 400, api.CodeValidation, `admin`},
		{"malformed scope", req{method: "POST", path: "/v1/tokens", body: `{"name":"a","scopes":["Deploy Write"]}`}, 400, api.CodeValidation, `malformed`},
		{"malformed scope filter", req{method: "GET", path: "/v1/tokens?scope=BAD!"}, 400, api.CodeBadRequest, `malformed`},
		{"malformed scope check", req{method: "GET", path: "/v1/auth/check?scope=BAD!"}, 400, api.CodeBadRequest, `malformed`},
		{"duplicate field", req{method: "POST", path: "/v1/tokens", body: `{"name":"a","name":"b"}`}, 400, api.CodeInvalidJSON, `"name" appears twice`},
		{"duplicate field differing in case", req{method: "POST", path: "/v1/tokens", body: `{"name":"a","Name":"b"}`}, 400, api.CodeInvalidJSON, `appears twice`},
		{"null instead of object", req{method: "POST", path: "/v1/tokens", body: `null`}, 400, api.CodeInvalidJSON, "object"},
		{"wrong field type", req{method: "POST", path: "/v1/tokens", body: `{"name":5}`}, 400, api.CodeInvalidJSON, `"name"`},
		{"fractional lifetime", req{method: "POST", path: "/v1/tokens", body: `{"name":"a","expires_in_seconds":60.5}`}, 400, api.CodeInvalidJSON, "expires_in_seconds"},
		{"unparseable expires_at", req{method: "POST", path: "/v1/tokens", body: `{"name":"a","expires_at":"tomorrow"}`}, 400, api.CodeInvalidJSON, "RFC 3339"},
		{"text/plain content type", req{method: "POST", path: "/v1/tokens", body: `{"name":"a"}`, contentType: "text/plain"}, 415, api.CodeUnsupportedMedia, "application/json"},
		{"form content type", req{method: "POST", path: "/v1/tokens", body: `name=a`, contentType: "application/x-www-form-urlencoded"}, 415, api.CodeUnsupportedMedia, "application/json"},
		{"missing content type", req{method: "POST", path: "/v1/tokens", body: `{"name":"a"}`, contentType: "-"}, 415, api.CodeUnsupportedMedia, "Content-Type"},
		{"oversized body", req{method: "POST", path: "/v1/tokens", body: huge}, 413, api.CodeBodyTooLarge, "larger than"},
		{"empty name", req{method: "POST", path: "/v1/tokens", json: map[string]any{"name": ""}}, 400, api.CodeValidation, "name must not be empty"},
		{"missing name", req{method: "POST", path: "/v1/tokens", json: map[string]any{"description": "d"}}, 400, api.CodeValidation, "name must not be empty"},
		{"blank name", req{method: "POST", path: "/v1/tokens", json: map[string]any{"name": "   "}}, 400, api.CodeValidation, "name must not be empty"},
		{"name over 100 characters", req{method: "POST", path: "/v1/tokens", json: map[string]any{"name": strings.Repeat("n", 101)}}, 400, api.CodeValidation, "maximum is 100"},
		{"name with a control character", req{method: "POST", path: "/v1/tokens", json: map[string]any{"name": "bad\x1bname"}}, 400, api.CodeValidation, "control characters"},
		{"name with a newline", req{method: "POST", path: "/v1/tokens", json: map[string]any{"name": "two\nlines"}}, 400, api.CodeValidation, "control characters"},
		{"name with invalid UTF-8", req{method: "POST", path: "/v1/tokens", body: "{\"name\":\"a\xff\"}"}, 400, api.CodeInvalidJSON, "UTF-8"},
		{"description over 1000 characters", req{method: "POST", path: "/v1/tokens", json: map[string]any{"name": "a", "description": strings.Repeat("d", 1001)}}, 400, api.CodeValidation, "maximum is 1000"},
		{"lifetime below the minimum", req{method: "POST", path: "/v1/tokens", json: map[string]any{"name": "a", "expires_in_seconds": 59}}, 400, api.CodeValidation, "at least 60"},
		{"zero lifetime", req{method: "POST", path: "/v1/tokens", json: map[string]any{"name": "a", "expires_in_seconds": 0}}, 400, api.CodeValidation, "at least 60"},
		{"negative lifetime", req{method: "POST", path: "/v1/tokens", json: map[string]any{"name": "a", "expires_in_seconds": -3600}}, 400, api.CodeValidation, "positive"},
		{"lifetime above the maximum", req{method: "POST", path: "/v1/tokens", json: map[string]any{"name": "a", "expires_in_seconds": 86401}}, 400, api.CodeValidation, "at most 86400"},
		{"lifetime overflowing int64", req{method: "POST", path: "/v1/tokens", body: `{"name":"a","expires_in_seconds":99999999999999999999}`}, 400, api.CodeInvalidJSON, "expires_in_seconds"},
		{"expires_at in the past", req{method: "POST", path: "/v1/tokens", json: map[string]any{"name": "a", "expires_at": past}}, 400, api.CodeValidation, "in the past"},
		{"expires_at under a minute away", req{method: "POST", path: "/v1/tokens", json: map[string]any{"name": "a", "expires_at": soon}}, 400, api.CodeValidation, "at least 1 minute"},
		{"expires_at beyond the maximum", req{method: "POST", path: "/v1/tokens", json: map[string]any{"name": "a", "expires_at": far}}, 400, api.CodeValidation, "maximum lifetime"},
		{"both expiry fields", req{method: "POST", path: "/v1/tokens", json: map[string]any{"name": "a", "expires_in_seconds": 600, "expires_at": far}}, 400, api.CodeValidation, "not both"},
		{"over-long idempotency key", req{method: "POST", path: "/v1/tokens", json: map[string]any{"name": "a"}, header: map[string]string{"Idempotency-Key": strings.Repeat("k", 256)}}, 400, api.CodeBadRequest, "Idempotency-Key"},
		{"idempotency key with spaces", req{method: "POST", path: "/v1/tokens", json: map[string]any{"name": "a"}, header: map[string]string{"Idempotency-Key": "a b"}}, 400, api.CodeBadRequest, "Idempotency-Key"},

		{"null lifetime", req{method: "POST", path: "/v1/tokens", body: `{"name":"a","expires_in_seconds":null}`}, 400, api.CodeInvalidJSON, `"expires_in_seconds" must not be null`},
		{"null expires_at", req{method: "POST", path: "/v1/tokens", body: `{"name":"a","expires_at":null}`}, 400, api.CodeInvalidJSON, `"expires_at" must not be null`},
		{"null description", req{method: "POST", path: "/v1/tokens", body: `{"name":"a","description":null}`}, 400, api.CodeInvalidJSON, `"description" must not be null`},
		{"null ids", req{method: "POST", path: "/v1/tokens/delete", body: `{"ids":null}`}, 400, api.CodeInvalidJSON, `"ids" must not be null`},
		{"empty idempotency key", req{method: "POST", path: "/v1/tokens", json: map[string]any{"name": "a"}, header: map[string]string{"Idempotency-Key": ""}}, 400, api.CodeBadRequest, "Idempotency-Key is empty"},
		{"lone high surrogate", req{method: "POST", path: "/v1/tokens", body: `{"name":"a\ud800"}`}, 400, api.CodeInvalidJSON, "surrogate"},
		{"lone low surrogate", req{method: "POST", path: "/v1/tokens", body: `{"name":"a","description":"\udc00x"}`}, 400, api.CodeInvalidJSON, "surrogate"},
		{"reversed surrogate pair", req{method: "POST", path: "/v1/tokens", body: `{"name":"\udc00\ud800"}`}, 400, api.CodeInvalidJSON, "surrogate"},
		{"name of a zero-width space", req{method: "POST", path: "/v1/tokens", json: map[string]any{"name": "\u200b"}}, 400, api.CodeValidation, "visible character"},
		{"name of invisible characters", req{method: "POST", path: "/v1/tokens", json: map[string]any{"name": "\u200b\u2060\u3164 \ufeff"}}, 400, api.CodeValidation, "visible character"},
		{"name with a bidi override", req{method: "POST", path: "/v1/tokens", json: map[string]any{"name": "abc\u202egpj.exe"}}, 400, api.CodeValidation, "bidirectional"},
		{"name with a bidi isolate", req{method: "POST", path: "/v1/tokens", json: map[string]any{"name": "a\u2067b"}}, 400, api.CodeValidation, "U+2067"},
		{"description with a bidi embedding", req{method: "POST", path: "/v1/tokens", json: map[string]any{"name": "a", "description": "x\u202ay"}}, 400, api.CodeValidation, "bidirectional"},

		{"list limit zero", req{method: "GET", path: "/v1/tokens?limit=0"}, 400, api.CodeBadRequest, "limit"},
		{"list limit over 1000", req{method: "GET", path: "/v1/tokens?limit=1001"}, 400, api.CodeBadRequest, "limit"},
		{"list limit not a number", req{method: "GET", path: "/v1/tokens?limit=ten"}, 400, api.CodeBadRequest, "limit"},
		{"list unknown status", req{method: "GET", path: "/v1/tokens?status=revoked"}, 400, api.CodeBadRequest, "status"},
		{"list with a malformed query string", req{method: "GET", path: "/v1/tokens?cursor=%%%"}, 400, api.CodeBadRequest, "query string"},
		{"list cursor of garbage base64", req{method: "GET", path: "/v1/tokens?cursor=aGVsbG8"}, 400, api.CodeBadRequest, "cursor"},
		{"list name glob with control character", req{method: "GET", path: "/v1/tokens?name=%07"}, 400, api.CodeBadRequest, "control"},

		{"get malformed id", req{method: "GET", path: "/v1/tokens/not-an-id"}, 404, api.CodeNotFound, "no token"},
		{"get unknown id", req{method: "GET", path: "/v1/tokens/" + store.NewID(time.Now())}, 404, api.CodeNotFound, "no token"},
		{"delete malformed id", req{method: "DELETE", path: "/v1/tokens/01%2F..%2Fx"}, 404, api.CodeNotFound, "no token"},
		{"delete unknown id", req{method: "DELETE", path: "/v1/tokens/" + store.NewID(time.Now())}, 404, api.CodeNotFound, "no token"},
		{"rotate malformed id", req{method: "POST", path: "/v1/tokens/ZZZ/rotate"}, 404, api.CodeNotFound, "no token"},
		{"rotate unknown id", req{method: "POST", path: "/v1/tokens/" + store.NewID(time.Now()) + "/rotate"}, 404, api.CodeNotFound, "no token"},

		{"bulk delete of no ids", req{method: "POST", path: "/v1/tokens/delete", json: map[string]any{"ids": []string{}}}, 400, api.CodeValidation, "1 to 1000"},
		{"bulk delete without ids", req{method: "POST", path: "/v1/tokens/delete", body: `{}`}, 400, api.CodeValidation, "1 to 1000"},
		{"bulk delete of 1001 ids", req{method: "POST", path: "/v1/tokens/delete", json: map[string]any{"ids": make([]string, 1001)}}, 400, api.CodeValidation, "got 1001"},
		{"bulk delete malformed JSON", req{method: "POST", path: "/v1/tokens/delete", body: `{"ids":[1,2`}, 400, api.CodeInvalidJSON, "truncated"},
		{"bulk delete duplicate field", req{method: "POST", path: "/v1/tokens/delete", body: `{"ids":["a"],"ids":[]}`}, 400, api.CodeInvalidJSON, `"ids" appears twice`},
		{"bulk delete null id", req{method: "POST", path: "/v1/tokens/delete", body: `{"ids":[null]}`}, 400, api.CodeInvalidJSON, "ids"},
		{"bulk delete ids not strings", req{method: "POST", path: "/v1/tokens/delete", body: `{"ids":[1,2]}`}, 400, api.CodeInvalidJSON, "ids"},
		{"bulk delete wrong content type", req{method: "POST", path: "/v1/tokens/delete", body: `{"ids":["a"]}`, contentType: "text/csv"}, 415, api.CodeUnsupportedMedia, "application/json"},
		{"bulk delete oversized", req{method: "POST", path: "/v1/tokens/delete", body: huge}, 413, api.CodeBodyTooLarge, "larger than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.req.auth = auth
			res := e.do(tt.req)
			if res.status != tt.status {
				t.Fatalf("status %d, want %d: %s", res.status, tt.status, res.body)
			}
			p := res.problem(t)
			if p.Code != tt.code {
				t.Errorf("code %q, want %q", p.Code, tt.code)
			}
			if !strings.Contains(p.Detail, tt.detailHas) {
				t.Errorf("detail %q does not mention %q", p.Detail, tt.detailHas)
			}
		})
	}
	// None of the refused creates left a token behind.
	res := e.do(req{method: "GET", path: "/v1/tokens", auth: auth})
	var page api.TokenPage
	res.decode(t, &page)
	if len(page.Items) != 1 {
		t.Errorf("bad requests created tokens: %d listed, want only the login token", len(page.Items))
	}
}

func TestUndeclaredOversizedBodyIs413(t *testing.T) {
	e := newTestEnv(t)
	e.addUser("alice", "pw")
	auth := bearer(e.login("alice", "pw"))
	// Chunked: no Content-Length, so the limit trips while decoding.
	body := `{"name":"x","description":"` + strings.Repeat("a", 2<<20) + `"}`
	r, _ := http.NewRequest("POST", "/v1/tokens", strings.NewReader(body))
	r.ContentLength = -1
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("Authorization", auth)
	r.RemoteAddr = "192.0.2.1:1"
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, r)
	res := resp{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
	if res.status != 413 || res.problem(t).Code != api.CodeBodyTooLarge {
		t.Fatalf("status %d: %s", res.status, res.body)
	}
}

func TestUnknownRoutesAndMethodsAreProblems(t *testing.T) {
	e := newTestEnv(t)
	tests := []struct {
		method, path string
		status       int
		allow        string
	}{
		{"GET", "/", 404, ""},
		{"GET", "/v2/tokens", 404, ""},
		{"GET", "/v1/tokens/a/b/c", 404, ""},
		{"GET", "/v1//tokens", 404, ""},
		{"GET", "/v1/./user", 404, ""},
		{"GET", "/v1/tokens/", 404, ""},
		{"PUT", "/v1/tokens", 405, "GET, POST, HEAD"},
		{"PATCH", "/v1/tokens/01jd5x3k9q8w7e6r5t4y3z2a1b", 405, "GET, DELETE, HEAD"},
		{"POST", "/healthz", 405, "GET, HEAD"},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			res := e.do(req{method: tt.method, path: tt.path})
			if res.status != tt.status {
				t.Fatalf("status %d, want %d", res.status, tt.status)
			}
			res.problem(t)
			if got := res.header.Get("Allow"); got != tt.allow {
				t.Errorf("Allow = %q, want %q", got, tt.allow)
			}
		})
	}
}

func TestHealthAndReadiness(t *testing.T) {
	e := newTestEnv(t)
	for _, path := range []string{"/healthz", "/readyz"} {
		res := e.do(req{method: "GET", path: path})
		var h api.Health
		res.decode(t, &h)
		if res.status != 200 || h.Status != "ok" {
			t.Errorf("%s: %d %s", path, res.status, res.body)
		}
	}
	e.st.Close()
	res := e.do(req{method: "GET", path: "/readyz"})
	var h api.Health
	res.decode(t, &h)
	if res.status != 503 || h.Status != "unavailable" {
		t.Errorf("/readyz with a closed store: %d %s", res.status, res.body)
	}
}

func TestAuthentication(t *testing.T) {
	e := newTestEnv(t, func(c *Config) { c.AuthFailures = 1000 })
	e.addUser("alice", "alice-pw")
	good := e.login("alice", "alice-pw")
	// A well-formed token with a valid checksum that was never issued.
	unknown, _ := secret.Generate(secret.DefaultPrefix)
	// The right shape with one character changed: the checksum catches it.
	// (Swap to another base62 character: flipping a bit turned 'z' into
	// '{' one run in 31, which is malformed rather than mistyped.)
	swap := byte('a')
	if good[10] == 'a' {
		swap = 'b'
	}
	typo := good[:10] + string(swap) + good[11:]

	tests := []struct {
		name       string
		auth       string
		status     int
		detailHas  string
		reachStore bool
	}{
		{"no credentials", "", 401, "missing credentials", false},
		{"unknown scheme", "Digest abc", 401, "unsupported authorization scheme", false},
		{"empty bearer", "Bearer ", 401, "not a well-formed token", false},
		{"garbage bearer", "Bearer hello", 401, "not a well-formed token", false},
		{"mistyped token", bearer(typo), 401, "checksum", false},
		{"truncated token", bearer(good[:len(good)-1]), 401, "", false},
		{"never-issued token", bearer(unknown.String()), 401, "unknown, deleted or rotated", true},
		{"valid token", bearer(good), 200, "", true},
		{"bearer scheme is case-insensitive", "bearer " + good, 200, "", true},
		{"wrong password", basic("alice", "nope"), 401, "wrong username or password", false},
		{"unknown user", basic("mallory", "alice-pw"), 401, "wrong username or password", false},
		{"malformed basic", "Basic !!!", 401, "malformed Basic", false},
		{"right password", basic("alice", "alice-pw"), 200, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := e.st.digestLookups.Load()
			res := e.do(req{method: "GET", path: "/v1/user", auth: tt.auth})
			if res.status != tt.status {
				t.Fatalf("status %d, want %d: %s", res.status, tt.status, res.body)
			}
			if reached := e.st.digestLookups.Load() > before; reached != tt.reachStore {
				t.Errorf("store asked = %v, want %v", reached, tt.reachStore)
			}
			if tt.status != 401 {
				return
			}
			p := res.problem(t)
			if p.Code != api.CodeUnauthorized || !strings.Contains(p.Detail, tt.detailHas) {
				t.Errorf("problem %+v, want detail with %q", p, tt.detailHas)
			}
			if got := res.header.Get("WWW-Authenticate"); !strings.Contains(got, `Bearer realm="tokend"`) || !strings.Contains(got, "Basic") {
				t.Errorf("WWW-Authenticate = %q", got)
			}
		})
	}
}

func TestExpiredTokenFailsOnTheNextRequest(t *testing.T) {
	e := newTestEnv(t)
	e.addUser("alice", "pw")
	login := bearer(e.login("alice", "pw"))
	short := e.create(login, map[string]any{"name": "short", "expires_in_seconds": 60})

	if res := e.do(req{method: "GET", path: "/v1/user", auth: bearer(short.Secret)}); res.status != 200 {
		t.Fatalf("fresh token: %d", res.status)
	}
	e.clock.Advance(59 * time.Second)
	if res := e.do(req{method: "GET", path: "/v1/user", auth: bearer(short.Secret)}); res.status != 200 {
		t.Fatalf("token one second before expiry: %d", res.status)
	}
	e.clock.Advance(time.Second)
	res := e.do(req{method: "GET", path: "/v1/user", auth: bearer(short.Secret)})
	if res.status != 401 || !strings.Contains(res.problem(t).Detail, "expired") {
		t.Fatalf("expired token: %d %s", res.status, res.body)
	}

	for status, want := range map[string][]string{
		"expired": {short.ID},
		"active":  {}, // the login token expires in 30 days; filled below
		"all":     {},
	} {
		res := e.do(req{method: "GET", path: "/v1/tokens?status=" + status, auth: login})
		var page api.TokenPage
		res.decode(t, &page)
		switch status {
		case "expired":
			if len(page.Items) != 1 || page.Items[0].ID != want[0] || page.Items[0].Status != api.StatusExpired {
				t.Errorf("status=expired lists %s", res.body)
			}
		case "active":
			for _, it := range page.Items {
				if it.ID == short.ID || it.Status != api.StatusActive {
					t.Errorf("status=active lists %s", res.body)
				}
			}
		case "all":
			if len(page.Items) != 2 {
				t.Errorf("status=all lists %d tokens, want 2", len(page.Items))
			}
		}
	}
}

func TestLastUsedAtIsWrittenAtMostOncePerMinute(t *testing.T) {
	e := newTestEnv(t)
	e.addUser("alice", "pw")
	sec := e.login("alice", "pw")
	lastUsed := func() time.Time {
		res := e.do(req{method: "GET", path: "/v1/user", auth: bearer(sec)})
		var u api.User
		res.decode(t, &u)
		if u.Token == nil || u.Token.LastUsedAt == nil {
			t.Fatalf("no last_used_at: %s", res.body)
		}
		return *u.Token.LastUsedAt
	}
	first := lastUsed()
	e.clock.Advance(30 * time.Second)
	if got := lastUsed(); !got.Equal(first) {
		t.Errorf("last_used_at moved after 30s: %s -> %s", first, got)
	}
	e.clock.Advance(31 * time.Second)
	if got := lastUsed(); !got.After(first) {
		t.Errorf("last_used_at did not move after 61s: %s -> %s", first, got)
	}
}

func TestUsersSeeOnlyTheirOwnTokens(t *testing.T) {
	e := newTestEnv(t)
	e.addUser("alice", "pw-a")
	e.addUser("bob", "pw-b")
	alice := bearer(e.login("alice", "pw-a"))
	bob := bearer(e.login("bob", "pw-b"))
	secretOfAlice := e.create(alice, map[string]any{"name": "alice-only"})

	for _, rq := range []req{
		{method: "GET", path: "/v1/tokens/" + secretOfAlice.ID},
		{method: "DELETE", path: "/v1/tokens/" + secretOfAlice.ID},
		{method: "POST", path: "/v1/tokens/" + secretOfAlice.ID + "/rotate"},
	} {
		rq.auth = bob
		res := e.do(rq)
		if res.status != 404 || res.problem(t).Code != api.CodeNotFound {
			t.Errorf("bob %s alice's token: %d, want 404", rq.method, res.status)
		}
	}
	res := e.do(req{method: "POST", path: "/v1/tokens/delete", auth: bob, json: api.BulkDeleteRequest{IDs: []string{secretOfAlice.ID}}})
	var bd api.BulkDeleteResult
	res.decode(t, &bd)
	if len(bd.Deleted) != 0 || len(bd.NotFound) != 1 {
		t.Errorf("bob bulk-deleting alice's token: %s", res.body)
	}
	res = e.do(req{method: "GET", path: "/v1/tokens", auth: bob})
	var page api.TokenPage
	res.decode(t, &page)
	for _, it := range page.Items {
		if it.ID == secretOfAlice.ID {
			t.Error("bob's list shows alice's token")
		}
	}
	// Alice's token survived all of that.
	if res := e.do(req{method: "GET", path: "/v1/user", auth: bearer(secretOfAlice.Secret)}); res.status != 200 {
		t.Errorf("alice's token after bob's attempts: %d", res.status)
	}
}

func TestBulkDeleteReportsEveryID(t *testing.T) {
	e := newTestEnv(t)
	e.addUser("alice", "pw")
	e.addUser("bob", "pw")
	alice := bearer(e.login("alice", "pw"))
	bobs := e.create(bearer(e.login("bob", "pw")), map[string]any{"name": "b"})
	a1 := e.create(alice, map[string]any{"name": "a1"})
	a2 := e.create(alice, map[string]any{"name": "a2"})
	unknown := store.NewID(time.Now())

	ids := []string{a1.ID, "not-an-id", unknown, bobs.ID, a2.ID, a1.ID, ""}
	res := e.do(req{method: "POST", path: "/v1/tokens/delete", auth: alice, json: api.BulkDeleteRequest{IDs: ids}})
	if res.status != 200 {
		t.Fatalf("bulk delete: %d %s", res.status, res.body)
	}
	var got api.BulkDeleteResult
	res.decode(t, &got)
	wantDeleted := []string{a1.ID, a2.ID}
	wantNotFound := []string{"not-an-id", unknown, bobs.ID, a1.ID, ""}
	if fmt.Sprint(got.Deleted) != fmt.Sprint(wantDeleted) || fmt.Sprint(got.NotFound) != fmt.Sprint(wantNotFound) {
		t.Fatalf("got deleted=%v not_found=%v\nwant deleted=%v not_found=%v", got.Deleted, got.NotFound, wantDeleted, wantNotFound)
	}
	for _, s := range []string{a1.Secret, a2.Secret} {
		if res := e.do(req{method: "GET", path: "/v1/user", auth: bearer(s)}); res.status != 401 {
			t.Errorf("bulk-deleted token still authenticates: %d", res.status)
		}
	}
	// Nothing to delete still answers with two empty arrays, never null.
	res = e.do(req{method: "POST", path: "/v1/tokens/delete", auth: alice, json: api.BulkDeleteRequest{IDs: []string{unknown}}})
	if !strings.Contains(string(res.body), `"deleted":[]`) {
		t.Errorf("empty deleted list is not []: %s", res.body)
	}
}

func TestBulkDeleteOfAThousand(t *testing.T) {
	e := newTestEnv(t)
	u := e.addUser("alice", "pw")
	auth := bearer(e.login("alice", "pw"))
	ids := seedTokens(t, e.st, u, 1000)
	res := e.do(req{method: "POST", path: "/v1/tokens/delete", auth: auth, json: api.BulkDeleteRequest{IDs: ids}})
	var got api.BulkDeleteResult
	res.decode(t, &got)
	if len(got.Deleted) != 1000 || len(got.NotFound) != 0 {
		t.Fatalf("deleted %d, not found %d; want 1000, 0", len(got.Deleted), len(got.NotFound))
	}
}

func TestListPaginatesNewestFirst(t *testing.T) {
	e := newTestEnv(t)
	e.addUser("alice", "pw")
	auth := bearer(e.login("alice", "pw"))
	var made []string
	for i := range 24 {
		name := fmt.Sprintf("ci-%02d", i)
		if i%2 == 1 {
			name = fmt.Sprintf("dev-%02d", i)
		}
		made = append(made, e.create(auth, map[string]any{"name": name}).ID)
		e.clock.Advance(time.Millisecond)
	}
	collect := func(query string) (ids []string, pages int) {
		cursor := ""
		for {
			path := "/v1/tokens?limit=10" + query
			if cursor != "" {
				path += "&cursor=" + cursor
			}
			res := e.do(req{method: "GET", path: path, auth: auth})
			if res.status != 200 {
				t.Fatalf("list %s: %d %s", path, res.status, res.body)
			}
			var page api.TokenPage
			res.decode(t, &page)
			pages++
			for _, it := range page.Items {
				ids = append(ids, it.ID)
			}
			if page.NextCursor == nil {
				return ids, pages
			}
			cursor = *page.NextCursor
		}
	}
	all, pages := collect("")
	if len(all) != 25 || pages != 3 {
		t.Fatalf("listed %d tokens in %d pages, want 25 in 3", len(all), pages)
	}
	for i := 1; i < len(all); i++ {
		if all[i-1] <= all[i] {
			t.Fatalf("not newest first at %d: %s then %s", i, all[i-1], all[i])
		}
	}
	if all[0] != made[len(made)-1] {
		t.Errorf("first listed %s, want the newest %s", all[0], made[len(made)-1])
	}
	ci, pages := collect("&name=ci-*")
	if len(ci) != 12 || pages != 2 {
		t.Errorf("name=ci-* listed %d in %d pages, want 12 in 2", len(ci), pages)
	}
	// A page that ends exactly at the last token has no next cursor.
	exact, pages := collect("&name=dev-*")
	if len(exact) != 12 || pages != 2 {
		t.Errorf("name=dev-* listed %d in %d pages", len(exact), pages)
	}
}

// seedTokens inserts n tokens for u straight through the store.
func seedTokens(tb testing.TB, st store.Store, u store.User, n int) []string {
	tb.Helper()
	ids := make([]string, 0, n)
	now := time.Now().UTC()
	for i := range n {
		sec, err := secret.Generate(secret.DefaultPrefix)
		if err != nil {
			tb.Fatal(err)
		}
		at := now.Add(time.Duration(i) * time.Millisecond)
		tok, _, err := st.CreateToken(context.Background(), store.NewToken{
			ID: store.NewID(at), UserID: u.ID, Name: fmt.Sprintf("seed-%d", i), KeyHint: sec.Hint(),
			Digest: sec.Digest(), CreatedAt: at, ExpiresAt: at.Add(24 * time.Hour),
		})
		if err != nil {
			tb.Fatal(err)
		}
		ids = append(ids, tok.ID)
	}
	return ids
}

// A page is one store query: the row past the page tells whether another
// follows, with no second probe.
func TestListPageIsOneQuery(t *testing.T) {
	e := newTestEnv(t)
	u := e.addUser("alice", "pw")
	auth := bearer(e.login("alice", "pw"))
	seedTokens(t, e.st, u, 9) // 10 with the login token
	for _, tt := range []struct {
		limit    int
		wantNext bool
	}{{5, true}, {9, true}, {10, false}, {11, false}} {
		before := e.st.listQueries.Load()
		res := e.do(req{method: "GET", path: fmt.Sprintf("/v1/tokens?limit=%d", tt.limit), auth: auth})
		var page api.TokenPage
		res.decode(t, &page)
		if n := e.st.listQueries.Load() - before; n != 1 {
			t.Errorf("limit %d: %d store queries, want 1", tt.limit, n)
		}
		if len(page.Items) != min(tt.limit, 10) || (page.NextCursor != nil) != tt.wantNext {
			t.Errorf("limit %d: %d items, next_cursor %v; want %d, %v", tt.limit, len(page.Items), page.NextCursor, min(tt.limit, 10), tt.wantNext)
		}
	}
}

// A database file deleted while serving still takes writes (into an inode
// no restart will open): /readyz must say so.
func TestReadyzFailsWhenTheDatabaseFileIsDeleted(t *testing.T) {
	e := newTestEnv(t)
	if res := e.do(req{method: "GET", path: "/readyz"}); res.status != http.StatusOK {
		t.Fatalf("/readyz before: %d", res.status)
	}
	if err := os.Remove(e.dbPath); err != nil {
		t.Fatal(err)
	}
	res := e.do(req{method: "GET", path: "/readyz"})
	var h api.Health
	res.decode(t, &h)
	if res.status != http.StatusServiceUnavailable || h.Status != "unavailable" {
		t.Errorf("/readyz after the file was deleted: %d %s", res.status, res.body)
	}
	if !strings.Contains(e.logs.String(), "deleted") {
		t.Errorf("the log does not say why:\n%s", e.logs)
	}
}
