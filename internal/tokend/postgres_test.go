package tokend

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tokenctl/tokenctl/internal/api"
	"github.com/tokenctl/tokenctl/internal/store"
	"github.com/tokenctl/tokenctl/internal/store/pgtest"
)

// TestMain stops the throw-away PostgreSQL cluster the postgres tests start.
func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// withPassword adds a password to a test database URL. The throw-away
// cluster trusts local connections and never asks for it, so it only
// serves to check that no log line or message shows it.
func withPassword(t *testing.T, dbURL, pw string) string {
	t.Helper()
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword(u.User.Username(), pw)
	return u.String()
}

func TestPostgresServeCreatesAndAuthenticates(t *testing.T) {
	db := withPassword(t, pgtest.URL(t), "db-pw-never-shown")
	if _, _, err := run(t, "alice-pw\n", nil, "user", "add", "alice", "--database", db); err != nil {
		t.Fatalf("user add on postgres: %v", err)
	}
	out, _, err := run(t, "", map[string]string{"TOKEND_DATABASE": db}, "user", "list")
	if err != nil || out != "alice\n" {
		t.Fatalf("user list via TOKEND_DATABASE = %q, %v", out, err)
	}
	out, _, err = run(t, "", nil, "user", "list", "--database", "postgresql://"+strings.TrimPrefix(db, "postgres://"))
	if err != nil || out != "alice\n" {
		t.Fatalf("user list via postgresql:// = %q, %v", out, err)
	}
	base, logs, stop := startServe(t, "--database", db)
	ct, status, err := createToken(http.DefaultClient, base, basicAuth("alice", "alice-pw"), "laptop")
	if err != nil || status != http.StatusCreated {
		t.Fatalf("create on postgres: %d, %v", status, err)
	}
	if got := authStatus(t, base, ct.Secret); got != http.StatusOK {
		t.Fatalf("GET /v1/user with the new token = %d, want 200", got)
	}
	if got := authStatus(t, base, ct.Secret+"x"); got != http.StatusUnauthorized {
		t.Fatalf("GET /v1/user with a wrong token = %d, want 401", got)
	}
	res, err := http.Get(base + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("/readyz on postgres = %d, want 200", res.StatusCode)
	}
	if err := stop(); err != nil {
		t.Fatalf("serve: %v", err)
	}
	if l := logs.String(); strings.Contains(l, "db-pw-never-shown") || !strings.Contains(l, "xxxxx@") {
		t.Fatalf("the log should name the database without its password:\n%s", l)
	}
}

func TestPostgresUnreachableIsOneLine(t *testing.T) {
	_, _, err := run(t, "", nil, "user", "list", "--database", "postgres://tokend:pw-secret@127.0.0.1:1/x?connect_timeout=2")
	if err == nil {
		t.Fatal("no error for an unreachable database")
	}
	if msg := err.Error(); strings.Contains(msg, "\n") || strings.Contains(msg, "pw-secret") || !strings.Contains(msg, "127.0.0.1:1") {
		t.Fatalf("error should be one line naming the server without the password: %q", msg)
	}
}

// TestMigrateSQLiteToPostgres fills a SQLite database through a real
// server, moves it with tokend migrate and checks that every token and
// password works unchanged on PostgreSQL, including an idempotent replay.
func TestMigrateSQLiteToPostgres(t *testing.T) {
	dir := t.TempDir()
	lite := filepath.Join(dir, "old.db")
	for _, u := range []string{"alice", "bob"} {
		if _, _, err := run(t, u+"-pw\n", nil, "user", "add", u, "--database", lite); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := run(t, "", nil, "scope", "add", "deploy:write", "--description", "ship it", "--database", lite); err != nil {
		t.Fatal(err)
	}
	base, _, stop := startServe(t, "--database", lite)
	// Every live secret with the scopes it must still carry after the move.
	scopes := map[string][]string{}
	var ids []string
	for _, u := range []string{"alice", "bob"} {
		for i := range 5 {
			ct, status, err := createToken(http.DefaultClient, base, basicAuth(u, u+"-pw"), u+string(rune('0'+i)))
			if err != nil || status != http.StatusCreated {
				t.Fatalf("create on sqlite: %d, %v", status, err)
			}
			scopes[ct.Secret] = ct.Scopes
			ids = append(ids, ct.ID)
		}
	}
	narrow := mustCreate(t, base, basicAuth("bob", "bob-pw"), `{"name":"narrow","scopes":["tokens:read"]}`)
	scopes[narrow.Secret] = narrow.Scopes
	keyed, status := createIdempotent(t, base, basicAuth("alice", "alice-pw"), "key-1", `{"name":"keyed"}`)
	if status != http.StatusCreated {
		t.Fatalf("idempotent create on sqlite: %d", status)
	}
	scopes[keyed.Secret] = keyed.Scopes
	// The audit trail gets a rotation, a deletion and a failed password.
	var rotated api.CreatedToken
	if status := call(t, "POST", base+"/v1/tokens/"+ids[5]+"/rotate", basicAuth("bob", "bob-pw"), &rotated); status != http.StatusOK {
		t.Fatalf("rotate on sqlite: %d", status)
	}
	for secret := range scopes {
		if authStatus(t, base, secret) != http.StatusOK {
			delete(scopes, secret) // the rotated-away secret
		}
	}
	scopes[rotated.Secret] = rotated.Scopes
	if status := call(t, "DELETE", base+"/v1/tokens/"+ids[4], basicAuth("alice", "alice-pw"), nil); status != http.StatusNoContent {
		t.Fatalf("delete on sqlite: %d", status)
	}
	for secret := range scopes {
		if authStatus(t, base, secret) != http.StatusOK {
			delete(scopes, secret) // the deleted token's
		}
	}
	if status := get(t, base, "/v1/user", basicAuth("bob", "wrong"), ""); status != http.StatusUnauthorized {
		t.Fatalf("wrong password on sqlite: %d", status)
	}
	if len(scopes) != 11 {
		t.Fatalf("%d live tokens before the move, want 11", len(scopes))
	}
	eventsBefore := map[string][]api.Event{}
	types := map[string]int{}
	for _, u := range []string{"alice", "bob"} {
		eventsBefore[u] = listEvents(t, base, basicAuth(u, u+"-pw"))
		for _, e := range eventsBefore[u] {
			types[e.Type]++
		}
	}
	if types["token.created"] != 12 || types["token.rotated"] != 1 || types["token.deleted"] != 1 || types["auth.failed"] != 1 {
		t.Fatalf("events on sqlite by type: %v", types)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	// A trust policy, and two exchanged identity tokens: one still live
	// (its use must move, so it cannot be exchanged again on the new
	// database) and one expired (left behind).
	if _, _, err := run(t, "", nil, "trust", "add", "gha", "--issuer", "https://token.actions.githubusercontent.com",
		"--audience", "https://tokend.example", "--claim", "repository=acme/app", "--user", "bob",
		"--scope", "deploy:write", "--database", lite); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	liveUse := store.SubjectTokenUse{Issuer: "https://token.actions.githubusercontent.com", ID: "jti-live", ExpiresAt: now.Add(time.Hour)}
	func() {
		st, err := openStore(context.Background(), lite)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		bob, err := st.UserByName(context.Background(), "bob")
		if err != nil {
			t.Fatal(err)
		}
		for i, u := range []store.SubjectTokenUse{liveUse, {Issuer: liveUse.Issuer, ID: "jti-old", ExpiresAt: now.Add(-time.Hour)}} {
			at := u.ExpiresAt.Add(-10 * time.Minute)
			if _, _, err := st.CreateToken(context.Background(), store.NewToken{ID: store.NewID(at), UserID: bob.ID, Name: fmt.Sprint("gha", i),
				KeyHint: "h", Digest: sha256.Sum256(fmt.Append(nil, "x", i)), CreatedAt: at, ExpiresAt: at.Add(5 * time.Minute),
				SubjectTokenUse: &u}); err != nil {
				t.Fatal(err)
			}
		}
	}()

	pg := pgtest.URL(t)
	out, _, err := run(t, "", nil, "migrate", "--from", "sqlite://"+lite, "--to", pg)
	if err != nil {
		t.Fatalf("migrate: %v", err)
	}
	if !strings.Contains(out, "copied 2 users, 13 tokens (1 with idempotency keys), 1 application scopes, 15 audit events, 1 trust policies and 1 live subject-token uses") || !strings.Contains(out, "verified") {
		t.Fatalf("migrate said %q", out)
	}
	out, _, err = run(t, "", nil, "trust", "list", "-o", "json", "--database", pg)
	if err != nil || !strings.Contains(out, `"name": "gha"`) || !strings.Contains(out, `"user": "bob"`) || !strings.Contains(out, `"glob": "acme/app"`) {
		t.Fatalf("trust list on postgres after migration = %s, %v", out, err)
	}
	func() {
		st, err := openStore(context.Background(), pg)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		bob, err := st.UserByName(context.Background(), "bob")
		if err != nil {
			t.Fatal(err)
		}
		_, _, err = st.CreateToken(context.Background(), store.NewToken{ID: store.NewID(now), UserID: bob.ID, Name: "again", KeyHint: "h",
			Digest: sha256.Sum256([]byte("again")), CreatedAt: now, ExpiresAt: now.Add(time.Minute), SubjectTokenUse: &liveUse})
		if !errors.Is(err, store.ErrReplayed) {
			t.Fatalf("exchanging the live identity token again after migration = %v, want ErrReplayed", err)
		}
	}()

	base, _, _ = startServe(t, "--database", pg)
	// The same trail, event for event, before anything new happens.
	for _, u := range []string{"alice", "bob"} {
		after := listEvents(t, base, basicAuth(u, u+"-pw"))
		if !sameEvents(after, eventsBefore[u]) {
			t.Fatalf("%s's events after migration:\n got %+v\nwant %+v", u, after, eventsBefore[u])
		}
	}
	var sl api.ScopeList
	if status := call(t, "GET", base+"/v1/scopes", basicAuth("alice", "alice-pw"), &sl); status != http.StatusOK {
		t.Fatalf("GET /v1/scopes after migration: %d", status)
	}
	if !slices.Contains(sl.Items, api.Scope{Name: "deploy:write", Description: "ship it"}) {
		t.Fatalf("scopes after migration: %+v", sl.Items)
	}
	for secret, want := range scopes {
		var cur api.CurrentToken
		if status := call(t, "GET", base+"/v1/tokens/current", "Bearer "+secret, &cur); status != http.StatusOK || !slices.Equal(cur.Scopes, want) {
			t.Fatalf("token %s after migration: %d with scopes %v, want 200 with %v", cur.ID, status, cur.Scopes, want)
		}
	}
	if !slices.Contains(scopes[keyed.Secret], "deploy:write") || slices.Contains(scopes[narrow.Secret], "deploy:write") {
		t.Fatalf("scopes on sqlite: keyed %v, narrow %v; the test needs one with the app scope and one without",
			scopes[keyed.Secret], scopes[narrow.Secret])
	}
	if _, status, err := createToken(http.DefaultClient, base, basicAuth("bob", "bob-pw"), "after"); err != nil || status != http.StatusCreated {
		t.Fatalf("bob's password after migration: create = %d, %v", status, err)
	}
	// The idempotency record moved too: a retry replays the same token.
	again, status := createIdempotent(t, base, basicAuth("alice", "alice-pw"), "key-1", `{"name":"keyed"}`)
	if status != http.StatusCreated || again.ID != keyed.ID {
		t.Fatalf("replay after migration = %d, id %s; want 201 with id %s", status, again.ID, keyed.ID)
	}

	// A second run finds the target in use and changes nothing.
	_, _, err = run(t, "", nil, "migrate", "--from", lite, "--to", pg)
	if err == nil || !strings.Contains(err.Error(), "not empty") || !strings.Contains(err.Error(), "--into-non-empty") {
		t.Fatalf("migrate into a non-empty target = %v; want a refusal that names --into-non-empty", err)
	}
	// Even when allowed, clashing rows abort the whole copy.
	_, _, err = run(t, "", nil, "migrate", "--from", lite, "--to", pg, "--into-non-empty")
	if err == nil || !strings.Contains(err.Error(), "nothing was imported") {
		t.Fatalf("migrate --into-non-empty with the same rows = %v; want a conflict", err)
	}
	out, _, _ = run(t, "", nil, "user", "list", "--database", pg)
	if out != "alice\nbob\n" {
		t.Fatalf("users after refused migrations = %q", out)
	}
}

func TestMigrateBadCommandLines(t *testing.T) {
	lite := filepath.Join(t.TempDir(), "x.db")
	for _, c := range []struct {
		name   string
		args   []string
		usage  bool
		errHas string
	}{
		{"no flags", []string{"migrate"}, true, "--from and --to"},
		{"no target", []string{"migrate", "--from", lite}, true, "--from and --to"},
		{"sqlite target", []string{"migrate", "--from", "postgres://h/db", "--to", lite}, true, "postgres://"},
		{"same database", []string{"migrate", "--from", "postgres://h/db", "--to", "postgres://h/db"}, true, "same database"},
		{"missing source file", []string{"migrate", "--from", lite, "--to", "postgres://h/db"}, true, "does not exist"},
		{"bad source scheme", []string{"migrate", "--from", "mysql://x", "--to", "postgres://h/db"}, true, "not supported"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := run(t, "", nil, c.args...)
			if err == nil {
				t.Fatal("no error")
			}
			if isUsage(err) != c.usage || !strings.Contains(err.Error(), c.errHas) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("error %q (usage %v): want one line with %q", err, isUsage(err), c.errHas)
			}
		})
	}
	if _, err := os.Stat(lite); err == nil {
		t.Fatal("a refused migrate created the source file")
	}
}

// call sends a request without a body and decodes a 2xx JSON answer into
// out (when not nil).
func call(t *testing.T, method, url, auth string, out any) int {
	t.Helper()
	req, _ := http.NewRequest(method, url, nil)
	req.Header.Set("Authorization", auth)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if out != nil && res.StatusCode/100 == 2 {
		if err := json.NewDecoder(res.Body).Decode(out); err != nil {
			t.Fatal(err)
		}
	}
	return res.StatusCode
}

// listEvents returns the user's whole audit trail, newest first (one page).
func listEvents(t *testing.T, base, auth string) []api.Event {
	t.Helper()
	var page api.EventPage
	if status := call(t, "GET", base+"/v1/events?limit=1000", auth, &page); status != http.StatusOK || page.NextCursor != nil {
		t.Fatalf("GET /v1/events = %d (next cursor %v)", status, page.NextCursor)
	}
	return page.Items
}

// sameEvents compares two trails field by field, times to the microsecond
// PostgreSQL keeps (SQLite keeps nanoseconds).
func sameEvents(a, b []api.Event) bool {
	trunc := func(evs []api.Event) []api.Event {
		out := slices.Clone(evs)
		for i := range out {
			out[i].Time = out[i].Time.Truncate(time.Microsecond)
		}
		return out
	}
	return reflect.DeepEqual(trunc(a), trunc(b))
}

func createIdempotent(t *testing.T, base, auth, key, body string) (api.CreatedToken, int) {
	t.Helper()
	req, _ := http.NewRequestWithContext(context.Background(), "POST", base+"/v1/tokens", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", auth)
	req.Header.Set("Idempotency-Key", key)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var ct api.CreatedToken
	if res.StatusCode == http.StatusCreated {
		if err := json.NewDecoder(res.Body).Decode(&ct); err != nil {
			t.Fatal(err)
		}
	}
	return ct, res.StatusCode
}
