package server

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tokenctl/tokenctl/internal/api"
	"github.com/tokenctl/tokenctl/internal/secret"
)

// events pages through all of the caller's events (with extra query), at
// pageSize a page, and returns them with the raw bodies.
func (e *testEnv) events(auth, query string, pageSize int) ([]api.Event, string) {
	e.t.Helper()
	var all []api.Event
	var raw strings.Builder
	cursor := ""
	for {
		path := fmt.Sprintf("/v1/events?limit=%d%s", pageSize, query)
		if cursor != "" {
			path += "&cursor=" + cursor
		}
		res := e.do(req{method: "GET", path: path, auth: auth})
		if res.status != http.StatusOK {
			e.t.Fatalf("GET %s: %d %s", path, res.status, res.body)
		}
		raw.Write(res.body)
		var page api.EventPage
		res.decode(e.t, &page)
		all = append(all, page.Items...)
		if page.NextCursor == nil {
			return all, raw.String()
		}
		cursor = *page.NextCursor
	}
}

func TestAuditTrail(t *testing.T) {
	e := newTestEnv(t)
	e.addUser("alice", "alice-password-1")
	e.addUser("bob", "bob-password-1")
	var secrets []string // every secret minted; none may appear in an event
	tick := func() { e.clock.Advance(time.Second) }
	ua := map[string]string{"User-Agent": "tokenctl/1.2 (linux)"}

	// Signed in with the password: token.created by "password".
	res := e.do(req{method: "POST", path: "/v1/tokens", json: map[string]any{"name": "laptop"},
		auth: basic("alice", "alice-password-1"), header: ua, remote: "203.0.113.5:999"})
	var laptop api.CreatedToken
	res.decode(t, &laptop)
	secrets = append(secrets, laptop.Secret)
	auth := bearer(laptop.Secret)
	bobAuth := bearer(e.login("bob", "bob-password-1"))
	tick()

	// With the token: create, rotate, delete, bulk delete.
	ci := e.create(auth, map[string]any{"name": "ci", "expires_in_seconds": 3600}) // short enough to rotate within the parent's life
	secrets = append(secrets, ci.Secret)
	tick()
	res = e.do(req{method: "POST", path: "/v1/tokens/" + ci.ID + "/rotate", auth: auth})
	var rotated api.CreatedToken
	res.decode(t, &rotated)
	secrets = append(secrets, rotated.Secret)
	tick()
	if res := e.do(req{method: "DELETE", path: "/v1/tokens/" + ci.ID, auth: auth}); res.status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", res.status, res.body)
	}
	tick()
	a := e.create(auth, map[string]any{"name": "a"})
	b := e.create(auth, map[string]any{"name": "b"})
	secrets = append(secrets, a.Secret, b.Secret)
	tick()
	res = e.do(req{method: "POST", path: "/v1/tokens/delete", auth: auth,
		json: api.BulkDeleteRequest{IDs: []string{a.ID, b.ID, "01jd5x3k9q8w7e6r5t4y3z2a1b"}}})
	if res.status != http.StatusOK {
		t.Fatalf("bulk delete: %d %s", res.status, res.body)
	}
	tick()

	// A wrong password, an unknown user, an unknown token, an expired token.
	for _, bad := range []string{basic("alice", "wrong-password"), basic("nobody", "x")} {
		if res := e.do(req{method: "GET", path: "/v1/user", auth: bad}); res.status != http.StatusUnauthorized {
			t.Fatalf("bad password: %d", res.status)
		}
	}
	unknown, _ := secret.Generate(secret.DefaultPrefix)
	secrets = append(secrets, unknown.String())
	if res := e.do(req{method: "GET", path: "/v1/user", auth: bearer(unknown.String())}); res.status != http.StatusUnauthorized {
		t.Fatalf("unknown token: %d", res.status)
	}
	tick()
	short := e.create(auth, map[string]any{"name": "short", "expires_in_seconds": 60})
	secrets = append(secrets, short.Secret)
	e.clock.Advance(2 * time.Minute)
	if res := e.do(req{method: "GET", path: "/v1/user", auth: bearer(short.Secret)}); res.status != http.StatusUnauthorized {
		t.Fatalf("expired token: %d", res.status)
	}
	tick()

	// A leak report from someone else, with a secret in their user agent.
	leaky := e.create(auth, map[string]any{"name": "leaky"})
	secrets = append(secrets, leaky.Secret)
	tick()
	flipped := []byte(leaky.Secret)
	// Still base62, so well-formed, but the checksum no longer matches.
	if flipped[10] == 'A' {
		flipped[10] = 'B'
	} else {
		flipped[10] = 'A'
	}
	res = e.do(req{method: "POST", path: "/v1/tokens/revoke", remote: "198.51.100.9:4444",
		header: map[string]string{"User-Agent": "scanner/1 " + unknown.String()},
		json: api.RevokeRequest{Secrets: []string{leaky.Secret, "nope", string(flipped), unknown.String(), leaky.Secret},
			Source: "https://paste.example/x"}})
	if res.status != http.StatusOK {
		t.Fatalf("revoke: %d %s", res.status, res.body)
	}
	var rr api.RevokeResult
	res.decode(t, &rr)
	if rr.Revoked != 1 || rr.NotLive != 2 || len(rr.Malformed) != 2 ||
		rr.Malformed[0] != (api.RevokeMalformed{Index: 1, Reason: api.RevokeNotAToken}) ||
		rr.Malformed[1] != (api.RevokeMalformed{Index: 2, Reason: api.RevokeChecksumMismatch}) {
		t.Fatalf("revoke result = %+v (body %s)", rr, res.body)
	}
	if res := e.do(req{method: "GET", path: "/v1/user", auth: bearer(leaky.Secret)}); res.status != http.StatusUnauthorized {
		t.Fatalf("revoked token still works: %d", res.status)
	}

	evs, raw := e.events(auth, "", 3)
	type want struct {
		typ, token, actor, actorToken, addr, ua, source, reason string
	}
	tok := func(ct api.CreatedToken) string { return ct.ID + " " + ct.Name + " " + ct.KeyHint }
	viaToken := want{actor: api.ActorToken, actorToken: laptop.ID + " laptop", addr: "192.0.2.1", ua: ""}
	with := func(w want, typ, token string) want { w.typ, w.token = typ, token; return w }
	wants := []want{
		{typ: api.EventTokenCreated, token: tok(laptop), actor: api.ActorPassword, addr: "203.0.113.5", ua: "tokenctl/1.2 (linux)"},
		with(viaToken, api.EventTokenCreated, tok(ci)),
		with(viaToken, api.EventTokenRotated, tok(rotated)),
		with(viaToken, api.EventTokenDeleted, tok(rotated)),
		with(viaToken, api.EventTokenCreated, tok(a)),
		with(viaToken, api.EventTokenCreated, tok(b)),
		with(viaToken, api.EventTokenDeleted, tok(a)),
		with(viaToken, api.EventTokenDeleted, tok(b)),
		{typ: api.EventAuthFailed, actor: api.ActorPassword, addr: "192.0.2.1", ua: "", reason: "wrong password"},
		with(viaToken, api.EventTokenCreated, tok(short)),
		{typ: api.EventAuthFailed, token: tok(short), actor: api.ActorToken, actorToken: short.ID + " short", addr: "192.0.2.1", ua: "", reason: "expired token"},
		with(viaToken, api.EventTokenCreated, tok(leaky)),
		{typ: api.EventTokenRevokedLeaked, token: tok(leaky), actor: api.ActorLeakReport, addr: "198.51.100.9",
			ua: "scanner/1 " + unknown.Hint(), source: "https://paste.example/x"},
	}
	if len(evs) != len(wants) {
		for _, ev := range evs {
			t.Logf("%+v", ev)
		}
		t.Fatalf("alice has %d events, want %d", len(evs), len(wants))
	}
	for i, w := range wants {
		ev := evs[len(evs)-1-i] // newest first
		if i == 6 && ev.Token != nil && ev.Token.ID == b.ID {
			// The bulk delete's events share an instant; either order.
			ev = evs[len(evs)-1-7]
		} else if i == 7 && ev.Token != nil && ev.Token.ID == a.ID {
			ev = evs[len(evs)-1-6]
		}
		got := want{typ: ev.Type, actor: ev.Actor.Kind, addr: ev.Client.Address, ua: ev.Client.UserAgent, source: ev.Source, reason: ev.Reason}
		if ev.Token != nil {
			got.token = ev.Token.ID + " " + ev.Token.Name + " " + ev.Token.KeyHint
		}
		if ev.Actor.TokenID != "" {
			got.actorToken = ev.Actor.TokenID + " " + ev.Actor.TokenName
		}
		if got != w {
			t.Errorf("event %d:\n got %+v\nwant %+v", i, got, w)
		}
	}
	for _, s := range append(secrets, "alice-password-1", "wrong-password") {
		if strings.Contains(raw, s) {
			t.Errorf("an event holds a secret or password (%s…)", s[:6])
		}
		if strings.Contains(e.logs.String(), s) {
			t.Errorf("the log holds a secret or password (%s…)", s[:6])
		}
	}
	if bobs, _ := e.events(bobAuth, "", 100); len(bobs) != 1 || bobs[0].Token == nil || bobs[0].Token.Name != "login" {
		t.Errorf("bob sees %+v; want only his own login", bobs)
	}

	// Filters.
	count := func(query string) int {
		evs, _ := e.events(auth, query, 2)
		return len(evs)
	}
	if n := count("&type=token.deleted&type=auth.failed"); n != 5 {
		t.Errorf("type filter: %d events, want 5", n)
	}
	if n := count("&token_id=" + ci.ID); n != 3 {
		t.Errorf("token_id filter: %d events, want 3", n)
	}
	from := evs[len(evs)-1-8].Time // the wrong password
	if n := count("&since=" + url.QueryEscape(from.Format(time.RFC3339))); n != 5 {
		t.Errorf("since filter: %d events, want 5", n)
	}
	if n := count("&until=" + url.QueryEscape(from.Format(time.RFC3339))); n != 8 {
		t.Errorf("until filter: %d events, want 8", n)
	}
	for _, q := range []string{"limit=0", "limit=1001", "cursor=zz", "token_id=nope", "type=token.exploded",
		"since=yesterday", "since=2026-01-02T00:00:00Z&until=2026-01-01T00:00:00Z"} {
		res := e.do(req{method: "GET", path: "/v1/events?" + q, auth: auth})
		if res.status != http.StatusBadRequest {
			t.Errorf("GET /v1/events?%s = %d, want 400", q, res.status)
		} else {
			res.problem(t)
		}
	}
	if res := e.do(req{method: "GET", path: "/v1/events"}); res.status != http.StatusUnauthorized {
		t.Errorf("GET /v1/events without credentials = %d, want 401", res.status)
	}
}

func TestRevokeLimitsAndValidation(t *testing.T) {
	e := newTestEnv(t)
	good, _ := secret.Generate(secret.DefaultPrefix)
	for _, c := range []struct {
		name, body string
		status     int
	}{
		{"no secrets", `{"secrets":[]}`, 400},
		{"too many", `{"secrets":[` + strings.Repeat(`"x",`, 1000) + `"x"]}`, 400},
		{"long source", `{"secrets":["x"],"source":"` + strings.Repeat("s", 501) + `"}`, 400},
		{"control in source", `{"secrets":["x"],"source":"a\u0007b"}`, 400},
		{"unknown field", `{"secrets":["x"],"owner":"me"}`, 400},
		{"not json", `secrets`, 400},
	} {
		res := e.do(req{method: "POST", path: "/v1/tokens/revoke", body: c.body, remote: "192.0.2.50:1"})
		if res.status != c.status {
			t.Errorf("%s: %d, want %d: %s", c.name, res.status, c.status, res.body)
		}
	}
	big := `{"secrets":["` + strings.Repeat("a", 1<<20) + `"]}`
	if res := e.do(req{method: "POST", path: "/v1/tokens/revoke", body: big, remote: "192.0.2.51:1"}); res.status != http.StatusRequestEntityTooLarge {
		t.Errorf("1 MiB body: %d, want 413", res.status)
	}

	// RevokeRequests a window per address, counting every request.
	body := api.RevokeRequest{Secrets: []string{good.String()}}
	for i := range RevokeRequests {
		if res := e.do(req{method: "POST", path: "/v1/tokens/revoke", json: body, remote: "192.0.2.60:1"}); res.status != http.StatusOK {
			t.Fatalf("request %d: %d %s", i, res.status, res.body)
		}
	}
	res := e.do(req{method: "POST", path: "/v1/tokens/revoke", json: body, remote: "192.0.2.60:2"})
	if res.status != http.StatusTooManyRequests || res.header.Get("Retry-After") == "" {
		t.Fatalf("request %d: %d (Retry-After %q), want 429", RevokeRequests+1, res.status, res.header.Get("Retry-After"))
	}
	res.problem(t)
	if res := e.do(req{method: "POST", path: "/v1/tokens/revoke", json: body, remote: "192.0.2.61:1"}); res.status != http.StatusOK {
		t.Errorf("another address: %d", res.status)
	}
	e.clock.Advance(RevokeWindow)
	if res := e.do(req{method: "POST", path: "/v1/tokens/revoke", json: body, remote: "192.0.2.60:3"}); res.status != http.StatusOK {
		t.Errorf("after the window: %d", res.status)
	}
}

// TestListUnusedSince: GET /v1/tokens?unused_since= keeps tokens never used
// or last used before the time, on a clock-controlled server.
func TestListUnusedSince(t *testing.T) {
	e := newTestEnv(t)
	e.addUser("alice", "pw")
	auth := bearer(e.login("alice", "pw"))
	e.create(auth, map[string]any{"name": "never"})
	used := e.create(auth, map[string]any{"name": "used"})
	t0 := e.clock.Now()
	if res := e.do(req{method: "GET", path: "/v1/user", auth: bearer(used.Secret)}); res.status != http.StatusOK {
		t.Fatalf("use: %d", res.status)
	}
	e.clock.Advance(2 * time.Hour)
	list := func(since time.Time) []string {
		res := e.do(req{method: "GET", path: "/v1/tokens?unused_since=" + url.QueryEscape(since.Format(time.RFC3339)), auth: auth})
		var page api.TokenPage
		res.decode(t, &page)
		var names []string
		for _, it := range page.Items {
			names = append(names, it.Name)
		}
		slices.Sort(names) // made in the same instant: no order between them
		return names
	}
	// "login" authenticates this very request, so it counts as used now.
	if got := strings.Join(list(t0.Add(time.Hour)), ","); got != "never,used" {
		t.Errorf("unused since t0+1h = %s, want never,used", got)
	}
	if got := strings.Join(list(t0.Add(-time.Hour)), ","); got != "never" {
		t.Errorf("unused since t0-1h = %s, want never", got)
	}
	res := e.do(req{method: "GET", path: "/v1/tokens?unused_since=90d", auth: auth})
	if res.status != http.StatusBadRequest {
		t.Fatalf("unused_since=90d: %d, want 400", res.status)
	}
	res.problem(t)
}
