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
