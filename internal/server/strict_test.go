package server

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tokenctl/tokenctl/internal/api"
)

// What the strict checks must still let through.
func TestStrictChecksKeepGoodInput(t *testing.T) {
	e := newTestEnv(t)
	e.addUser("alice", "pw")
	auth := bearer(e.login("alice", "pw"))
	for _, body := range []string{
		`{"name":"rocket \ud83d\ude80"}`,                             // a surrogate pair is one character
		`{"name":"caf\u00e9","description":"a\\ud800 is text here"}`, // an escaped backslash, not an escape
		`{"name":"שלום"}`,                                            // right-to-left text needs no control characters
		`{"name":"a\u200bb"}`,                                        // invisible characters beside visible ones
	} {
		if res := e.do(req{method: "POST", path: "/v1/tokens", body: body, auth: auth}); res.status != http.StatusCreated {
			t.Errorf("%s: %d %s", body, res.status, res.body)
		}
	}
}

func TestTwoAuthorizationHeadersAre400(t *testing.T) {
	e := newTestEnv(t)
	e.addUser("alice", "pw")
	good := bearer(e.login("alice", "pw"))
	r := httptest.NewRequest("GET", "/v1/user", nil)
	r.Header.Add("Authorization", good)
	r.Header.Add("Authorization", "Bearer nope")
	r.RemoteAddr = "192.0.2.1:1"
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, r)
	res := resp{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
	if res.status != http.StatusBadRequest {
		t.Fatalf("two Authorization headers: %d, want 400: %s", res.status, res.body)
	}
	if p := res.problem(t); p.Code != api.CodeBadRequest {
		t.Errorf("code %q", p.Code)
	}
	checkAgainstSpec(t, r, rec.Result())
}

// 413 is in the contract of every operation, not only those that read a
// body: an oversized body is refused before routing.
func TestOversizedBodyIs413OnEveryOperation(t *testing.T) {
	e := newTestEnv(t, func(c *Config) { c.MaxBodyBytes = 16 })
	big := `{"ids":["` + strings.Repeat("a", 64) + `"]}`
	for _, rt := range Routes() {
		method, path, _ := strings.Cut(rt, " ")
		path = strings.ReplaceAll(path, "{id}", "01jd5x3k9q8w7e6r5t4y3z2a1b")
		res := e.do(req{method: method, path: path, body: big})
		if res.status != http.StatusRequestEntityTooLarge {
			t.Errorf("%s: %d, want 413", rt, res.status)
			continue
		}
		res.problem(t)
	}
}
