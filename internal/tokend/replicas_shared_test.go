package tokend

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tokenctl/tokenctl/internal/server"
	"github.com/tokenctl/tokenctl/internal/store/pgtest"
)

// get sends GET path with an Authorization header (if any) and, when from is
// set, an X-Forwarded-For naming the client, for a tokend run with
// --trust-proxy.
func get(t *testing.T, base, path, auth, from string) int {
	t.Helper()
	req, _ := http.NewRequest("GET", base+path, nil)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	if from != "" {
		req.Header.Set("X-Forwarded-For", from)
	}
	res, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

// The failed-authentication budgets are kept in PostgreSQL, so two tokend
// processes on one database spend one budget each:
//   - wrong passwords for one account from one address: the (limit+1)th
//     attempt is 429 whichever replica gets it, right password included,
//     while another account at that address and that account elsewhere
//     sign in;
//   - wrong passwords from one address across accounts (a spray);
//   - failing tokens from one address, refused on the failing path only:
//     a valid token from it passes on both replicas.
func TestPostgresReplicasShareTheLoginBudget(t *testing.T) {
	bin := buildTokend(t)
	db := pgtest.URL(t)
	addUserProc(t, bin, db, "alice", "alice-pw")
	addUserProc(t, bin, db, "bob", "bob-pw")
	// Behind a proxy each round can be its own client address.
	a := startProc(t, bin, db, "--trust-proxy")
	b := startProc(t, bin, db, "--trust-proxy")
	replicas := []*proc{a, b}

	t.Run("per account and address", func(t *testing.T) {
		const limit = server.DefaultPasswordFailures
		for first, from := range []string{"203.0.113.10", "203.0.113.11"} {
			for i := range limit {
				p := replicas[(first+i)%2]
				if got := get(t, p.url, "/v1/user", basicAuth("alice", "guess-Zq9"), from); got != http.StatusUnauthorized {
					t.Fatalf("%s: wrong password %d = %d, want 401", from, i+1, got)
				}
			}
			// The next attempt goes to the replica after the last one, then to
			// the other: both refuse, even the right password.
			for j := range 2 {
				p := replicas[(first+limit+j)%2]
				for _, pw := range []string{"guess-Zq9", "alice-pw"} {
					if got := get(t, p.url, "/v1/user", basicAuth("alice", pw), from); got != http.StatusTooManyRequests {
						t.Fatalf("%s: attempt %d on replica %d = %d, want 429", from, limit+1, (first+limit+j)%2, got)
					}
				}
			}
			for i, p := range replicas {
				if got := get(t, p.url, "/v1/user", basicAuth("bob", "bob-pw"), from); got != http.StatusOK {
					t.Fatalf("%s: bob on replica %d = %d, want 200", from, i, got)
				}
			}
		}
		// Another address still logs in.
		if got := get(t, b.url, "/v1/user", basicAuth("alice", "alice-pw"), "203.0.113.12"); got != http.StatusOK {
			t.Fatalf("another address = %d, want 200", got)
		}
	})

	t.Run("per address across accounts", func(t *testing.T) {
		const limit, from = server.DefaultAddressFailures, "203.0.113.20"
		for i := range limit {
			// No account is guessed often enough to meet its own budget.
			user := fmt.Sprint("sprayed-", i%(limit/server.DefaultPasswordFailures+1))
			if got := get(t, replicas[i%2].url, "/v1/user", basicAuth(user, "Winter2026!"), from); got != http.StatusUnauthorized {
				t.Fatalf("guess %d = %d, want 401", i+1, got)
			}
		}
		for i, p := range replicas {
			if got := get(t, p.url, "/v1/user", basicAuth("bob", "bob-pw"), from); got != http.StatusTooManyRequests {
				t.Fatalf("bob from the spraying address on replica %d = %d, want 429", i, got)
			}
		}
	})

	t.Run("failing tokens, on the failing path only", func(t *testing.T) {
		login, status, err := createToken(http.DefaultClient, a.url, basicAuth("alice", "alice-pw"), "login")
		if err != nil || status != http.StatusCreated {
			t.Fatalf("create: %d, %v", status, err)
		}
		const limit, from = server.DefaultAuthFailures, "203.0.113.30"
		for i := range limit {
			if got := get(t, replicas[i%2].url, "/v1/user", "Bearer tkn_stale", from); got != http.StatusUnauthorized {
				t.Fatalf("bad token %d = %d, want 401", i+1, got)
			}
		}
		for i, p := range replicas {
			if got := get(t, p.url, "/v1/user", "Bearer tkn_stale", from); got != http.StatusTooManyRequests {
				t.Fatalf("bad token past the budget on replica %d = %d, want 429", i, got)
			}
			if got := get(t, p.url, "/v1/user", "Bearer "+login.Secret, from); got != http.StatusOK {
				t.Fatalf("a valid token from the address on replica %d = %d, want 200", i, got)
			}
		}
	})
}

// A replica whose PostgreSQL goes away fails /readyz within seconds, and
// recovers by itself when PostgreSQL comes back: no restart of tokend.
func TestPostgresReadyzRecoversWithoutRestart(t *testing.T) {
	bin := buildTokend(t)
	c := pgtest.Own(t)
	db, err := c.CreateDB("tokend")
	if err != nil {
		t.Fatal(err)
	}
	addUserProc(t, bin, db, "alice", "alice-pw")
	p := startProc(t, bin, db)
	login, status, err := createToken(http.DefaultClient, p.url, basicAuth("alice", "alice-pw"), "login")
	if err != nil || status != http.StatusCreated {
		t.Fatalf("create: %d, %v", status, err)
	}
	bearer := "Bearer " + login.Secret
	if got := get(t, p.url, "/readyz", "", ""); got != http.StatusOK {
		t.Fatalf("/readyz before = %d, want 200", got)
	}

	if err := c.Halt(); err != nil { // pg_ctl stop -m fast
		t.Fatal(err)
	}
	halted := time.Now()
	for get(t, p.url, "/readyz", "", "") != http.StatusServiceUnavailable {
		if time.Since(halted) > 5*time.Second {
			t.Fatalf("/readyz still not 503 %s after PostgreSQL stopped:\n%s", time.Since(halted), p.logs)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("/readyz failed %s after PostgreSQL stopped", time.Since(halted).Round(time.Millisecond))
	if got := get(t, p.url, "/healthz", "", ""); got != http.StatusOK {
		t.Errorf("/healthz with the database down = %d, want 200 (the process is alive)", got)
	}

	if err := c.Resume(); err != nil {
		t.Fatal(err)
	}
	resumed := time.Now()
	for get(t, p.url, "/readyz", "", "") != http.StatusOK {
		if time.Since(resumed) > 10*time.Second {
			t.Fatalf("/readyz not back to 200 %s after PostgreSQL returned:\n%s", time.Since(resumed), p.logs)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("/readyz recovered %s after PostgreSQL returned", time.Since(resumed).Round(time.Millisecond))
	if got := get(t, p.url, "/v1/user", bearer, ""); got != http.StatusOK {
		t.Fatalf("authenticated request after recovery = %d, want 200:\n%s", got, p.logs)
	}
	select {
	case err := <-p.done:
		t.Fatalf("tokend exited (%v) during the outage:\n%s", err, p.logs)
	default:
	}
}

// A hot token authenticated 200 times in about a second on two replicas
// costs a handful of last_used_at writes, not 200: counted by PostgreSQL's
// own statistics (n_tup_upd on tokens), which a backend publishes at the
// latest when it exits, so the replicas are stopped before each reading.
func TestPostgresReplicasThrottleLastUsedAt(t *testing.T) {
	bin := buildTokend(t)
	db := pgtest.URL(t)
	addUserProc(t, bin, db, "alice", "alice-pw")
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)

	setup := startProc(t, bin, db)
	hot, status, err := createToken(http.DefaultClient, setup.url, basicAuth("alice", "alice-pw"), "hot")
	if err != nil || status != http.StatusCreated {
		t.Fatalf("create: %d, %v", status, err)
	}
	stopProcs(t, setup)
	before := tokenUpdates(t, conn)

	a, b := startProc(t, bin, db), startProc(t, bin, db)
	const n = 200
	start := time.Now()
	var wg sync.WaitGroup
	codes := make(chan int, n)
	for w := range 8 {
		wg.Go(func() {
			for i := w; i < n; i += 8 {
				codes <- get(t, []*proc{a, b}[i%2].url, "/v1/user", "Bearer "+hot.Secret, "")
			}
		})
	}
	wg.Wait()
	close(codes)
	took := time.Since(start)
	for c := range codes {
		if c != http.StatusOK {
			t.Fatalf("hot token answered %d, want 200", c)
		}
	}
	stopProcs(t, a, b)
	writes := tokenUpdates(t, conn) - before
	t.Logf("%d authentications in %s on two replicas: %d row updates on tokens", n, took.Round(time.Millisecond), writes)
	if writes < 1 || writes > 3 {
		t.Fatalf("%d authentications of one token made %d updates of tokens; want 1 to 3 (the first use, and a race between the replicas at most)", n, writes)
	}
}

// stopProcs kills the replicas and waits until their PostgreSQL sessions
// have ended, so those sessions have published their statistics.
func stopProcs(t *testing.T, ps ...*proc) {
	t.Helper()
	for _, p := range ps {
		_ = p.cmd.Process.Signal(syscall.SIGKILL)
		<-p.done
		p.done <- nil // for anyone else waiting
	}
}

// tokenUpdates returns tokens' n_tup_upd once the database has no tokend
// session left and the count has held still for half a second.
func tokenUpdates(t *testing.T, conn *pgx.Conn) int64 {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(20 * time.Second)
	last := int64(-1)
	for {
		var others int
		var upd int64
		if err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`).Scan(&others); err != nil {
			t.Fatal(err)
		}
		if err := conn.QueryRow(ctx, `SELECT coalesce(n_tup_upd, 0) FROM pg_stat_user_tables WHERE relname = 'tokens'`).Scan(&upd); err != nil {
			t.Fatal(err)
		}
		if others == 0 && upd == last {
			return upd
		}
		if time.Now().After(deadline) {
			t.Fatalf("statistics did not settle: %d other sessions, n_tup_upd %d then %d", others, last, upd)
		}
		last = upd
		time.Sleep(500 * time.Millisecond)
	}
}
