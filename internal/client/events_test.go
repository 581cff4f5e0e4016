package client

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tokenctl/tokenctl/internal/api"
	"github.com/tokenctl/tokenctl/internal/secret"
)

func TestEventsSendsFiltersAndFollowsCursors(t *testing.T) {
	var queries []url.Values
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/events" || r.Header.Get("Authorization") != "Bearer test-bearer" {
			t.Errorf("%s %s auth %q", r.Method, r.URL.Path, r.Header.Get("Authorization"))
		}
		q := r.URL.Query()
		queries = append(queries, q)
		page := api.EventPage{Items: []api.Event{{ID: "b", Type: api.EventTokenCreated}}}
		if q.Get("cursor") == "" {
			next := "b"
			page = api.EventPage{Items: []api.Event{{ID: "c", Type: api.EventAuthFailed}}, NextCursor: &next}
		}
		writeJSON(w, 200, page)
	}))
	defer srv.Close()
	c, _ := newTestClient(t, srv.URL)
	since := time.Date(2026, 11, 1, 0, 0, 0, 0, time.FixedZone("CET", 3600))
	var ids []string
	for ev, err := range c.Events(context.Background(), EventQuery{TokenID: "01jd8k2m4n5p6q7r8s9t0v1w2x", Types: []string{api.EventAuthFailed, api.EventTokenCreated}, Since: since, PageSize: 500}) {
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, ev.ID)
	}
	if strings.Join(ids, ",") != "c,b" || len(queries) != 2 {
		t.Fatalf("events %v in %d requests", ids, len(queries))
	}
	q := queries[0]
	if q.Get("token_id") != "01jd8k2m4n5p6q7r8s9t0v1w2x" || strings.Join(q["type"], ",") != "auth.failed,token.created" ||
		q.Get("since") != "2026-10-31T23:00:00Z" || q.Has("until") || q.Get("limit") != "500" || queries[1].Get("cursor") != "b" {
		t.Errorf("queries %v", queries)
	}
}

// A leak report carries no credential even from a logged-in client: the
// server must not learn who reported, beyond the address.
func TestRevokeLeakedSendsNoCredential(t *testing.T) {
	sec, _ := secret.Generate(secret.DefaultPrefix)
	var got api.RevokeRequest
	var auth []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth = append(auth, r.Header.Get("Authorization"))
		if r.Method != http.MethodPost || r.URL.Path != "/v1/tokens/revoke" {
			t.Errorf("%s %s", r.Method, r.URL.Path)
		}
		_ = json.NewDecoder(r.Body).Decode(&got)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"revoked":1,"not_live":0,"malformed":[{"index":1,"reason":"not a token"}],"results":["revoked","malformed"]}`))
	}))
	defer srv.Close()
	for _, mod := range []func(*Options){
		func(o *Options) {},
		func(o *Options) { o.Token = ""; o.Username, o.Password = "alice", "pw" },
	} {
		c, _ := newTestClient(t, srv.URL, mod)
		res, err := c.RevokeLeaked(context.Background(), []string{sec.String(), "nope"}, "ci log")
		if err != nil {
			t.Fatal(err)
		}
		if res.Revoked != 1 || len(res.Malformed) != 1 || res.Malformed[0].Reason != api.RevokeNotAToken || strings.Join(res.Results, ",") != "revoked,malformed" {
			t.Errorf("result %+v", res)
		}
		// The client itself keeps its credential for other calls.
		if c.opts.Token == "" && c.opts.Username == "" {
			t.Error("RevokeLeaked dropped the client's own credential")
		}
	}
	for _, a := range auth {
		if a != "" {
			t.Fatalf("Authorization sent: %q", a)
		}
	}
	if len(got.Secrets) != 2 || got.Secrets[0] != sec.String() || got.Source != "ci log" {
		t.Errorf("request %+v", got)
	}
}

func TestListTokensSendsUnusedSince(t *testing.T) {
	var q url.Values
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q = r.URL.Query()
		writeJSON(w, 200, api.TokenPage{Items: []api.Token{}})
	}))
	defer srv.Close()
	c, _ := newTestClient(t, srv.URL)
	cut := time.Date(2026, 9, 1, 12, 0, 0, 0, time.UTC)
	for _, err := range c.ListTokens(context.Background(), ListQuery{UnusedSince: cut}) {
		t.Fatal(err)
	}
	if q.Get("unused_since") != "2026-09-01T12:00:00Z" {
		t.Errorf("query %v", q)
	}
}

// The admin listings send what the caller's listings send (one owner:
// ListQuery.values, EventQuery.values) plus their own filters, and the
// admin create carries an Idempotency-Key like CreateToken.
func TestAdminQueriesAddToTheCallersQueries(t *testing.T) {
	var got []url.Values
	var keys []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.URL.Query())
		switch r.URL.Path {
		case "/v1/admin/tokens":
			writeJSON(w, 200, api.AdminTokenPage{Items: []api.AdminToken{}})
		case "/v1/admin/events":
			writeJSON(w, 200, api.EventPage{Items: []api.Event{}})
		default:
			keys = append(keys, r.Header.Get(api.IdempotencyHeader))
			writeJSON(w, 201, api.CreatedToken{})
		}
	}))
	defer srv.Close()
	c, _ := newTestClient(t, srv.URL)
	ctx := context.Background()
	cut := time.Date(2026, 9, 1, 12, 0, 0, 0, time.UTC)
	lq := AdminListQuery{ListQuery: ListQuery{Status: "active", Name: "ci-*", Scopes: []string{"tokens:read"}, PageSize: 5, UnusedSince: cut},
		User: "alice", ExpiringWithin: 36 * time.Hour}
	for _, err := range c.AdminListTokens(ctx, lq) {
		t.Fatal(err)
	}
	eq := AdminEventQuery{EventQuery: EventQuery{TokenID: "t1", Types: []string{"token.created"}, Since: cut, Until: cut.Add(time.Hour), PageSize: 7}, User: "bob"}
	for _, err := range c.AdminEvents(ctx, eq) {
		t.Fatal(err)
	}
	if _, err := c.AdminCreateToken(ctx, "deploy-bot", api.CreateTokenRequest{Name: "x"}, ""); err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("%d requests, want 3", len(got))
	}
	want := []string{
		"expiring_within=129600&limit=5&name=ci-%2A&scope=tokens%3Aread&status=active&unused_since=2026-09-01T12%3A00%3A00Z&user=alice",
		"limit=7&since=2026-09-01T12%3A00%3A00Z&token_id=t1&type=token.created&until=2026-09-01T13%3A00%3A00Z&user=bob",
	}
	for i, w := range want {
		if g := got[i].Encode(); g != w {
			t.Errorf("request %d query\n got %s\nwant %s", i, g, w)
		}
	}
	if len(keys) != 1 || keys[0] == "" {
		t.Errorf("AdminCreateToken Idempotency-Key = %q, want a fresh key", keys)
	}
}
