package server

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tokenctl/tokenctl/internal/api"
)

// fuzzEnv is shared by a fuzz target's iterations: opening SQLite per input
// would make fuzzing crawl.
func fuzzEnv(f *testing.F) (*testEnv, string) {
	e := newTestEnv(f, func(c *Config) { c.AuthFailures = 1 << 30 })
	e.validate = false
	e.addUser("alice", "pw")
	return e, bearer(e.login("alice", "pw"))
}

func serveRaw(e *testEnv, method, path, contentType, auth, body string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	if auth != "" {
		r.Header.Set("Authorization", auth)
	}
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, r)
	return rec
}

// FuzzDecodeCreateRequest: whatever the body of a create, the answer is a
// 201 or a 4xx problem+json, never a 500 or a panic.
func FuzzDecodeCreateRequest(f *testing.F) {
	for _, seed := range []string{
		`{"name":"a"}`, `{"name":"a","expires_in_seconds":60}`, `{"name":"a","expires_at":"2030-01-01T00:00:00Z"}`,
		`{"name":"a",`, `{}`, `[]`, `null`, `"x"`, `{"name":"\u0000"}`, `{"name":"a","expires_in_seconds":-1e400}`,
		`{"name":"a","expires_at":"0000-00-00T00:00:00Z"}`, `{"name":"a"} x`, "{\"name\":\"\xff\"}",
		`{"name":"a","description":null,"expires_in_seconds":null}`, `{"NAME":"a"}`,
	} {
		f.Add(seed)
	}
	e, auth := fuzzEnv(f)
	f.Fuzz(func(t *testing.T, body string) {
		rec := serveRaw(e, "POST", "/v1/tokens", "application/json", auth, body)
		switch {
		case rec.Code == http.StatusCreated:
		case rec.Code >= 400 && rec.Code < 500:
			if ct := rec.Header().Get("Content-Type"); ct != api.ProblemContentType {
				t.Fatalf("%d with content type %q", rec.Code, ct)
			}
		default:
			t.Fatalf("status %d for body %q: %s", rec.Code, body, rec.Body)
		}
	})
}

// FuzzAuthorizationHeader: any Authorization header is either accepted or a
// 401 problem, never a 500 or a panic; token parsing runs first.
func FuzzAuthorizationHeader(f *testing.F) {
	for _, seed := range []string{"Bearer tkn_", "Bearer ", "Basic Og==", "Basic !!!", "bearer x y",
		"Bearer tkn_000000000000000000000000000000000000", "Bearer _" + strings.Repeat("A", 36), "Basic YTpi"} {
		f.Add(seed)
	}
	e, good := fuzzEnv(f)
	f.Add(good)
	f.Fuzz(func(t *testing.T, header string) {
		if strings.ContainsAny(header, "\r\n") {
			return // not a header a client can send
		}
		rec := serveRaw(e, "GET", "/v1/user", "", header, "")
		if rec.Code != 200 && rec.Code != 401 {
			t.Fatalf("status %d for header %q: %s", rec.Code, header, rec.Body)
		}
	})
}

// FuzzListQuery: any query string on the listing is a page or a 400.
func FuzzListQuery(f *testing.F) {
	for _, seed := range []string{"limit=5", "cursor=abc", "status=x", "name=*", "limit=-1&cursor=%zz", "name=%00"} {
		f.Add(seed)
	}
	e, auth := fuzzEnv(f)
	f.Fuzz(func(t *testing.T, query string) {
		r, err := http.NewRequest("GET", "/v1/tokens?"+query, nil)
		if err != nil {
			return
		}
		r.Header.Set("Authorization", auth)
		rec := httptest.NewRecorder()
		e.h.ServeHTTP(rec, r)
		if rec.Code != 200 && rec.Code != 400 {
			t.Fatalf("status %d for query %q: %s", rec.Code, query, rec.Body)
		}
	})
}
