package client

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/tokenctl/tokenctl/internal/api"
)

// A filtered listing may answer empty pages that still carry a cursor (the
// server examines a bounded number of rows per page); the iterator must
// keep going until next_cursor is null, and send the scope filter on every
// page.
func TestListTokensFollowsEmptyPagesAndSendsScopes(t *testing.T) {
	pages := map[string]api.TokenPage{
		"":   {Items: []api.Token{}, NextCursor: ptr("c1")},
		"c1": {Items: []api.Token{}, NextCursor: ptr("c2")},
		"c2": {Items: []api.Token{{ID: "a", Scopes: []string{"deploy:write"}}}, NextCursor: ptr("c3")},
		"c3": {Items: []api.Token{}, NextCursor: nil},
	}
	var calls int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		if got := r.URL.Query()["scope"]; !slices.Equal(got, []string{"deploy:write", "tokens:read"}) {
			t.Errorf("scope params %q", got)
		}
		writeJSON(w, 200, pages[r.URL.Query().Get("cursor")])
	}))
	defer srv.Close()
	c, _ := newTestClient(t, srv.URL)
	var ids []string
	for tok, err := range c.ListTokens(context.Background(), ListQuery{Scopes: []string{"deploy:write", "tokens:read"}}) {
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, tok.ID)
	}
	if !slices.Equal(ids, []string{"a"}) || calls != 4 {
		t.Errorf("got %v in %d calls, want [a] in 4", ids, calls)
	}
}

func TestScopesAndCurrentToken(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/v1/scopes":
			writeJSON(w, 200, api.ScopeList{Items: []api.Scope{{Name: "deploy:write", Description: "deploy"}, {Name: "tokens:read", Builtin: true}}})
		case "/v1/tokens/current":
			writeJSON(w, 200, api.CurrentToken{Token: api.Token{ID: "t1", Scopes: []string{"deploy:write"}}, User: api.UserRef{ID: "u1", Username: "alice"}})
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	c, _ := newTestClient(t, srv.URL)
	sc, err := c.Scopes(context.Background())
	if err != nil || len(sc) != 2 || sc[0].Name != "deploy:write" || !sc[1].Builtin {
		t.Fatalf("Scopes() = %+v, %v", sc, err)
	}
	cur, err := c.CurrentToken(context.Background())
	if err != nil || cur.ID != "t1" || cur.User.Username != "alice" || !slices.Equal(cur.Scopes, []string{"deploy:write"}) {
		t.Fatalf("CurrentToken() = %+v, %v", cur, err)
	}
}

// The insufficient_scope extension members reach the caller.
func TestProblemCarriesScopes(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", api.ProblemContentType)
		w.Header().Set("WWW-Authenticate", `Bearer error="insufficient_scope", scope="tokens:write"`)
		w.WriteHeader(403)
		_, _ = w.Write([]byte(`{"type":"about:blank","title":"Forbidden","status":403,"detail":"this token lacks tokens:write","code":"insufficient_scope","required_scopes":["tokens:write"],"token_scopes":["deploy:write"]}`))
	}))
	defer srv.Close()
	c, _ := newTestClient(t, srv.URL)
	_, err := c.CreateToken(context.Background(), api.CreateTokenRequest{Name: "x"}, "")
	ae, ok := err.(*APIError)
	if !ok || ae.Code() != api.CodeInsufficientScope || !slices.Equal(ae.Problem.RequiredScopes, []string{"tokens:write"}) || !slices.Equal(ae.Problem.TokenScopes, []string{"deploy:write"}) {
		t.Fatalf("err = %#v", err)
	}
}
