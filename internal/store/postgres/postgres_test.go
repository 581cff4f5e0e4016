package postgres

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tokenctl/tokenctl/internal/store"
	"github.com/tokenctl/tokenctl/internal/store/pgtest"
	"github.com/tokenctl/tokenctl/internal/store/storetest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

func openTemp(t testing.TB) (*Store, string) {
	t.Helper()
	u := pgtest.URL(t)
	s, err := Open(context.Background(), u)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s, u
}

func TestPostgresConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, _ := openTemp(t)
		return s
	})
}

// Two pools on one database: two replicas.
func TestPostgresSharedConformance(t *testing.T) {
	storetest.RunShared(t, func(t *testing.T) (store.Store, store.Store) {
		a, u := openTemp(t)
		b, err := Open(context.Background(), u)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		t.Cleanup(func() { b.Close() })
		return a, b
	})
}

// Replicas starting at once on a fresh database: every Open succeeds and
// each migration is recorded exactly once.
func TestPostgresConcurrentOpenMigratesOnce(t *testing.T) {
	u := pgtest.URL(t)
	const n = 6
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			s, err := Open(context.Background(), u)
			if err == nil {
				s.Close()
			}
			errs[i] = err
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("concurrent Open: %v", err)
	}
	conn := connect(t, u)
	rows, err := conn.Query(context.Background(), `SELECT version, count(*) FROM tokend_schema_migrations GROUP BY version ORDER BY version`)
	if err != nil {
		t.Fatal(err)
	}
	var versions []int
	for rows.Next() {
		var v, c int
		if err := rows.Scan(&v, &c); err != nil {
			t.Fatal(err)
		}
		if c != 1 {
			t.Errorf("migration %d recorded %d times", v, c)
		}
		versions = append(versions, v)
	}
	ms, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	if len(versions) != len(ms) || versions[len(versions)-1] != SchemaVersion() {
		t.Fatalf("recorded versions %v, want the %d migrations up to %d", versions, len(ms), SchemaVersion())
	}
}

func TestPostgresRefusesNewerSchema(t *testing.T) {
	s, u := openTemp(t)
	s.Close()
	future := SchemaVersion() + 1
	if _, err := connect(t, u).Exec(context.Background(),
		`INSERT INTO tokend_schema_migrations (version, name) VALUES ($1, 'from the future')`, future); err != nil {
		t.Fatal(err)
	}
	_, err := Open(context.Background(), u)
	if err == nil {
		t.Fatal("Open accepted a schema newer than the binary")
	}
	for _, want := range []string{fmt.Sprintf("version %d", future), fmt.Sprintf("supports (%d)", SchemaVersion()), "newer tokend"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}

// The same idempotency key sent to two replicas at once makes one token;
// every caller gets that token, and only the last secret handed out works.
func TestPostgresIdempotencyKeyAcrossReplicas(t *testing.T) {
	a, u := openTemp(t)
	b, err := Open(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Microsecond)
	alice := store.User{ID: store.NewID(now), Username: "alice", PasswordHash: "h", CreatedAt: now}
	if err := a.CreateUser(ctx, alice); err != nil {
		t.Fatal(err)
	}
	for round := range 20 {
		key := fmt.Sprint("key-", round)
		const callers = 8
		var wg sync.WaitGroup
		ids := make([]string, callers)
		replays := make([]bool, callers)
		errs := make([]error, callers)
		for i := range callers {
			s := []*Store{a, b}[i%2]
			wg.Go(func() {
				d := sha256.Sum256(fmt.Appendf(nil, "%d-%d", round, i))
				tok, replayed, err := s.CreateToken(ctx, store.NewToken{
					ID: store.NewID(now), UserID: alice.ID, Name: "ci", KeyHint: "h", Digest: d,
					CreatedAt: now, ExpiresAt: now.Add(time.Hour),
					IdempotencyKey: key, RequestHash: sha256.Sum256([]byte("body")),
				})
				ids[i], replays[i], errs[i] = tok.ID, replayed, err
			})
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		firsts := 0
		for i := range callers {
			if ids[i] != ids[0] {
				t.Fatalf("round %d: callers got different tokens %v", round, ids)
			}
			if !replays[i] {
				firsts++
			}
		}
		if firsts != 1 {
			t.Fatalf("round %d: %d callers were told they created the token, want 1", round, firsts)
		}
	}
	page, err := storetest.List(ctx, a, store.ListOptions{UserID: alice.ID, Limit: 100})
	if err != nil || len(page) != 20 {
		t.Fatalf("ListTokens = %d tokens, %v; want 20 (one per key)", len(page), err)
	}
}

func TestPostgresOpenErrorsHideThePassword(t *testing.T) {
	for _, u := range []string{
		"postgres://tokend:s3cretpw@127.0.0.1:1/tokend?connect_timeout=1",
		"postgres://tokend:s3cretpw@[::1/x",
		"postgres://tokend@127.0.0.1:1/tokend?connect_timeout=1&password=s3cretpw",
	} {
		_, err := Open(context.Background(), u)
		if err == nil {
			t.Fatalf("Open(%s) succeeded", Redact(u))
		}
		if strings.Contains(err.Error(), "s3cretpw") {
			t.Errorf("error shows the password: %v", err)
		}
		if strings.Contains(err.Error(), "\n") {
			t.Errorf("error is more than one line: %q", err)
		}
	}
}

func TestLikePattern(t *testing.T) {
	for glob, want := range map[string]string{
		"ci-*":       "ci-%",
		"a?":         "a_",
		"50%off":     `50\%off`,
		"snake_case": `snake\_case`,
		`back\slash`: `back\\slash`,
		"[x]":        "[x]",
		"*":          "%",
		"é?*":        "é_%",
	} {
		if got := likePattern(glob); got != want {
			t.Errorf("likePattern(%q) = %q, want %q", glob, got, want)
		}
	}
}

func connect(t *testing.T, u string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// Export then Import into an empty database gives back the same rows, digests,
// idempotency records and last-used times included; a second Import into the
// now non-empty database is refused and changes nothing.
func TestPostgresExportImportRoundTrip(t *testing.T) {
	ctx := context.Background()
	src, _ := openTemp(t)
	now := time.Date(2026, 5, 1, 12, 0, 0, 123456000, time.UTC)
	var users []store.User
	for _, name := range []string{"bob", "alice"} {
		u := store.User{ID: store.NewID(now), Username: name, PasswordHash: "hash-" + name, CreatedAt: now}
		if name == "alice" { // role, kind and the disabled flag move too
			u.Role, u.Kind, u.Disabled, u.DisabledAt = store.RoleAdmin, store.KindService, true, now
		}
		if err := src.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		users = append(users, u)
	}
	if err := src.CreateScope(ctx, store.Scope{Name: "deploy:write", Description: "ship it", CreatedAt: now, MaxLifetime: 7 * 24 * time.Hour}); err != nil {
		t.Fatal(err)
	}
	// Creating with an Audit records a token.created event per token.
	actx := store.WithAudit(ctx, store.Audit{At: now, ActorKind: store.ActorPassword, ClientAddress: "192.0.2.7", UserAgent: "ua/1"})
	for i := range 10 {
		nt := store.NewToken{
			ID: store.NewID(now.Add(time.Duration(i) * time.Millisecond)), UserID: users[i%2].ID,
			Name: fmt.Sprint("t", i), Description: "d", KeyHint: "h", Digest: sha256.Sum256(fmt.Append(nil, i)),
			CreatedAt: now, ExpiresAt: now.Add(time.Hour), Scopes: []string{"tokens:read"},
		}
		if i%3 == 0 {
			nt.IdempotencyKey, nt.RequestHash = fmt.Sprint("k", i), sha256.Sum256([]byte("body"))
		}
		if i%4 == 0 {
			nt.Scopes = []string{"deploy:write", "tokens:read"}
		}
		if _, _, err := src.CreateToken(actx, nt); err != nil {
			t.Fatal(err)
		}
		if i%2 == 0 {
			if err := src.TouchToken(ctx, nt.ID, now.Add(time.Minute), 0); err != nil {
				t.Fatal(err)
			}
		}
	}
	// An event with every field the store keeps set.
	full := store.Event{
		ID: store.NewEventID(now.Add(time.Second)), UserID: users[1].ID, Time: now.Add(time.Second),
		Type: store.EventTokenRevokedLeaked, TokenID: "tid", TokenName: "tname", TokenKeyHint: "thint",
		ActorKind: store.ActorToken, ActorTokenID: "aid", ActorTokenName: "aname",
		ClientAddress: "198.51.100.1", UserAgent: "ua/2", Source: "github", Reason: "why",
		ActorUser: "root", Detail: "role admin",
	}
	if err := src.AddEvents(ctx, []store.Event{full}); err != nil {
		t.Fatal(err)
	}
	// Trust policies, and an exchange: a subject-token use and a
	// token.exchanged event with its policy and claims.
	for i, name := range []string{"gha", "gitlab"} {
		p := store.TrustPolicy{Name: name, Issuer: "https://issuer.example/" + name, Audience: "aud",
			Claims: []store.ClaimMatch{{Claim: "sub", Glob: "repo:org/*"}, {Claim: "ref", Glob: "refs/heads/main"}},
			UserID: users[i].ID, Scopes: []string{"tokens:read", "deploy:write"}, MaxLifetime: 15 * time.Minute, CreatedAt: now}
		if err := src.CreateTrustPolicy(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	xctx := store.WithAudit(ctx, store.Audit{At: now, ActorKind: store.ActorOIDC, TrustPolicy: "gha", Claims: map[string]string{"sub": "repo:org/app"}})
	if _, _, err := src.CreateToken(xctx, store.NewToken{ID: store.NewID(now.Add(20 * time.Millisecond)), UserID: users[0].ID, Name: "x", KeyHint: "h",
		Digest: sha256.Sum256([]byte("x")), CreatedAt: now, ExpiresAt: now.Add(time.Minute),
		SubjectTokenUse: &store.SubjectTokenUse{Issuer: "https://issuer.example/gha", ID: "jti", ExpiresAt: now.Add(5 * time.Minute)}}); err != nil {
		t.Fatal(err)
	}
	snap, err := src.Export(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Users) != 2 || len(snap.Tokens) != 11 || len(snap.Scopes) != 1 || len(snap.Events) != 12 ||
		len(snap.TrustPolicies) != 2 || len(snap.SubjectTokenUses) != 1 {
		t.Fatalf("exported %d users, %d tokens, %d scopes, %d events, %d policies and %d uses, want 2, 10, 1, 12, 2 and 1",
			len(snap.Users), len(snap.Tokens), len(snap.Scopes), len(snap.Events), len(snap.TrustPolicies), len(snap.SubjectTokenUses))
	}
	i := slices.IndexFunc(snap.Events, func(e store.Event) bool { return e.Type == store.EventTokenExchanged })
	if snap.TrustPolicies[0].Username != "bob" || i < 0 || snap.Events[i].TrustPolicy != "gha" || snap.Events[i].Claims["sub"] != "repo:org/app" {
		t.Fatalf("exported policy %+v, events %+v", snap.TrustPolicies[0], snap.Events)
	}
	if got := snap.Events[11]; !reflect.DeepEqual(got, full) {
		t.Fatalf("exported event %+v, want %+v", got, full)
	}
	dst, _ := openTemp(t)
	res, err := dst.Import(ctx, snap, store.ImportOptions{})
	if want := (store.ImportResult{Users: 2, Tokens: 11, Scopes: 1, Events: 12, TrustPolicies: 2, SubjectTokenUses: 1}); err != nil || res != want {
		t.Fatalf("Import = %+v, %v; want %+v", res, err, want)
	}
	back, err := dst.Export(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if a := back.Users[0]; a.Username != "alice" || a.Role != store.RoleAdmin || a.Kind != store.KindService || !a.Disabled || back.Scopes[0].MaxLifetime != 7*24*time.Hour {
		t.Fatalf("after the round trip alice = %+v, scope %+v", a, back.Scopes[0])
	}
	if fmt.Sprint(back) != fmt.Sprint(snap) {
		t.Fatalf("round trip differs:\n got %v\nwant %v", back, snap)
	}
	if _, err := dst.Import(ctx, store.Snapshot{Users: []store.User{{ID: store.NewID(now), Username: "carol", PasswordHash: "h", CreatedAt: now}}}, store.ImportOptions{}); !errors.Is(err, store.ErrNotEmpty) {
		t.Fatalf("Import into a non-empty store = %v, want ErrNotEmpty", err)
	}
	if _, err := dst.UserByName(ctx, "carol"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a refused import left carol behind: %v", err)
	}
}

// Two replicas exchanging the same identity token at once make one token.
func TestPostgresReplayAcrossReplicas(t *testing.T) {
	a, u := openTemp(t)
	b, err := Open(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	now := time.Now().UTC().Truncate(time.Microsecond)
	alice := store.User{ID: store.NewID(now), Username: "alice", PasswordHash: "h", CreatedAt: now}
	if err := a.CreateUser(context.Background(), alice); err != nil {
		t.Fatal(err)
	}
	storetest.ReplayRace(t, []store.Store{a, b}, alice)
}

// tokend migrate carries SSO providers (secret included) and which users
// a provider made; device codes and browser logins stay behind.
func TestPostgresExportImportCarriesSSO(t *testing.T) {
	ctx := context.Background()
	src, _ := openTemp(t)
	now := time.Now().UTC().Truncate(time.Microsecond)
	p := store.SSOProvider{Name: "corp", Issuer: "https://idp.example", ClientID: "tokend", ClientSecret: "s3cret", UsernameClaim: "email",
		Scopes: []string{"groups"}, Allow: []store.ClaimMatch{{Claim: "email", Glob: "*@example.com"}}, AdminIf: []store.ClaimMatch{},
		CreateUsers: true, CreatedAt: now}
	if err := src.CreateSSOProvider(ctx, p); err != nil {
		t.Fatal(err)
	}
	carol := store.User{ID: store.NewID(now), Username: "carol@example.com", CreatedAt: now}
	if err := src.CreateSSOUser(ctx, carol, "corp"); err != nil {
		t.Fatal(err)
	}
	if err := src.CreateDeviceCode(ctx, store.DeviceCode{Digest: sha256.Sum256([]byte("d")), UserCode: "BCDFGHJK", ClientHost: "h", ClientAddr: "a",
		CreatedAt: now, ExpiresAt: now.Add(time.Hour), Interval: time.Second}); err != nil {
		t.Fatal(err)
	}
	snap, err := src.Export(ctx)
	if err != nil {
		t.Fatal(err)
	}
	dst, _ := openTemp(t)
	res, err := dst.Import(ctx, snap, store.ImportOptions{})
	if err != nil || res.SSOProviders != 1 || res.SSOUsers != 1 || res.Users != 1 {
		t.Fatalf("Import = %+v, %v", res, err)
	}
	got, err := dst.SSOProviderByName(ctx, "corp")
	if err != nil || !reflect.DeepEqual(got, p) {
		t.Fatalf("provider after import = %+v, %v; want %+v", got, err, p)
	}
	if prov, err := dst.UserSSOProvider(ctx, carol.ID); err != nil || prov != "corp" {
		t.Fatalf("carol's provider after import = %q, %v", prov, err)
	}
	if _, err := dst.DeviceCodeByUserCode(ctx, "BCDFGHJK"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a device code was carried over: %v", err)
	}
}

// TestPostgresTokenPageUsesTheIndexAt10000: alice has 10,000 tokens,
// interleaved in time with 10,000 of 100 other users (ids sort by time, as
// store.NewID makes them). With fresh statistics, the queries ScanTokens
// sends for the first page, a deep page and a filtered window read an
// index backwards and sort nothing, so the console's and the API's page
// 200 costs what page 1 does. (For alice, half of all rows, the planner
// may walk the primary key and skip the other half; for a user with 100
// tokens it takes (user_id, id).)
func TestPostgresTokenPageUsesTheIndexAt10000(t *testing.T) {
	s, _ := openTemp(t)
	ctx := t.Context()
	var users []string
	for i := range 101 {
		u := store.User{ID: store.NewID(time.Now()), Username: fmt.Sprintf("user%03d", i), PasswordHash: "h", CreatedAt: time.Now().UTC()}
		if err := s.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		users = append(users, u.ID)
	}
	alice, others := users[0], users[1:]
	if _, err := s.pool.Exec(ctx, `INSERT INTO tokens (id, user_id, name, key_hint, digest, created_at, expires_at)
		SELECT lpad(i::text, 26, '0'), CASE WHEN i % 2 = 0 THEN $1 ELSE ($2::text[])[1 + (i / 2) % 100] END,
			'tok-' || i, 'tkn_abcd…wxyz', sha256(i::text::bytea), now(), now() + interval '1 day'
		FROM generate_series(1, 20000) AS i`, alice, others); err != nil {
		t.Fatal(err)
	}
	if _, err := s.pool.Exec(ctx, `ANALYZE tokens`); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		q    string
		args []any
	}{
		{"first page", `SELECT id FROM tokens WHERE user_id = $1 ORDER BY id DESC LIMIT 51`, []any{alice}},
		{"a small user's page", `SELECT id FROM tokens WHERE user_id = $1 AND id < $2 ORDER BY id DESC LIMIT 51`, []any{others[7], fmt.Sprintf("%026d", 15000)}},
		{"deep page", `SELECT id FROM tokens WHERE user_id = $1 AND id < $2 ORDER BY id DESC LIMIT 51`, []any{alice, fmt.Sprintf("%026d", 102)}},
		{"filtered window", `SELECT id FROM (SELECT * FROM tokens WHERE user_id = $1 AND id < $2 ORDER BY id DESC LIMIT 1000) w
			WHERE true AND name LIKE $3 ESCAPE '\' ORDER BY id DESC LIMIT 51`, []any{alice, fmt.Sprintf("%026d", 18000), "%tok-8%"}},
	} {
		rows, err := s.pool.Query(ctx, "EXPLAIN "+c.q, c.args...)
		if err != nil {
			t.Fatal(err)
		}
		var plan []string
		for rows.Next() {
			var line string
			if err := rows.Scan(&line); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, strings.TrimSpace(line))
		}
		rows.Close()
		p := strings.Join(plan, "\n")
		t.Logf("%s:\n%s", c.name, p)
		if !strings.Contains(p, "Scan Backward using tokens_") || strings.Contains(p, "Sort") || strings.Contains(p, "Seq Scan") {
			t.Errorf("%s: not a backward index scan without a sort", c.name)
		}
		if c.args[0] != alice && !strings.Contains(p, "tokens_user_id_id") {
			t.Errorf("%s: does not use the (user_id, id) index", c.name)
		}
	}
}
