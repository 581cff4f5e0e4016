package storetest

import (
	"errors"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/tokenctl/tokenctl/internal/store"
)

func ssoProvider(name string) store.SSOProvider {
	return store.SSOProvider{
		Name:          name,
		Issuer:        "https://idp.example.com",
		ClientID:      "tokend",
		ClientSecret:  "s3cret",
		UsernameClaim: "email",
		Scopes:        []string{"groups", "offline_access", "groups"},
		Allow: []store.ClaimMatch{
			{Claim: "groups", Glob: "eng"},
			{Claim: "email", Glob: "*@example.com"},
		},
		AdminIf:     []store.ClaimMatch{{Claim: "groups", Glob: "admins"}},
		CreateUsers: true,
		CreatedAt:   epoch,
	}
}

func deviceCode(userCode string, now time.Time) store.DeviceCode {
	return store.DeviceCode{
		Digest:     randomDigest(),
		UserCode:   userCode,
		ClientHost: "laptop",
		ClientAddr: "192.0.2.1",
		CreatedAt:  now,
		ExpiresAt:  now.Add(10 * time.Minute),
		Interval:   5 * time.Second,
		State:      store.DevicePending,
	}
}

func testSSO(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Run("providers round trip, by name, and conflict", func(t *testing.T) {
		f := newFixture(t, newStore)
		p := ssoProvider("corp")
		if err := f.s.CreateSSOProvider(f.ctx, p); err != nil {
			t.Fatal(err)
		}
		if err := f.s.CreateSSOProvider(f.ctx, p); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("second create: %v, want ErrConflict", err)
		}
		q := ssoProvider("acme")
		q.CreateUsers, q.Allow, q.AdminIf, q.Scopes = false, nil, nil, nil
		if err := f.s.CreateSSOProvider(f.ctx, q); err != nil {
			t.Fatal(err)
		}
		got, err := f.s.SSOProviderByName(f.ctx, "corp")
		if err != nil {
			t.Fatal(err)
		}
		want := p
		want.Allow = store.NormalizeClaims(p.Allow)
		want.Scopes = []string{"groups", "offline_access"}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("SSOProviderByName = %+v, want %+v", got, want)
		}
		list, err := f.s.ListSSOProviders(f.ctx)
		if err != nil || len(list) != 2 || list[0].Name != "acme" || list[1].Name != "corp" {
			t.Fatalf("ListSSOProviders = %+v, %v", list, err)
		}
		if list[0].CreateUsers || len(list[0].Allow) != 0 || list[0].Allow == nil || list[0].Scopes == nil || len(list[0].Scopes) != 0 {
			t.Fatalf("acme = %+v, want no create, empty non-nil allow", list[0])
		}
		if err := f.s.DeleteSSOProvider(f.ctx, "corp"); err != nil {
			t.Fatal(err)
		}
		if err := f.s.DeleteSSOProvider(f.ctx, "corp"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("second delete: %v", err)
		}
		if _, err := f.s.SSOProviderByName(f.ctx, "corp"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("deleted provider: %v", err)
		}
	})

	t.Run("device code: approve once, poll collects once", func(t *testing.T) {
		f := newFixture(t, newStore)
		alice := f.user("alice")
		d := deviceCode("BCDFGHJK", epoch)
		if err := f.s.CreateDeviceCode(f.ctx, d); err != nil {
			t.Fatal(err)
		}
		clash := deviceCode("BCDFGHJK", epoch)
		if err := f.s.CreateDeviceCode(f.ctx, clash); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("same user code: %v, want ErrConflict", err)
		}
		got, err := f.s.DeviceCodeByUserCode(f.ctx, "BCDFGHJK")
		if err != nil || got.Digest != d.Digest || got.ClientHost != "laptop" || got.State != store.DevicePending || !got.ExpiresAt.Equal(d.ExpiresAt) || got.Interval != d.Interval {
			t.Fatalf("DeviceCodeByUserCode = %+v, %v", got, err)
		}
		if _, err := f.s.DeviceCodeByUserCode(f.ctx, "ZZZZZZZZ"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("unknown user code: %v", err)
		}
		// Pending: the first poll is not slow, the next one at once is.
		now := epoch.Add(time.Second)
		p, slow, err := f.s.PollDeviceCode(f.ctx, d.Digest, now)
		if err != nil || slow || p.State != store.DevicePending {
			t.Fatalf("first poll = %+v, %v, %v", p, slow, err)
		}
		p, slow, err = f.s.PollDeviceCode(f.ctx, d.Digest, now.Add(time.Second))
		if err != nil || !slow {
			t.Fatalf("early poll: slow=%v err=%v, want slow", slow, err)
		}
		if err := f.s.DecideDeviceCode(f.ctx, "BCDFGHJK", true, alice.ID, now); err != nil {
			t.Fatal(err)
		}
		if err := f.s.DecideDeviceCode(f.ctx, "BCDFGHJK", true, alice.ID, now); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("second approval: %v, want ErrConflict", err)
		}
		// The interval grew to 10 s: a poll 6 s after the last is still
		// early and must not consume the approval.
		p, slow, err = f.s.PollDeviceCode(f.ctx, d.Digest, now.Add(7*time.Second))
		if err != nil || !slow || p.State != store.DeviceApproved {
			t.Fatalf("early poll after approval = %+v, %v, %v", p, slow, err)
		}
		p, slow, err = f.s.PollDeviceCode(f.ctx, d.Digest, now.Add(time.Minute))
		if err != nil || slow || p.State != store.DeviceApproved || p.UserID != alice.ID || p.Username != "alice" {
			t.Fatalf("collecting poll = %+v, %v, %v", p, slow, err)
		}
		p, _, err = f.s.PollDeviceCode(f.ctx, d.Digest, now.Add(2*time.Minute))
		if err != nil || p.State != store.DeviceConsumed {
			t.Fatalf("poll after collecting = %+v, %v, want consumed", p, err)
		}
		if _, _, err := f.s.PollDeviceCode(f.ctx, randomDigest(), now); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("unknown digest: %v", err)
		}
	})

	t.Run("device code: expired and denied cannot be approved", func(t *testing.T) {
		f := newFixture(t, newStore)
		alice := f.user("alice")
		d := deviceCode("CDFGHJKL", epoch)
		if err := f.s.CreateDeviceCode(f.ctx, d); err != nil {
			t.Fatal(err)
		}
		if err := f.s.DecideDeviceCode(f.ctx, "CDFGHJKL", true, alice.ID, d.ExpiresAt); !errors.Is(err, store.ErrExpired) {
			t.Fatalf("approve at expiry: %v, want ErrExpired", err)
		}
		if err := f.s.DecideDeviceCode(f.ctx, "CDFGHJKL", false, "", epoch); err != nil {
			t.Fatal(err)
		}
		if err := f.s.DecideDeviceCode(f.ctx, "CDFGHJKL", true, alice.ID, epoch); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("approve a denied code: %v, want ErrConflict", err)
		}
		if err := f.s.DecideDeviceCode(f.ctx, "NOSUCHXX", true, alice.ID, epoch); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("unknown code: %v", err)
		}
		p, _, err := f.s.PollDeviceCode(f.ctx, d.Digest, epoch)
		if err != nil || p.State != store.DeviceDenied {
			t.Fatalf("poll of denied = %+v, %v", p, err)
		}
		// An expired code is forgotten by a later create.
		if err := f.s.CreateDeviceCode(f.ctx, deviceCode("DFGHJKLM", d.ExpiresAt)); err != nil {
			t.Fatal(err)
		}
		if _, err := f.s.DeviceCodeByUserCode(f.ctx, "CDFGHJKL"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("expired code after a later create: %v, want pruned", err)
		}
	})

	t.Run("device code: MaxPending bounds the codes waiting for a person", func(t *testing.T) {
		f := newFixture(t, newStore)
		create := func(code string, at time.Time) error {
			d := deviceCode(code, at)
			d.MaxPending = 2
			return f.s.CreateDeviceCode(f.ctx, d)
		}
		for _, c := range []string{"BCDFGHJA", "BCDFGHJB"} {
			if err := create(c, epoch); err != nil {
				t.Fatal(err)
			}
		}
		if err := create("BCDFGHJC", epoch); !errors.Is(err, store.ErrLimit) {
			t.Fatalf("a third pending code = %v, want ErrLimit", err)
		}
		if _, err := f.s.DeviceCodeByUserCode(f.ctx, "BCDFGHJC"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("the refused code was stored: %v", err)
		}
		// A decided code is no longer pending; nor is an expired one.
		if err := f.s.DecideDeviceCode(f.ctx, "BCDFGHJA", false, "", epoch); err != nil {
			t.Fatal(err)
		}
		if err := create("BCDFGHJC", epoch); err != nil {
			t.Fatalf("after a refusal: %v", err)
		}
		later := epoch.Add(10 * time.Minute)
		if err := create("BCDFGHJD", later); err != nil {
			t.Fatalf("after the others expired: %v", err)
		}
	})

	t.Run("device code: of concurrent approvals one wins", func(t *testing.T) {
		f := newFixture(t, newStore)
		alice := f.user("alice")
		if err := f.s.CreateDeviceCode(f.ctx, deviceCode("FGHJKLMN", epoch)); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for range 8 {
			wg.Go(func() { errs <- f.s.DecideDeviceCode(f.ctx, "FGHJKLMN", true, alice.ID, epoch) })
		}
		wg.Wait()
		close(errs)
		won := 0
		for err := range errs {
			switch {
			case err == nil:
				won++
			case !errors.Is(err, store.ErrConflict):
				t.Errorf("approval: %v", err)
			}
		}
		if won != 1 {
			t.Fatalf("%d approvals won, want 1", won)
		}
	})

	t.Run("sso login is taken once and not after expiry", func(t *testing.T) {
		f := newFixture(t, newStore)
		future := time.Now().Add(10 * time.Minute).UTC().Truncate(time.Microsecond)
		l := store.SSOLogin{StateDigest: randomDigest(), SessionDigest: randomDigest(), Provider: "corp", UserCode: "BCDFGHJK", Nonce: "n", Verifier: "v", ExpiresAt: future}
		if err := f.s.CreateSSOLogin(f.ctx, l); err != nil {
			t.Fatal(err)
		}
		if err := f.s.CreateSSOLogin(f.ctx, l); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("same state twice: %v", err)
		}
		got, err := f.s.TakeSSOLogin(f.ctx, l.StateDigest, future.Add(-time.Minute))
		if err != nil || !reflect.DeepEqual(got, l) {
			t.Fatalf("TakeSSOLogin = %+v, %v, want %+v", got, err, l)
		}
		if _, err := f.s.TakeSSOLogin(f.ctx, l.StateDigest, future.Add(-time.Minute)); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("replayed take: %v, want ErrNotFound", err)
		}
		old := l
		old.StateDigest = randomDigest()
		if err := f.s.CreateSSOLogin(f.ctx, old); err != nil {
			t.Fatal(err)
		}
		if _, err := f.s.TakeSSOLogin(f.ctx, old.StateDigest, future); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("expired take: %v, want ErrNotFound", err)
		}
	})

	t.Run("provisioned users remember their provider and have no password", func(t *testing.T) {
		f := newFixture(t, newStore)
		bob := f.user("bob")
		u := store.User{ID: store.NewID(epoch), Username: "carol@example.com", CreatedAt: epoch}
		if err := f.s.CreateSSOUser(f.ctx, u, "corp"); err != nil {
			t.Fatal(err)
		}
		if err := f.s.CreateSSOUser(f.ctx, store.User{ID: store.NewID(epoch), Username: "bob", CreatedAt: epoch}, "corp"); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("taken username: %v, want ErrConflict", err)
		}
		got, err := f.s.UserByName(f.ctx, "carol@example.com")
		if err != nil || got.ID != u.ID || got.PasswordHash != "" {
			t.Fatalf("UserByName = %+v, %v", got, err)
		}
		if p, err := f.s.UserSSOProvider(f.ctx, u.ID); err != nil || p != "corp" {
			t.Fatalf("UserSSOProvider(carol) = %q, %v", p, err)
		}
		if p, err := f.s.UserSSOProvider(f.ctx, bob.ID); err != nil || p != "" {
			t.Fatalf("UserSSOProvider(bob) = %q, %v", p, err)
		}
	})
}
