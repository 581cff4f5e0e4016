package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/tokenctl/tokenctl/internal/scope"
	"github.com/tokenctl/tokenctl/internal/store"
)

const (
	ghIssuer = "https://token.actions.githubusercontent.com"
	glIssuer = "https://gitlab.example.com"
)

// policy returns a trust policy for u named name.
func policy(u store.User, name, issuer string) store.TrustPolicy {
	return store.TrustPolicy{
		Name:     name,
		Issuer:   issuer,
		Audience: "https://tokend.example.com",
		Claims: []store.ClaimMatch{
			{Claim: "repository", Glob: "org/app"},
			{Claim: "ref", Glob: "refs/heads/*"},
			{Claim: "ref", Glob: "refs/heads/main"},
			{Claim: "repository", Glob: "org/app"}, // a duplicate, dropped
		},
		UserID:      u.ID,
		Scopes:      scope.NewSet("tokens:read", "deploy:write", "tokens:read"),
		MaxLifetime: 15*time.Minute + 1500*time.Microsecond,
		CreatedAt:   epoch,
	}
}

// addPolicy stores p, failing the test on error.
func (f *fixture) addPolicy(p store.TrustPolicy) {
	f.t.Helper()
	if err := f.s.CreateTrustPolicy(f.ctx, p); err != nil {
		f.t.Fatalf("CreateTrustPolicy(%s): %v", p.Name, err)
	}
}

func policyNames(ps []store.TrustPolicy) []string {
	names := []string{}
	for _, p := range ps {
		names = append(names, p.Name)
	}
	return names
}

// exchange returns a NewToken for u recording the use of identity token
// jti from issuer, expiring at exp, created at at.
func exchange(u store.User, name, issuer, jti string, at, exp time.Time) store.NewToken {
	nt := newToken(u, name)
	nt.CreatedAt, nt.ExpiresAt = at, at.Add(10*time.Minute)
	nt.SubjectTokenUse = &store.SubjectTokenUse{Issuer: issuer, ID: jti, ExpiresAt: exp}
	return nt
}

func testTrust(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Run("CreateTrustPolicy, List by name, ForIssuer, Delete; fields round trip normalized", func(t *testing.T) {
		f := newFixture(t, newStore)
		alice := f.user("alice")
		if got, err := f.s.ListTrustPolicies(f.ctx); err != nil || got == nil || len(got) != 0 {
			t.Fatalf("ListTrustPolicies on an empty store = %#v, %v; want []", got, err)
		}
		for _, p := range []store.TrustPolicy{policy(alice, "gha-deploy", ghIssuer), policy(alice, "gitlab", glIssuer), policy(alice, "gha-build", ghIssuer)} {
			f.addPolicy(p)
		}
		all, err := f.s.ListTrustPolicies(f.ctx)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := policyNames(all), []string{"gha-build", "gha-deploy", "gitlab"}; !slices.Equal(got, want) {
			t.Fatalf("ListTrustPolicies = %q, want %q", got, want)
		}
		got := all[1]
		want := store.TrustPolicy{
			Name: "gha-deploy", Issuer: ghIssuer, Audience: "https://tokend.example.com",
			Claims: []store.ClaimMatch{{Claim: "ref", Glob: "refs/heads/*"}, {Claim: "ref", Glob: "refs/heads/main"}, {Claim: "repository", Glob: "org/app"}},
			UserID: alice.ID, Username: "alice", Scopes: []string{"deploy:write", "tokens:read"},
			MaxLifetime: 15*time.Minute + 1500*time.Microsecond, CreatedAt: epoch,
		}
		checkTime(t, "CreatedAt", got.CreatedAt, epoch)
		got.CreatedAt = epoch
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("policy read back\n got %+v\nwant %+v", got, want)
		}

		gh, err := f.s.TrustPoliciesForIssuer(f.ctx, ghIssuer)
		if err != nil || !slices.Equal(policyNames(gh), []string{"gha-build", "gha-deploy"}) {
			t.Fatalf("TrustPoliciesForIssuer(github) = %q, %v", policyNames(gh), err)
		}
		if gh[1].Username != "alice" || len(gh[1].Claims) != 3 {
			t.Fatalf("TrustPoliciesForIssuer fields: %+v", gh[1])
		}
		// Exact match: a trailing slash is another issuer.
		if none, err := f.s.TrustPoliciesForIssuer(f.ctx, ghIssuer+"/"); err != nil || none == nil || len(none) != 0 {
			t.Fatalf("TrustPoliciesForIssuer(other) = %#v, %v; want []", none, err)
		}

		if err := f.s.DeleteTrustPolicy(f.ctx, "gha-build"); err != nil {
			t.Fatalf("DeleteTrustPolicy: %v", err)
		}
		if err := f.s.DeleteTrustPolicy(f.ctx, "gha-build"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("second DeleteTrustPolicy = %v, want ErrNotFound", err)
		}
		if all, _ := f.s.ListTrustPolicies(f.ctx); !slices.Equal(policyNames(all), []string{"gha-deploy", "gitlab"}) {
			t.Fatalf("after delete: %q", policyNames(all))
		}
	})

	t.Run("a taken name is ErrConflict, an unknown user ErrNotFound, and neither stores anything", func(t *testing.T) {
		f := newFixture(t, newStore)
		alice, bob := f.user("alice"), f.user("bob")
		f.addPolicy(policy(alice, "p", ghIssuer))
		if err := f.s.CreateTrustPolicy(f.ctx, policy(bob, "p", glIssuer)); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("duplicate name = %v, want ErrConflict", err)
		}
		ghost := store.User{ID: store.NewID(epoch), Username: "ghost"}
		if err := f.s.CreateTrustPolicy(f.ctx, policy(ghost, "q", ghIssuer)); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("unknown user = %v, want ErrNotFound", err)
		}
		all, _ := f.s.ListTrustPolicies(f.ctx)
		if len(all) != 1 || all[0].Username != "alice" || all[0].Issuer != ghIssuer {
			t.Fatalf("after refusals: %+v", all)
		}
	})

	t.Run("deleting a user deletes their policies", func(t *testing.T) {
		f := newFixture(t, newStore)
		alice, bob := f.user("alice"), f.user("bob")
		f.addPolicy(policy(alice, "a1", ghIssuer))
		f.addPolicy(policy(alice, "a2", glIssuer))
		f.addPolicy(policy(bob, "b1", ghIssuer))
		if err := f.s.DeleteUser(f.ctx, "alice"); err != nil {
			t.Fatal(err)
		}
		all, _ := f.s.ListTrustPolicies(f.ctx)
		if !slices.Equal(policyNames(all), []string{"b1"}) {
			t.Fatalf("policies after deleting alice: %q, want [b1]", policyNames(all))
		}
		// A new user must not inherit anything under the old name.
		f.user("alice")
		if gh, _ := f.s.TrustPoliciesForIssuer(f.ctx, ghIssuer); !slices.Equal(policyNames(gh), []string{"b1"}) {
			t.Fatalf("github policies: %q", policyNames(gh))
		}
	})

	t.Run("a subject token is accepted once until it expires; a replay inserts nothing", func(t *testing.T) {
		f := newFixture(t, newStore)
		alice := f.user("alice")
		actx := store.WithAudit(f.ctx, store.Audit{At: epoch, ActorKind: store.ActorOIDC, TrustPolicy: "p", Claims: map[string]string{"sub": "x"}})
		exp := epoch.Add(5 * time.Minute)
		first := exchange(alice, "first", ghIssuer, "jti-1", epoch, exp)
		if _, replayed, err := f.s.CreateToken(actx, first); err != nil || replayed {
			t.Fatalf("first exchange = replayed %v, %v", replayed, err)
		}
		again := exchange(alice, "again", ghIssuer, "jti-1", epoch.Add(time.Minute), exp)
		if tok, _, err := f.s.CreateToken(actx, again); !errors.Is(err, store.ErrReplayed) {
			t.Fatalf("replay = %+v, %v; want ErrReplayed", tok, err)
		}
		f.mustNotFind(again.Digest, "a refused replay")
		if evs := f.events(alice, 100); len(evs) != 1 || evs[0].TokenID != first.ID {
			t.Fatalf("events after a refused replay: %+v, want only the first exchange", evs)
		}
		// A microsecond before expiry it is still live.
		late := exchange(alice, "late", ghIssuer, "jti-1", exp.Add(-time.Microsecond), exp)
		if _, _, err := f.s.CreateToken(f.ctx, late); !errors.Is(err, store.ErrReplayed) {
			t.Fatalf("replay just before expiry = %v; want ErrReplayed", err)
		}
		// The same jti from another issuer is another token.
		other := exchange(alice, "other", glIssuer, "jti-1", epoch.Add(time.Minute), exp)
		f.create(other)
		// Once the record expired, the use is accepted again (the verifier
		// refuses the expired JWT itself; the store only forgets).
		after := exchange(alice, "after", ghIssuer, "jti-1", exp, exp.Add(5*time.Minute))
		f.create(after)
		if _, _, err := f.s.CreateToken(f.ctx, exchange(alice, "after2", ghIssuer, "jti-1", exp.Add(time.Minute), exp.Add(5*time.Minute))); !errors.Is(err, store.ErrReplayed) {
			t.Fatalf("replay of the renewed record = %v; want ErrReplayed", err)
		}
	})

	t.Run("an idempotent retry of an exchange replays the token instead of refusing it", func(t *testing.T) {
		f := newFixture(t, newStore)
		alice := f.user("alice")
		nt := exchange(alice, "ci", ghIssuer, "jti-k", epoch, epoch.Add(time.Hour))
		nt.IdempotencyKey, nt.RequestHash = "k", [32]byte{7}
		first := f.create(nt)
		nt.Digest = randomDigest()
		tok, replayed, err := f.s.CreateToken(f.ctx, nt)
		if err != nil || !replayed || tok.ID != first.ID {
			t.Fatalf("retry = %s replayed %v, %v; want a replay of %s", tok.ID, replayed, err, first.ID)
		}
		f.mustFind(nt.Digest, first.ID)
	})

	t.Run("expired uses are forgotten by later creates", func(t *testing.T) {
		f := newFixture(t, newStore)
		exp, ok := f.s.(store.Exporter)
		if !ok {
			t.Fatal("the store does not implement store.Exporter")
		}
		alice := f.user("alice")
		for i := range 5 {
			f.create(exchange(alice, fmt.Sprint("t", i), ghIssuer, fmt.Sprint("jti-", i), epoch, epoch.Add(time.Duration(i+1)*time.Minute)))
		}
		f.create(exchange(alice, "later", ghIssuer, "jti-later", epoch.Add(3*time.Minute), epoch.Add(time.Hour)))
		snap, err := exp.Export(f.ctx)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, u := range snap.SubjectTokenUses {
			ids = append(ids, u.ID)
			if u.Issuer != ghIssuer {
				t.Errorf("use %s issuer %q", u.ID, u.Issuer)
			}
		}
		if want := []string{"jti-3", "jti-4", "jti-later"}; !slices.Equal(ids, want) {
			t.Fatalf("uses after a create at +3m = %q, want %q", ids, want)
		}
		checkTime(t, "jti-later ExpiresAt", snap.SubjectTokenUses[2].ExpiresAt, epoch.Add(time.Hour))
	})

	t.Run("concurrent exchanges of one subject token make exactly one token", func(t *testing.T) {
		f := newFixture(t, newStore)
		ReplayRace(t, []store.Store{f.s}, f.user("alice"))
	})

	t.Run("an OIDC create records token.exchanged with the policy and claims", func(t *testing.T) {
		f := newFixture(t, newStore)
		alice := f.user("alice")
		claims := map[string]string{"repository": "org/app", "ref": "refs/heads/main", "run_id": "123", "sub": "repo:org/app:ref:refs/heads/main"}
		a := store.Audit{At: epoch.Add(time.Second), ActorKind: store.ActorOIDC, ClientAddress: "192.0.2.9", UserAgent: "tokenctl/2",
			TrustPolicy: "gha-deploy", Claims: claims}
		nt := exchange(alice, "gha:org/app@refs/heads/main#run-123", ghIssuer, "j", epoch, epoch.Add(time.Hour))
		tok := f.create2(store.WithAudit(f.ctx, a), nt)
		plain := f.create2(store.WithAudit(f.ctx, testAudit), newToken(alice, "plain"))

		evs := f.events(alice, 100)
		if len(evs) != 2 {
			t.Fatalf("events = %+v, want 2", evs)
		}
		ex, cr := evs[1], evs[0] // newest first
		if cr.TokenID != plain.ID {
			ex, cr = cr, ex
		}
		if ex.Type != store.EventTokenExchanged || ex.TokenID != tok.ID || ex.TokenName != nt.Name || ex.ActorKind != store.ActorOIDC ||
			ex.TrustPolicy != "gha-deploy" || !reflect.DeepEqual(ex.Claims, claims) || ex.ClientAddress != "192.0.2.9" {
			t.Fatalf("exchange event = %+v", ex)
		}
		if cr.Type != store.EventTokenCreated || cr.TrustPolicy != "" || cr.Claims != nil {
			t.Fatalf("plain create event = %+v, want token.created with no policy or claims", cr)
		}
		// AddEvents keeps them too, and a type filter finds the exchange.
		e := store.Event{ID: store.NewEventID(epoch.Add(time.Minute)), UserID: alice.ID, Time: epoch.Add(time.Minute),
			Type: store.EventTokenExchanged, TokenID: "t", ActorKind: store.ActorOIDC, TrustPolicy: "gl", Claims: map[string]string{"project_path": "g/p", "quote\"": "ü\n"}}
		if err := f.s.AddEvents(f.ctx, []store.Event{e}); err != nil {
			t.Fatal(err)
		}
		got := f.eventsWith(store.EventListOptions{UserID: alice.ID, Types: []string{store.EventTokenExchanged}, Limit: 10})
		if len(got) != 2 || !reflect.DeepEqual(got[0].Claims, e.Claims) || got[0].TrustPolicy != "gl" {
			t.Fatalf("exchanged events = %+v", got)
		}
		checkTime(t, "event time", got[0].Time, e.Time)
	})

	t.Run("DeleteScope is refused while a trust policy grants the scope", func(t *testing.T) {
		f := newFixture(t, newStore)
		alice := f.user("alice")
		for _, n := range []string{"deploy:write", "deploy:writer"} {
			if err := f.s.CreateScope(f.ctx, store.Scope{Name: n, CreatedAt: epoch}); err != nil {
				t.Fatal(err)
			}
		}
		f.addPolicy(policy(alice, "gha-deploy", ghIssuer)) // deploy:write, tokens:read
		p2 := policy(alice, "gitlab-deploy", glIssuer)
		p2.Scopes = []string{"deploy:write"}
		f.addPolicy(p2)
		// A prefix of another scope's name is not that scope.
		if err := f.s.DeleteScope(f.ctx, "deploy:writer", epoch); err != nil {
			t.Fatalf("DeleteScope(deploy:writer) = %v", err)
		}
		err := f.s.DeleteScope(f.ctx, "deploy:write", epoch)
		var inUse *store.ScopeInUseError
		if !errors.As(err, &inUse) || !errors.Is(err, store.ErrConflict) || inUse.Live != 0 ||
			!slices.Equal(inUse.Policies, []string{"gha-deploy", "gitlab-deploy"}) {
			t.Fatalf("DeleteScope(granted) = %#v, want a ScopeInUseError naming both policies", err)
		}
		if got, _ := f.s.ListScopes(f.ctx); len(got) != 1 {
			t.Fatalf("refused delete removed the scope: %+v", got)
		}
		for _, n := range []string{"gha-deploy", "gitlab-deploy"} {
			if err := f.s.DeleteTrustPolicy(f.ctx, n); err != nil {
				t.Fatal(err)
			}
		}
		if err := f.s.DeleteScope(f.ctx, "deploy:write", epoch); err != nil {
			t.Fatalf("DeleteScope once no policy grants it = %v", err)
		}
	})
}

// create2 is create under ctx.
func (f *fixture) create2(ctx context.Context, nt store.NewToken) store.Token {
	f.t.Helper()
	tok, replayed, err := f.s.CreateToken(ctx, nt)
	if err != nil || replayed {
		f.t.Fatalf("CreateToken(%s) = replayed %v, %v", nt.Name, replayed, err)
	}
	return tok
}

// ReplayRace exchanges the same identity tokens from many goroutines spread
// over stores (which should share one database: two connections or two
// processes' worth of pools) and checks each makes exactly one token, the
// others failing with store.ErrReplayed. u must exist in the database
// and have no tokens or events yet.
func ReplayRace(t *testing.T, stores []store.Store, u store.User) {
	t.Helper()
	ctx := t.Context()
	const rounds, callers = 10, 8
	for round := range rounds {
		jti := fmt.Sprint("race-", round)
		var wg sync.WaitGroup
		errs := make([]error, callers)
		digests := make([][32]byte, callers)
		for i := range callers {
			s := stores[i%len(stores)]
			nt := exchange(u, fmt.Sprintf("r%d-%d", round, i), ghIssuer, jti, epoch, epoch.Add(time.Hour))
			digests[i] = nt.Digest
			wg.Go(func() {
				a := store.Audit{At: epoch, ActorKind: store.ActorOIDC, TrustPolicy: "p"}
				_, _, errs[i] = s.CreateToken(store.WithAudit(ctx, a), nt)
			})
		}
		wg.Wait()
		won := 0
		for i, err := range errs {
			switch {
			case err == nil:
				won++
				if _, _, err := stores[0].TokenByDigest(ctx, digests[i]); err != nil {
					t.Fatalf("round %d: the winner's token is not there: %v", round, err)
				}
			case errors.Is(err, store.ErrReplayed):
				if _, _, err := stores[0].TokenByDigest(ctx, digests[i]); !errors.Is(err, store.ErrNotFound) {
					t.Fatalf("round %d: a refused replay left its token: %v", round, err)
				}
			default:
				t.Fatalf("round %d: caller %d: %v", round, i, err)
			}
		}
		if won != 1 {
			t.Fatalf("round %d: %d exchanges of one subject token succeeded, want 1", round, won)
		}
	}
	page, err := List(ctx, stores[0], store.ListOptions{UserID: u.ID, Limit: 100})
	if err != nil || len(page) != rounds {
		t.Fatalf("ScanTokens = %d tokens, %v; want %d (one per subject token)", len(page), err, rounds)
	}
	evs, err := stores[0].ListEvents(ctx, store.EventListOptions{UserID: u.ID, Limit: 100})
	if err != nil || len(evs) != rounds {
		t.Fatalf("ListEvents = %d events, %v; want %d", len(evs), err, rounds)
	}
}
