package server

import (
	"fmt"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/tokenctl/tokenctl/internal/api"
	"github.com/tokenctl/tokenctl/internal/scope"
)

// A ?scope= filter or check names at most scope.MaxAsked scopes; the cap
// is package scope's, not a literal here.
func TestScopeQueriesNameAtMostMaxAsked(t *testing.T) {
	e := newTestEnv(t)
	e.addUser("alice", "pw")
	auth := bearer(e.login("alice", "pw"))
	names := func(n int) string {
		var s []string
		for i := range n {
			s = append(s, fmt.Sprintf("app:s%d", i))
		}
		return url.QueryEscape(strings.Join(s, " "))
	}
	for _, path := range []string{"/v1/tokens?scope=", "/v1/auth/check?scope="} {
		if res := e.do(req{method: "GET", path: path + names(scope.MaxAsked), auth: auth}); res.status == 400 {
			t.Errorf("%s with %d scopes: 400 %s", path, scope.MaxAsked, res.body)
		}
		res := e.do(req{method: "GET", path: path + names(scope.MaxAsked+1), auth: auth})
		if p := res.problem(t); res.status != 400 || p.Code != api.CodeBadRequest || !strings.Contains(p.Detail, fmt.Sprint("at most ", scope.MaxAsked)) {
			t.Errorf("%s with %d scopes: %d %+v; want 400 naming the cap", path, scope.MaxAsked+1, res.status, p)
		}
	}
}

// The create body's scopes become a scope.Set when decoded: sorted once,
// so the token, the stored row and the idempotency hash all see one order.
func TestCreateScopesAreASetFromTheBodyOn(t *testing.T) {
	e := newTestEnv(t)
	alice := e.addUser("alice", "pw")
	e.addScope("deploy:write")
	auth := basic("alice", "pw")
	first := e.do(req{method: "POST", path: "/v1/tokens", auth: auth, header: map[string]string{api.IdempotencyHeader: "k1"},
		body: `{"name":"d","scopes":["tokens:write","deploy:write","tokens:write"]}`})
	var ct api.CreatedToken
	first.decode(t, &ct)
	if first.status != 201 || !slices.Equal(ct.Scopes, []string{"deploy:write", "tokens:write"}) {
		t.Fatalf("create: %d scopes %q", first.status, ct.Scopes)
	}
	stored, err := e.st.GetToken(t.Context(), alice.ID, ct.ID)
	if err != nil || !slices.Equal(stored.Scopes, ct.Scopes) {
		t.Fatalf("stored scopes %q, %v; want %q", stored.Scopes, err, ct.Scopes)
	}
	// The same set in another order and with another duplicate is the same
	// request: a replay, not a key reused for something else.
	again := e.do(req{method: "POST", path: "/v1/tokens", auth: auth, header: map[string]string{api.IdempotencyHeader: "k1"},
		body: `{"name":"d","scopes":["deploy:write","deploy:write","tokens:write"]}`})
	var ct2 api.CreatedToken
	again.decode(t, &ct2)
	if again.status != 201 || again.header.Get(ReplayedHeader) != "true" || ct2.ID != ct.ID {
		t.Fatalf("reordered replay: %d %s", again.status, again.body)
	}
	// A wrong type still names the field, through Set's own decoder.
	res := e.do(req{method: "POST", path: "/v1/tokens", auth: auth, body: `{"name":"d","scopes":"deploy:write"}`})
	if p := res.problem(t); res.status != 400 || p.Code != api.CodeInvalidJSON || !strings.Contains(p.Detail, `"scopes" must be an array`) {
		t.Fatalf("scopes as a string: %d %+v", res.status, p)
	}
}

// docs/openapi.yaml states package scope's limits; they stay one number.
func TestOpenAPIStatesTheScopeLimits(t *testing.T) {
	spec, err := os.ReadFile(specPath())
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		text string
		n    int
	}{
		{fmt.Sprintf(`{type: string, maxLength: %d, example: "deploy:write"}`, scope.MaxLen), 2}, // create's scopes, a Scope's name
		{fmt.Sprintf("at most %d in all (400 beyond)", scope.MaxAsked), 2},                       // ?scope= on list and check
	} {
		if got := strings.Count(string(spec), c.text); got != c.n {
			t.Errorf("docs/openapi.yaml holds %q %d times, want %d", c.text, got, c.n)
		}
	}
}
