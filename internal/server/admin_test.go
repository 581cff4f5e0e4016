package server

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tokenctl/tokenctl/internal/api"
	"github.com/tokenctl/tokenctl/internal/oidctest"
	"github.com/tokenctl/tokenctl/internal/scope"
	"github.com/tokenctl/tokenctl/internal/store"
)

// addAdmin adds a user with the admin role.
func (e *testEnv) addAdmin(name, pw string) store.User {
	e.t.Helper()
	u := e.addUser(name, pw)
	if err := e.st.SetUserRole(context.Background(), name, store.RoleAdmin); err != nil {
		e.t.Fatal(err)
	}
	u.Role = store.RoleAdmin
	return u
}

// addService adds a service account (no password).
func (e *testEnv) addService(name string) store.User {
	e.t.Helper()
	u := store.User{ID: store.NewID(time.Now()), Username: name, CreatedAt: time.Now().UTC(), Kind: store.KindService}
	if err := e.st.CreateUser(context.Background(), u); err != nil {
		e.t.Fatal(err)
	}
	return u
}

// mintFor has admin mint a token for the service account name.
func (e *testEnv) mintFor(admin, name string, body map[string]any) api.CreatedToken {
	e.t.Helper()
	res := e.do(req{method: "POST", path: "/v1/admin/users/" + name + "/tokens", json: body, auth: admin})
	if res.status != http.StatusCreated {
		e.t.Fatalf("mint for %s: %d %s", name, res.status, res.body)
	}
	var ct api.CreatedToken
	res.decode(e.t, &ct)
	return ct
}

// adminRequest is a concrete request for an admin route pattern.
func adminRequest(pattern string) req {
	method, path, _ := strings.Cut(pattern, " ")
	path = strings.ReplaceAll(path, "{id}", "01jd5x3k9q8w7e6r5t4y3z2a1b")
	path = strings.ReplaceAll(path, "{name}", "nobody")
	rq := req{method: method, path: path}
	switch pattern {
	case "POST /v1/admin/tokens/delete":
		rq.json = map[string]any{"ids": []string{"01jd5x3k9q8w7e6r5t4y3z2a1b"}}
	case "POST /v1/admin/users":
		rq.json = map[string]any{"username": "newbie", "kind": "service"}
	case "PATCH /v1/admin/users/{name}":
		rq.json = map[string]any{"disabled": true}
	case "POST /v1/admin/users/{name}/tokens":
		rq.json = map[string]any{"name": "ci"}
	}
	return rq
}

// TestAdminRoutesRoleBoundaries: every admin route (taken from the route
// table, so a new one is covered) for each kind of caller.
func TestAdminRoutesRoleBoundaries(t *testing.T) {
	e := newTestEnv(t)
	e.addUser("mem", "pw")
	e.addAdmin("root", "pw")
	e.addService("jenkins")
	member := bearer(e.login("mem", "pw"))
	adminFull := bearer(e.login("root", "pw"))
	adminPlain := bearer(e.create(adminFull, map[string]any{"name": "plain", "scopes": []string{"tokens:read", "tokens:write"}}).Secret)
	service := bearer(e.mintFor(adminFull, "jenkins", map[string]any{"name": "ci"}).Secret)

	var routes []string
	for _, rt := range routeTable {
		if scope.IsAdmin(rt.scope) {
			routes = append(routes, rt.pattern)
		}
	}
	if len(routes) != 10 {
		t.Fatalf("%d admin routes, want 10: %v", len(routes), routes)
	}
	callers := []struct {
		name, auth string
		wantCode   string // "" for allowed
	}{
		{"member", member, api.CodeAdminRequired},
		{"member by password", basic("mem", "pw"), api.CodeAdminRequired},
		{"admin token without admin scopes", adminPlain, api.CodeInsufficientScope},
		{"service account", service, api.CodeAdminRequired},
		{"admin", adminFull, ""},
		{"admin by password", basic("root", "pw"), ""},
	}
	for _, c := range callers {
		for _, pattern := range routes {
			t.Run(c.name+"/"+pattern, func(t *testing.T) {
				rq := adminRequest(pattern)
				rq.auth = c.auth
				res := e.do(rq)
				if c.wantCode == "" {
					if res.status == http.StatusUnauthorized || res.status == http.StatusForbidden {
						t.Fatalf("%s: %d %s, want it let in", pattern, res.status, res.body)
					}
					return
				}
				if res.status != http.StatusForbidden || res.problem(t).Code != c.wantCode {
					t.Fatalf("%s: %d %s, want 403 %s", pattern, res.status, res.body, c.wantCode)
				}
			})
		}
	}
	// Nothing a refused caller sent happened.
	if _, err := e.st.UserByName(context.Background(), "newbie"); err == nil {
		// The admin's own POST /v1/admin/users made it; the refused ones
		// must not have made a second (the create would have been 409).
		evs, _ := e.st.ListEvents(context.Background(), store.EventListOptions{UserID: store.AnyUser, Types: []string{store.EventUserCreated}, Limit: 10})
		if len(evs) != 1 {
			t.Errorf("%d user.created events, want 1 (the admin's)", len(evs))
		}
	}
}

func TestAdminScopesOnlyForAdmins(t *testing.T) {
	e := newTestEnv(t)
	e.addUser("mem", "pw")
	e.addAdmin("root", "pw")
	for _, auth := range []string{basic("mem", "pw"), bearer(e.login("mem", "pw"))} {
		res := e.do(req{method: "POST", path: "/v1/tokens", auth: auth, json: map[string]any{"name": "x", "scopes": []string{"admin:read"}}})
		if res.status != http.StatusForbidden || res.problem(t).Code != api.CodeAdminRequired {
			t.Fatalf("member asking for admin:read: %d %s", res.status, res.body)
		}
	}
	// An admin's password token carries the admin scopes by default.
	tok := e.create(basic("root", "pw"), map[string]any{"name": "x"})
	if !hasScopes(tok.Scopes, scope.AdminRead, scope.AdminWrite) {
		t.Fatalf("admin's default scopes = %v", tok.Scopes)
	}
	// A demoted admin's token keeps its scopes but loses admin power at once.
	if err := e.st.SetUserRole(context.Background(), "root", store.RoleMember); err != nil {
		t.Fatal(err)
	}
	res := e.do(req{method: "GET", path: "/v1/admin/users", auth: bearer(tok.Secret)})
	if res.status != http.StatusForbidden || res.problem(t).Code != api.CodeAdminRequired {
		t.Fatalf("demoted admin: %d %s", res.status, res.body)
	}
	var who api.User
	e.do(req{method: "GET", path: "/v1/user", auth: bearer(tok.Secret)}).decode(t, &who)
	if who.Role != api.RoleMember || who.Kind != api.KindPerson {
		t.Errorf("GET /v1/user role/kind = %s/%s, want member/person", who.Role, who.Kind)
	}
}

// TestDisableIsOffboarding: one PATCH refuses every token and the password
// on the next request; enabling restores them; the user's trail says who.
func TestDisableIsOffboarding(t *testing.T) {
	e := newTestEnv(t)
	e.addAdmin("root", "pw")
	bob := e.addUser("bob", "pw")
	admin := bearer(e.login("root", "pw"))
	laptop, ci := bearer(e.login("bob", "pw")), bearer(e.login("bob", "pw"))
	if res := e.do(req{method: "GET", path: "/v1/user", auth: laptop}); res.status != 200 {
		t.Fatalf("before: %d", res.status)
	}
	res := e.do(req{method: "PATCH", path: "/v1/admin/users/bob", auth: admin, json: map[string]any{"disabled": true}})
	var u api.AdminUser
	res.decode(t, &u)
	if res.status != 200 || !u.Disabled || u.DisabledAt == nil {
		t.Fatalf("disable: %d %s", res.status, res.body)
	}
	for name, auth := range map[string]string{"laptop token": laptop, "ci token": ci, "password": basic("bob", "pw")} {
		res := e.do(req{method: "GET", path: "/v1/user", auth: auth})
		if res.status != http.StatusUnauthorized || !strings.Contains(res.problem(t).Detail, "disabled") {
			t.Errorf("%s after disable: %d %s, want 401 saying disabled", name, res.status, res.body)
		}
	}
	// A wrong password does not learn that the account is disabled.
	if res := e.do(req{method: "GET", path: "/v1/user", auth: basic("bob", "nope")}); strings.Contains(string(res.body), "disabled") {
		t.Errorf("wrong password told of the disabled account: %s", res.body)
	}
	e.do(req{method: "PATCH", path: "/v1/admin/users/bob", auth: admin, json: map[string]any{"disabled": false}})
	if res := e.do(req{method: "GET", path: "/v1/user", auth: laptop}); res.status != 200 {
		t.Fatalf("after enable: %d %s", res.status, res.body)
	}
	evs, err := e.st.ListEvents(context.Background(), store.EventListOptions{UserID: bob.ID, Types: []string{store.EventUserDisabled, store.EventUserEnabled}, Limit: 10})
	if err != nil || len(evs) != 2 || evs[0].Type != store.EventUserEnabled || evs[1].ActorUser != "root" {
		t.Fatalf("bob's trail = %+v, %v; want disabled then enabled by root", evs, err)
	}
	// An admin cannot lock themselves out.
	if res := e.do(req{method: "PATCH", path: "/v1/admin/users/root", auth: admin, json: map[string]any{"disabled": true}}); res.status != 400 {
		t.Errorf("self-disable: %d %s, want 400", res.status, res.body)
	}
	if res := e.do(req{method: "PATCH", path: "/v1/admin/users/ghost", auth: admin, json: map[string]any{"role": "admin"}}); res.status != 404 {
		t.Errorf("unknown user: %d %s, want 404", res.status, res.body)
	}
}

// TestServiceAccountTokensOutliveTheirMinter: Jenkins gets a token from an
// admin who then leaves; the token keeps working.
func TestServiceAccountTokensOutliveTheirMinter(t *testing.T) {
	e := newTestEnv(t)
	e.addAdmin("root", "pw")
	e.addAdmin("alice", "pw")
	e.addScope("deploy:write")
	e.addUser("bob", "pw")
	alice := bearer(e.login("alice", "pw"))
	root := bearer(e.login("root", "pw"))
	res := e.do(req{method: "POST", path: "/v1/admin/users", auth: alice, json: map[string]any{"username": "jenkins", "kind": "service"}})
	if res.status != http.StatusCreated {
		t.Fatalf("add service account: %d %s", res.status, res.body)
	}
	if res := e.do(req{method: "POST", path: "/v1/admin/users", auth: alice, json: map[string]any{"username": "jenkins", "kind": "service"}}); res.status != 409 || res.problem(t).Code != api.CodeUserExists {
		t.Fatalf("second add: %d %s", res.status, res.body)
	}
	if res := e.do(req{method: "POST", path: "/v1/admin/users", auth: alice, json: map[string]any{"username": "svc2", "kind": "service", "password": "x"}}); res.status != 400 {
		t.Fatalf("service account with a password: %d %s", res.status, res.body)
	}
	// A service account cannot sign in (it has no password to match).
	if res := e.do(req{method: "GET", path: "/v1/user", auth: basic("jenkins", "")}); res.status != 401 {
		t.Fatalf("service account password sign-in: %d", res.status)
	}
	// alice's token lives 30 days; Jenkins' a year: not bounded by hers.
	tok := e.mintFor(alice, "jenkins", map[string]any{"name": "deploy", "scopes": []string{"deploy:write"}, "expires_in_seconds": 300 * 24 * 3600})
	if res := e.do(req{method: "POST", path: "/v1/admin/users/bob/tokens", auth: alice, json: map[string]any{"name": "x"}}); res.status != 400 {
		t.Fatalf("minting for a person: %d %s, want 400", res.status, res.body)
	}
	// alice leaves.
	if res := e.do(req{method: "DELETE", path: "/v1/admin/users/alice", auth: root}); res.status != 204 {
		t.Fatalf("delete alice: %d %s", res.status, res.body)
	}
	res = e.do(req{method: "GET", path: "/v1/auth/check?scope=deploy:write", auth: bearer(tok.Secret)})
	if res.status != http.StatusNoContent || res.header.Get(HeaderTokenUser) != "jenkins" {
		t.Fatalf("jenkins' token after alice left: %d %s", res.status, res.body)
	}
	// The service account's trail names the admin who minted it.
	var page api.EventPage
	e.do(req{method: "GET", path: "/v1/admin/events?user=jenkins&type=token.created", auth: root}).decode(t, &page)
	if len(page.Items) != 1 || page.Items[0].Actor.User != "alice" || page.Items[0].User != "jenkins" {
		t.Fatalf("jenkins' token.created = %+v", page.Items)
	}
	// root's trail records alice's deletion.
	e.do(req{method: "GET", path: "/v1/events?type=user.deleted", auth: root}).decode(t, &page)
	if len(page.Items) != 1 || page.Items[0].Detail != "user alice" {
		t.Fatalf("root's user.deleted = %+v", page.Items)
	}
}

// TestAdminFindsAndRevokesAcrossUsers: the operator's week: what expires
// soon, across users, revoked in one bulk call, each in its owner's trail.
func TestAdminFindsAndRevokesAcrossUsers(t *testing.T) {
	e := newTestEnv(t)
	e.addAdmin("root", "pw")
	admin := bearer(e.login("root", "pw"))
	var soon []string
	for _, name := range []string{"ann", "ben", "cat"} {
		e.addUser(name, "pw")
		auth := basic(name, "pw")
		soon = append(soon, e.create(auth, map[string]any{"name": "soon", "expires_in_seconds": 3 * 24 * 3600}).ID)
		e.create(auth, map[string]any{"name": "later", "expires_in_seconds": 60 * 24 * 3600})
	}
	var page api.AdminTokenPage
	res := e.do(req{method: "GET", path: "/v1/admin/tokens?expiring_within=604800", auth: admin})
	res.decode(t, &page)
	var got []string
	for _, it := range page.Items {
		got = append(got, it.ID)
		if it.Name != "soon" || it.User == "" {
			t.Errorf("listed %+v", it)
		}
	}
	slices.Sort(got)
	slices.Sort(soon)
	if !slices.Equal(got, soon) {
		t.Fatalf("expiring within a week = %v, want %v", got, soon)
	}
	e.do(req{method: "GET", path: "/v1/admin/tokens?user=ben&name=later", auth: admin}).decode(t, &page)
	if len(page.Items) != 1 || page.Items[0].User != "ben" {
		t.Fatalf("ben's later = %+v", page.Items)
	}
	if res := e.do(req{method: "GET", path: "/v1/admin/tokens?user=ghost", auth: admin}); res.status != 404 {
		t.Fatalf("unknown user filter: %d", res.status)
	}
	if res := e.do(req{method: "GET", path: "/v1/admin/tokens?expiring_within=soon", auth: admin}); res.status != 400 {
		t.Fatalf("bad expiring_within: %d", res.status)
	}
	var result api.BulkDeleteResult
	e.do(req{method: "POST", path: "/v1/admin/tokens/delete", auth: admin, json: map[string]any{"ids": soon}}).decode(t, &result)
	if len(result.Deleted) != 3 || len(result.NotFound) != 0 {
		t.Fatalf("bulk delete = %+v", result)
	}
	var events api.EventPage
	e.do(req{method: "GET", path: "/v1/events?type=token.deleted", auth: bearer(e.login("cat", "pw"))}).decode(t, &events)
	if len(events.Items) != 1 || events.Items[0].Actor.User != "root" {
		t.Fatalf("cat's trail = %+v; want one deletion by root", events.Items)
	}
	// One token by id, then revoked.
	id := page.Items[0].ID
	var one api.AdminToken
	e.do(req{method: "GET", path: "/v1/admin/tokens/" + id, auth: admin}).decode(t, &one)
	if one.User != "ben" {
		t.Fatalf("GET one = %+v", one)
	}
	if res := e.do(req{method: "DELETE", path: "/v1/admin/tokens/" + id, auth: admin}); res.status != 204 {
		t.Fatalf("DELETE one: %d", res.status)
	}
	if res := e.do(req{method: "GET", path: "/v1/admin/tokens/" + id, auth: admin}); res.status != 404 {
		t.Fatalf("GET deleted: %d", res.status)
	}
	var users api.AdminUserList
	e.do(req{method: "GET", path: "/v1/admin/users", auth: admin}).decode(t, &users)
	if len(users.Items) != 4 || users.Items[3].Username != "root" || users.Items[3].Role != "admin" {
		t.Fatalf("users = %+v", users.Items)
	}
}

// TestScopeLifetimeCaps: a scope's cap at create, rotate and exchange.
func TestScopeLifetimeCaps(t *testing.T) {
	e := newExchangeEnv(t)
	ctx := context.Background()
	e.addUser("dev", "pw")
	if err := e.st.SetScopeMaxLifetime(ctx, "deploy:write", 7*24*time.Hour); err != nil {
		t.Fatal(err)
	}
	auth := basic("dev", "pw")
	res := e.do(req{method: "POST", path: "/v1/tokens", auth: auth, json: map[string]any{"name": "x", "scopes": []string{"deploy:write"}, "expires_in_seconds": 30 * 24 * 3600}})
	if res.status != 400 || res.problem(t).Code != api.CodeLifetimeCapped || !strings.Contains(res.problem(t).Detail, "deploy:write caps a token's lifetime at 7d") {
		t.Fatalf("create past the cap: %d %s", res.status, res.body)
	}
	// No expiry asked: the default (30 days) is cut to the cap.
	tok := e.create(auth, map[string]any{"name": "x", "scopes": []string{"deploy:write"}})
	if got := tok.ExpiresAt.Sub(tok.CreatedAt); got != 7*24*time.Hour {
		t.Fatalf("default lifetime under the cap = %s, want 7d", got)
	}
	// A token made before a tighter cap cannot be rotated past it.
	if err := e.st.SetScopeMaxLifetime(ctx, "deploy:write", 24*time.Hour); err != nil {
		t.Fatal(err)
	}
	res = e.do(req{method: "POST", path: "/v1/tokens/" + tok.ID + "/rotate", auth: auth})
	if res.status != 400 || res.problem(t).Code != api.CodeLifetimeCapped {
		t.Fatalf("rotate past the cap: %d %s", res.status, res.body)
	}
	// Exchange: the policy allows 15 minutes; a 10-minute cap cuts the
	// default and refuses an explicit 12 minutes.
	if err := e.st.SetScopeMaxLifetime(ctx, "deploy:write", 10*time.Minute); err != nil {
		t.Fatal(err)
	}
	res = e.exchange(map[string]any{"subject_token": e.iss.Mint(t, ghClaims("acme/app", "refs/heads/main"))})
	var et api.ExchangedToken
	res.decode(t, &et)
	if res.status != 201 || et.ExpiresIn != 600 {
		t.Fatalf("exchange under a cap: %d %s", res.status, res.body)
	}
	res = e.exchange(map[string]any{"subject_token": e.iss.Mint(t, ghClaims("acme/app", "refs/heads/main"), oidctest.WithKey("ec")), "expires_in_seconds": 720})
	if res.status != 400 || res.problem(t).Code != api.CodeLifetimeCapped {
		t.Fatalf("exchange past the cap: %d %s", res.status, res.body)
	}
}

// TestExchangeRespectsRoleAndDisabled: a policy's user disabled refuses
// the exchange; admin scopes only for an admin's policy.
func TestExchangeRespectsRoleAndDisabled(t *testing.T) {
	e := newExchangeEnv(t)
	ctx := context.Background()
	e.addPolicy(store.TrustPolicy{Name: "gha-admin", Issuer: e.iss.URL(), Audience: testAudience,
		Claims: []store.ClaimMatch{{Claim: "repository", Glob: "ops/*"}}, UserID: e.user.ID,
		Scopes: []string{"admin:read", "deploy:read"}, MaxLifetime: 15 * time.Minute})
	mint := func() string { return e.iss.Mint(t, ghClaims("ops/tools", "refs/heads/main")) }
	// deploy-bot is a member: the policy's admin:read is dropped...
	res := e.exchange(map[string]any{"subject_token": mint()})
	var et api.ExchangedToken
	res.decode(t, &et)
	if res.status != 201 || !slices.Equal(et.Scopes, []string{"deploy:read"}) {
		t.Fatalf("member's exchange: %d %s", res.status, res.body)
	}
	// ...and refused when asked for.
	res = e.exchange(map[string]any{"subject_token": mint(), "scope": "admin:read"})
	if res.status != 403 || res.problem(t).Code != api.CodeAdminRequired {
		t.Fatalf("member asking admin:read: %d %s", res.status, res.body)
	}
	if err := e.st.SetUserRole(ctx, "deploy-bot", store.RoleAdmin); err != nil {
		t.Fatal(err)
	}
	e.exchange(map[string]any{"subject_token": mint()}).decode(t, &et)
	if !slices.Equal(et.Scopes, []string{"admin:read", "deploy:read"}) {
		t.Fatalf("admin's exchange scopes = %v", et.Scopes)
	}
	if err := e.st.SetUserDisabled(ctx, "deploy-bot", true, e.clock.Now()); err != nil {
		t.Fatal(err)
	}
	res = e.exchange(map[string]any{"subject_token": mint()})
	if res.status != 403 || !strings.Contains(res.problem(t).Detail, "disabled") {
		t.Fatalf("disabled user's exchange: %d %s", res.status, res.body)
	}
}

// TestTrustPolicyMayNameAServiceAccount: a CI job exchanges its identity
// for a token of a service account, which no person owns.
func TestTrustPolicyMayNameAServiceAccount(t *testing.T) {
	e := newExchangeEnv(t)
	svc := e.addService("jenkins")
	e.addPolicy(store.TrustPolicy{Name: "jenkins-ci", Issuer: e.iss.URL(), Audience: testAudience,
		Claims: []store.ClaimMatch{{Claim: "repository", Glob: "ci/*"}}, UserID: svc.ID,
		Scopes: []string{"deploy:write"}, MaxLifetime: 10 * time.Minute})
	res := e.exchange(map[string]any{"subject_token": e.iss.Mint(t, ghClaims("ci/pipeline", "refs/heads/main"))})
	var et api.ExchangedToken
	res.decode(t, &et)
	if res.status != 201 || et.User.Username != "jenkins" {
		t.Fatalf("exchange for a service account: %d %s", res.status, res.body)
	}
	if got := e.do(req{method: "GET", path: "/v1/auth/check?scope=deploy:write", auth: bearer(et.Secret)}); got.status != http.StatusNoContent {
		t.Fatalf("the exchanged token: %d", got.status)
	}
}

// TestAdminAddsPeople: a person added over the API with a password signs
// in with it; one without a password cannot sign in by password at all;
// bad fields are 400 and name the field.
func TestAdminAddsPeople(t *testing.T) {
	e := newTestEnv(t)
	e.addAdmin("root", "pw")
	admin := bearer(e.login("root", "pw"))
	res := e.do(req{method: "POST", path: "/v1/admin/users", auth: admin, json: map[string]any{"username": "carol", "password": "carol-pw", "role": "admin"}})
	var u api.AdminUser
	res.decode(t, &u)
	if res.status != 201 || u.Role != "admin" || u.Kind != "person" || u.Disabled || res.header.Get("Location") != "/v1/admin/users/carol" {
		t.Fatalf("add carol: %d %s", res.status, res.body)
	}
	if got := e.do(req{method: "GET", path: "/v1/user", auth: basic("carol", "carol-pw")}); got.status != 200 {
		t.Fatalf("carol's password: %d", got.status)
	}
	e.do(req{method: "POST", path: "/v1/admin/users", auth: admin, json: map[string]any{"username": "dave"}})
	if got := e.do(req{method: "GET", path: "/v1/user", auth: basic("dave", "")}); got.status != 401 {
		t.Fatalf("dave (no password) signed in: %d", got.status)
	}
	for _, c := range []struct {
		body map[string]any
		want string
	}{
		{map[string]any{"username": "a:b"}, "user name"},
		{map[string]any{"username": "x", "role": "root"}, "role must be"},
		{map[string]any{"username": "x", "kind": "robot"}, "kind must be"},
		{map[string]any{"username": "x", "kind": "service", "password": "p"}, "no password"},
	} {
		res := e.do(req{method: "POST", path: "/v1/admin/users", auth: admin, json: c.body})
		if res.status != 400 || !strings.Contains(res.problem(t).Detail, c.want) {
			t.Errorf("%v: %d %s, want 400 naming %q", c.body, res.status, res.body, c.want)
		}
	}
	if res := e.do(req{method: "PATCH", path: "/v1/admin/users/carol", auth: admin, json: map[string]any{}}); res.status != 400 {
		t.Errorf("empty PATCH: %d", res.status)
	}
	if res := e.do(req{method: "DELETE", path: "/v1/admin/users/root", auth: admin}); res.status != 400 {
		t.Errorf("self-delete: %d", res.status)
	}
}

// An event in no user's trail (a failed SSO sign-in of someone with no
// account, a provider error) reaches admins without a user, and no one's
// own trail.
func TestAdminSeesEventsOfNoUser(t *testing.T) {
	e := newTestEnv(t)
	e.addAdmin("root", "pw")
	e.addUser("bob", "pw")
	root := bearer(e.login("root", "pw"))
	at := e.clock.Now().UTC().Truncate(time.Millisecond)
	evs := []store.Event{
		{ID: store.NewEventID(at), Time: at, Type: store.EventAuthFailed, ActorKind: store.ActorSSO, TrustPolicy: "corp",
			Claims: map[string]string{"sub": "u-eve", "email": "eve@example.com"}, Reason: "unknown user", ClientAddress: "192.0.2.9"},
		{ID: store.NewEventID(at), Time: at, Type: store.EventAuthFailed, ActorKind: store.ActorSSO, TrustPolicy: "corp",
			Reason: "provider error", Detail: "discovery", ClientAddress: "192.0.2.9"},
	}
	if err := e.st.AddEvents(context.Background(), evs); err != nil {
		t.Fatal(err)
	}
	var page api.EventPage
	e.do(req{method: "GET", path: "/v1/admin/events?type=auth.failed", auth: root}).decode(t, &page)
	if len(page.Items) != 2 {
		t.Fatalf("admin events = %+v, want the two with no user", page.Items)
	}
	pe, unknown := page.Items[0], page.Items[1]
	if unknown.User != "" || unknown.Reason != "unknown user" || unknown.Actor.Kind != store.ActorSSO || unknown.Actor.Provider != "corp" ||
		unknown.Actor.Claims["email"] != "eve@example.com" || unknown.Token != nil {
		t.Fatalf("unknown user's event = %+v", unknown)
	}
	if pe.User != "" || pe.Reason != "provider error" || pe.Detail != "discovery" || pe.Actor.Provider != "corp" || len(pe.Actor.Claims) != 0 {
		t.Fatalf("provider error event = %+v", pe)
	}
	res := e.do(req{method: "GET", path: "/v1/admin/events?type=auth.failed", auth: root})
	if strings.Contains(string(res.body), `"user"`) {
		t.Fatalf("an event with no user names one: %s", res.body)
	}
	e.do(req{method: "GET", path: "/v1/admin/events?user=bob", auth: root}).decode(t, &page)
	if len(page.Items) != 0 {
		t.Fatalf("bob's trail = %+v", page.Items)
	}
	e.do(req{method: "GET", path: "/v1/events", auth: basic("bob", "pw")}).decode(t, &page)
	if len(page.Items) != 0 {
		t.Fatalf("bob sees %+v", page.Items)
	}
}
