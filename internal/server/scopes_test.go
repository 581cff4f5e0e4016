package server

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tokenctl/tokenctl/internal/api"
	"github.com/tokenctl/tokenctl/internal/scope"
	"github.com/tokenctl/tokenctl/internal/store"
)

func (e *testEnv) addScope(name string) {
	e.t.Helper()
	if err := e.st.CreateScope(context.Background(), store.Scope{Name: name, Description: "about " + name, CreatedAt: time.Now().UTC()}); err != nil {
		e.t.Fatalf("create scope %s: %v", name, err)
	}
}

// scopeProblemOf decodes a 403 insufficient_scope and checks its challenge.
func scopeProblemOf(t *testing.T, res resp, required ...string) scopeProblem {
	t.Helper()
	if res.status != http.StatusForbidden {
		t.Fatalf("status %d, want 403: %s", res.status, res.body)
	}
	res.problem(t)
	var p scopeProblem
	res.decode(t, &p)
	if p.Code != api.CodeInsufficientScope || !slices.Equal(p.RequiredScopes, required) || p.TokenScopes == nil {
		t.Fatalf("problem = %+v, want insufficient_scope requiring %q", p, required)
	}
	want := fmt.Sprintf(`Bearer error="insufficient_scope", scope="%s"`, strings.Join(required, " "))
	if got := res.header.Get("WWW-Authenticate"); got != want {
		t.Fatalf("WWW-Authenticate = %q, want %q", got, want)
	}
	return p
}

func TestScopedTokenCanDoOnlyWhatItsScopesAllow(t *testing.T) {
	e := newTestEnv(t)
	e.addUser("alice", "pw")
	e.addScope("deploy:write")
	login := bearer(e.login("alice", "pw"))
	victim := e.create(login, map[string]any{"name": "victim"})
	deploy := bearer(e.create(login, map[string]any{"name": "deployer", "scopes": []string{"deploy:write"}}).Secret)

	for _, c := range []struct {
		rq    req
		scope string
	}{
		{req{method: "GET", path: "/v1/tokens"}, scope.TokensRead},
		{req{method: "GET", path: "/v1/tokens/" + victim.ID}, scope.TokensRead},
		{req{method: "POST", path: "/v1/tokens", json: map[string]any{"name": "child"}}, scope.TokensWrite},
		{req{method: "DELETE", path: "/v1/tokens/" + victim.ID}, scope.TokensWrite},
		{req{method: "POST", path: "/v1/tokens/delete", json: map[string]any{"ids": []string{victim.ID}}}, scope.TokensWrite},
		{req{method: "POST", path: "/v1/tokens/" + victim.ID + "/rotate"}, scope.TokensWrite},
	} {
		c.rq.auth = deploy
		p := scopeProblemOf(t, e.do(c.rq), c.scope)
		if !slices.Equal(p.TokenScopes, []string{"deploy:write"}) || !strings.Contains(p.Detail, "deploy:write") {
			t.Errorf("%s %s: problem %+v does not name what the token has", c.rq.method, c.rq.path, p)
		}
	}
	// Nothing was touched.
	if res := e.do(req{method: "GET", path: "/v1/tokens/" + victim.ID, auth: login}); res.status != 200 {
		t.Fatalf("victim after refused requests: %d", res.status)
	}
	for _, path := range []string{"/v1/user", "/v1/tokens/current", "/v1/scopes", "/v1/auth/check?scope=deploy:write"} {
		if res := e.do(req{method: "GET", path: path, auth: deploy}); res.status/100 != 2 {
			t.Errorf("GET %s with a deploy-only token: %d %s", path, res.status, res.body)
		}
	}
	// A password is never short of a scope.
	if res := e.do(req{method: "GET", path: "/v1/tokens", auth: basic("alice", "pw")}); res.status != 200 {
		t.Fatalf("list with a password: %d", res.status)
	}
}

func TestDefaultScopes(t *testing.T) {
	e := newTestEnv(t)
	e.addUser("alice", "pw")
	e.addScope("deploy:write")
	e.addScope("app.read")
	byPassword := e.create(basic("alice", "pw"), map[string]any{"name": "all"})
	if want := []string{"app.read", "deploy:write", "tokens:read", "tokens:write"}; !slices.Equal(byPassword.Scopes, want) {
		t.Fatalf("password-made scopes = %q, want %q", byPassword.Scopes, want)
	}
	// Written out: a scope added later is not in it.
	e.addScope("later")
	if res := e.do(req{method: "GET", path: "/v1/auth/check?scope=later", auth: bearer(byPassword.Secret)}); res.status != 403 {
		t.Fatalf("token checked for a scope added after it: %d", res.status)
	}
	parent := e.create(bearer(byPassword.Secret), map[string]any{"name": "parent", "scopes": []string{"tokens:write", "deploy:write"}})
	child := e.create(bearer(parent.Secret), map[string]any{"name": "child"})
	if !slices.Equal(child.Scopes, parent.Scopes) {
		t.Fatalf("token-made default scopes = %q, want the parent's %q", child.Scopes, parent.Scopes)
	}
	none := e.create(bearer(parent.Secret), map[string]any{"name": "none", "scopes": []string{}})
	if none.Scopes == nil || len(none.Scopes) != 0 {
		t.Fatalf("scopes [] gave %#v", none.Scopes)
	}
	if res := e.do(req{method: "GET", path: "/v1/auth/check", auth: bearer(none.Secret)}); res.status != 204 || res.header.Get(HeaderTokenScopes) != "" {
		t.Fatalf("scopeless token on auth/check without scopes: %d %q", res.status, res.header.Get(HeaderTokenScopes))
	}
}

func TestChildNeverExceedsItsParent(t *testing.T) {
	e := newTestEnv(t)
	e.addUser("alice", "pw")
	e.addScope("deploy:write")
	login := bearer(e.login("alice", "pw"))
	parent := e.create(login, map[string]any{"name": "ci", "expires_in_seconds": 300, "scopes": []string{"tokens:write", "deploy:write"}})
	auth := bearer(parent.Secret)

	res := e.do(req{method: "POST", path: "/v1/tokens", auth: auth, json: map[string]any{"name": "x", "scopes": []string{"tokens:write", "tokens:read"}}})
	if p := res.problem(t); res.status != 403 || p.Code != api.CodeExceedsParent || !strings.Contains(p.Detail, "tokens:read") {
		t.Fatalf("child asking for a scope the parent lacks: %d %+v", res.status, p)
	}
	res = e.do(req{method: "POST", path: "/v1/tokens", auth: auth, json: map[string]any{"name": "x", "expires_in_seconds": 300 * 24 * 3600}})
	if p := res.problem(t); res.status != 403 || p.Code != api.CodeExceedsParent || !strings.Contains(p.Detail, parent.ExpiresAt.Format(time.RFC3339)) {
		t.Fatalf("child asking for a 300-day life under a 5-minute parent: %d %+v", res.status, p)
	}
	at := parent.ExpiresAt.Add(time.Second).Format(time.RFC3339)
	res = e.do(req{method: "POST", path: "/v1/tokens", auth: auth, json: map[string]any{"name": "x", "expires_at": at}})
	if p := res.problem(t); res.status != 403 || p.Code != api.CodeExceedsParent {
		t.Fatalf("child asking to outlive the parent by a second: %d %+v", res.status, p)
	}
	// No expiry asked: the default is cut to the parent's.
	child := e.create(auth, map[string]any{"name": "child", "scopes": []string{"deploy:write"}})
	if !child.ExpiresAt.Equal(parent.ExpiresAt) {
		t.Fatalf("child without an expiry expires %s, want the parent's %s", child.ExpiresAt, parent.ExpiresAt)
	}
	// Rotating a broader or longer-lived token would hand over its power.
	broad := e.create(login, map[string]any{"name": "broad"})
	res = e.do(req{method: "POST", path: "/v1/tokens/" + broad.ID + "/rotate", auth: auth})
	if p := res.problem(t); res.status != 403 || p.Code != api.CodeExceedsParent {
		t.Fatalf("narrow token rotating a broad one: %d %+v", res.status, p)
	}
	e.clock.Advance(time.Second) // rotated now, the child is cut to the parent's expiry (rotate_test.go)
	res = e.do(req{method: "POST", path: "/v1/tokens/" + child.ID + "/rotate", auth: auth})
	if res.status != 200 {
		t.Fatalf("rotating a child: %d %s", res.status, res.body)
	}
	res.decode(t, &child)
	// Deleting the parent leaves the child alone (documented).
	if res := e.do(req{method: "DELETE", path: "/v1/tokens/" + parent.ID, auth: login}); res.status != 204 {
		t.Fatalf("delete parent: %d", res.status)
	}
	if res := e.do(req{method: "GET", path: "/v1/auth/check?scope=deploy:write", auth: bearer(child.Secret)}); res.status != 204 {
		t.Fatalf("child after its parent was deleted: %d", res.status)
	}
}

func TestExpiredTokenCannotBeRotated(t *testing.T) {
	e := newTestEnv(t)
	e.addUser("alice", "pw")
	login := bearer(e.login("alice", "pw"))
	short := e.create(login, map[string]any{"name": "short", "expires_in_seconds": 60})
	e.clock.Advance(2 * time.Minute)
	res := e.do(req{method: "POST", path: "/v1/tokens/" + short.ID + "/rotate", auth: login})
	if p := res.problem(t); res.status != 409 || p.Code != api.CodeTokenExpired {
		t.Fatalf("rotate expired: %d %+v", res.status, p)
	}
	res = e.do(req{method: "GET", path: "/v1/tokens/" + short.ID, auth: login})
	var got api.Token
	res.decode(t, &got)
	if got.Status != api.StatusExpired {
		t.Fatalf("expired token after refused rotate: %+v", got)
	}
}

func TestLiveTokenCeiling(t *testing.T) {
	e := newTestEnv(t, func(c *Config) { c.MaxTokensPerUser = 3 })
	e.addUser("alice", "pw")
	login := bearer(e.login("alice", "pw"))
	e.create(login, map[string]any{"name": "a", "expires_in_seconds": 60})
	e.create(login, map[string]any{"name": "b"})
	res := e.do(req{method: "POST", path: "/v1/tokens", auth: login, json: map[string]any{"name": "c"}})
	if p := res.problem(t); res.status != 409 || p.Code != api.CodeTokenLimitReached || !strings.Contains(p.Detail, "3") {
		t.Fatalf("create past the ceiling: %d %+v", res.status, p)
	}
	e.clock.Advance(2 * time.Minute) // "a" expires and stops counting
	e.create(login, map[string]any{"name": "c"})
}

func TestCurrentToken(t *testing.T) {
	e := newTestEnv(t)
	u := e.addUser("alice", "pw")
	tok := e.create(basic("alice", "pw"), map[string]any{"name": "me", "scopes": []string{"tokens:read"}})
	res := e.do(req{method: "GET", path: "/v1/tokens/current", auth: bearer(tok.Secret)})
	var cur api.CurrentToken
	res.decode(t, &cur)
	if res.status != 200 || cur.ID != tok.ID || cur.User.ID != u.ID || cur.User.Username != "alice" || !slices.Equal(cur.Scopes, []string{"tokens:read"}) {
		t.Fatalf("current = %d %s", res.status, res.body)
	}
	res = e.do(req{method: "GET", path: "/v1/tokens/current", auth: basic("alice", "pw")})
	if p := res.problem(t); res.status != 400 || p.Code != api.CodeNotAToken || !strings.Contains(p.Detail, "password, not a token") {
		t.Fatalf("current with a password: %d %+v", res.status, p)
	}
}

func TestDeleteCurrentToken(t *testing.T) {
	e := newTestEnv(t)
	e.addScope("deploy:write")
	e.addUser("alice", "pw")
	// No tokens:write: the token may still end itself.
	tok := e.create(basic("alice", "pw"), map[string]any{"name": "ci", "scopes": []string{"deploy:write"}})
	other := e.create(basic("alice", "pw"), map[string]any{"name": "other"})
	res := e.do(req{method: "DELETE", path: "/v1/tokens/current", auth: bearer(tok.Secret)})
	if res.status != 204 {
		t.Fatalf("self-delete: %d %s", res.status, res.body)
	}
	if res = e.do(req{method: "GET", path: "/v1/tokens/current", auth: bearer(tok.Secret)}); res.status != 401 {
		t.Fatalf("deleted token still authenticates: %d", res.status)
	}
	if res = e.do(req{method: "GET", path: "/v1/tokens/" + other.ID, auth: bearer(other.Secret)}); res.status != 200 {
		t.Fatalf("self-delete touched another token: %d %s", res.status, res.body)
	}
	res = e.do(req{method: "DELETE", path: "/v1/tokens/current", auth: basic("alice", "pw")})
	if p := res.problem(t); res.status != 400 || p.Code != api.CodeNotAToken {
		t.Fatalf("self-delete with a password: %d %+v", res.status, p)
	}
	evs, _ := e.events(bearer(other.Secret), "&token_id="+tok.ID, 10)
	if len(evs) != 2 || evs[0].Type != api.EventTokenDeleted || evs[0].Actor.TokenID != tok.ID {
		t.Fatalf("self-delete event: %+v", evs)
	}
}

func TestAuthCheck(t *testing.T) {
	e := newTestEnv(t)
	e.addUser("alice", "pw")
	e.addScope("deploy:write")
	e.addScope("deploy:read")
	login := bearer(e.login("alice", "pw"))
	tok := e.create(login, map[string]any{"name": "d", "scopes": []string{"deploy:write", "deploy:read"}})
	auth := bearer(tok.Secret)

	for _, q := range []string{"", "?scope=deploy:write", "?scope=deploy:write&scope=deploy:read", "?scope=" + url.QueryEscape("deploy:read deploy:write")} {
		res := e.do(req{method: "GET", path: "/v1/auth/check" + q, auth: auth})
		if res.status != 204 || len(res.body) != 0 {
			t.Fatalf("check %q: %d %s", q, res.status, res.body)
		}
		if res.header.Get(HeaderTokenUser) != "alice" || res.header.Get(HeaderTokenID) != tok.ID ||
			res.header.Get(HeaderTokenScopes) != "deploy:read deploy:write" {
			t.Fatalf("check %q headers: %v", q, res.header)
		}
	}
	p := scopeProblemOf(t, e.do(req{method: "GET", path: "/v1/auth/check?scope=deploy:write&scope=admin", auth: auth}), "admin", "deploy:write")
	if !strings.Contains(p.Detail, "admin") || strings.Contains(p.Detail, "lacks admin deploy:write") {
		t.Fatalf("detail should name only the missing scope: %q", p.Detail)
	}
	for _, c := range []struct{ name, auth string }{
		{"no credentials", ""},
		{"a password", basic("alice", "pw")},
		{"garbage", "Bearer nope"},
	} {
		res := e.do(req{method: "GET", path: "/v1/auth/check?scope=deploy:write", auth: c.auth})
		if p := res.problem(t); res.status != 401 || p.Code != api.CodeUnauthorized {
			t.Fatalf("check with %s: %d %+v", c.name, res.status, p)
		}
	}
	if res := e.do(req{method: "DELETE", path: "/v1/tokens/" + tok.ID, auth: login}); res.status != 204 {
		t.Fatal(res.status)
	}
	if res := e.do(req{method: "GET", path: "/v1/auth/check?scope=deploy:write", auth: auth}); res.status != 401 {
		t.Fatalf("check of a deleted token: %d", res.status)
	}
}

func TestListScopes(t *testing.T) {
	e := newTestEnv(t)
	e.addUser("alice", "pw")
	e.addScope("zeta")
	e.addScope("deploy:write")
	res := e.do(req{method: "GET", path: "/v1/scopes", auth: bearer(e.login("alice", "pw"))})
	var list api.ScopeList
	res.decode(t, &list)
	var got []string
	for _, sc := range list.Items {
		got = append(got, fmt.Sprint(sc.Name, "/", sc.Builtin))
	}
	if want := []string{"admin:read/true", "admin:write/true", "deploy:write/false", "tokens:introspect/true", "tokens:read/true", "tokens:write/true", "zeta/false"}; !slices.Equal(got, want) {
		t.Fatalf("scopes = %q, want %q", got, want)
	}
}

func TestListFiltersByScope(t *testing.T) {
	e := newTestEnv(t)
	e.addUser("alice", "pw")
	login := bearer(e.login("alice", "pw")) // before the scope exists: tokens:* only
	e.addScope("deploy:write")
	d := e.create(basic("alice", "pw"), map[string]any{"name": "d", "scopes": []string{"deploy:write"}})
	e.create(login, map[string]any{"name": "r", "scopes": []string{"tokens:read"}})
	res := e.do(req{method: "GET", path: "/v1/tokens?scope=deploy:write", auth: login})
	var page api.TokenPage
	res.decode(t, &page)
	if len(page.Items) != 1 || page.Items[0].ID != d.ID || page.NextCursor != nil {
		t.Fatalf("scope filter: %s", res.body)
	}
	res = e.do(req{method: "GET", path: "/v1/tokens?scope=deploy:write&scope=tokens:read", auth: login})
	res.decode(t, &page)
	if len(page.Items) != 0 || page.NextCursor != nil {
		t.Fatalf("two-scope filter: %s", res.body)
	}
}

// A filter that matches nothing must not read every token per page: each
// page examines a bounded window and says where to go on.
func TestFilteredListExaminesABoundedWindowPerPage(t *testing.T) {
	e := newTestEnv(t)
	u := e.addUser("alice", "pw")
	ids := bulkSeed(t, e.dbPath, u, "bulk", 2500)
	login := bearer(e.login("alice", "pw"))
	cursor, pages := "", 0
	for {
		path := "/v1/tokens?limit=10&name=nothing-*"
		if cursor != "" {
			path += "&cursor=" + cursor
		}
		res := e.do(req{method: "GET", path: path, auth: login})
		var page api.TokenPage
		res.decode(t, &page)
		if res.status != 200 || len(page.Items) != 0 {
			t.Fatalf("page %d: %d %s", pages, res.status, res.body)
		}
		pages++
		if page.NextCursor == nil {
			break
		}
		cursor = *page.NextCursor
		if pages > 10 {
			t.Fatal("no end")
		}
	}
	// 2501 tokens, 1000 examined a page: three pages.
	if pages != 3 {
		t.Fatalf("%d pages, want 3", pages)
	}
	// Unfiltered, next_cursor is still null exactly on the last page.
	// (The cursor is a seeded id, not a time: seeding may take longer than
	// any margin on a loaded machine.)
	slices.Sort(ids)
	res := e.do(req{method: "GET", path: "/v1/tokens?limit=1000&cursor=" + encodeCursor(ids[500]), auth: login})
	var page api.TokenPage
	res.decode(t, &page)
	if page.NextCursor != nil || len(page.Items) != 500 {
		t.Fatalf("last unfiltered page: %d items, next %v", len(page.Items), page.NextCursor)
	}
}

// Unknown scope names come back as data too, so a client can name its own
// way of listing the defined ones instead of the detail's API path.
func TestUnknownScopesAreNamedInTheProblem(t *testing.T) {
	e := newTestEnv(t)
	e.addUser("alice", "pw")
	auth := bearer(e.login("alice", "pw"))
	res := e.do(req{method: "POST", path: "/v1/tokens", auth: auth, body: `{"name":"a","scopes":["tokens:read","admin","zz:top"]}`})
	if res.status != http.StatusBadRequest {
		t.Fatalf("status %d: %s", res.status, res.body)
	}
	res.problem(t)
	var p api.Problem
	res.decode(t, &p)
	if p.Code != api.CodeValidation || !slices.Equal(p.UnknownScopes, []string{"admin", "zz:top"}) {
		t.Fatalf("problem = %+v, want validation_failed naming admin and zz:top", p)
	}
	// Other problems do not carry the member.
	res = e.do(req{method: "POST", path: "/v1/tokens", auth: auth, body: `{"name":""}`})
	if strings.Contains(string(res.body), "unknown_scopes") {
		t.Errorf("an empty name's problem carries unknown_scopes: %s", res.body)
	}
}
