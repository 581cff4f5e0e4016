package auth_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/tokenctl/tokenctl/internal/api"
	"github.com/tokenctl/tokenctl/internal/cli/auth"
)

// auth status shows the scopes of the token in use (GET /v1/user carries
// them, issue 12), as a line and as a JSON array that is never null.
func TestStatusShowsScopes(t *testing.T) {
	var scopes []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/user" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(api.User{ID: "u1", Username: "alice", AuthMethod: api.AuthToken, Token: &api.Token{
			ID: "01jd8k2m4n5p6q7r8s9t0v1w2x", Name: "ci", KeyHint: "tkn_a1B2…x9Z0",
			ExpiresAt: time.Now().Add(72 * time.Hour), Status: api.StatusActive, Scopes: scopes}})
	}))
	defer srv.Close()
	e := newTestEnv(t)
	e.vars["TOKENCTL_TOKEN"] = otherServerToken(t)
	e.vars["TOKENCTL_HOST"] = srv.URL

	scopes = []string{"deploy:write", "tokens:read"}
	r := e.run("", "auth", "status")
	mustContain(t, "status", r.stdout, "  Scopes:        deploy:write tokens:read\n")
	r = e.run("", "auth", "status", "-o", "json")
	var doc auth.StatusJSON
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil || doc.Token == nil || !slices.Equal(doc.Token.Scopes, scopes) {
		t.Fatalf("status JSON: %v\n%s", err, r.stdout)
	}

	scopes = nil
	r = e.run("", "auth", "status")
	mustContain(t, "status without scopes", r.stdout, "  Scopes:        none")
	r = e.run("", "auth", "status", "-o", "json")
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil || doc.Token.Scopes == nil {
		t.Fatalf("scopes must be [] in JSON: %v\n%s", err, r.stdout)
	}
}
