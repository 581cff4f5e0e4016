package tokend

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tokenctl/tokenctl/internal/api"
	"github.com/tokenctl/tokenctl/internal/password"
	"github.com/tokenctl/tokenctl/internal/secret"
	"github.com/tokenctl/tokenctl/internal/store"
	"github.com/tokenctl/tokenctl/internal/store/sqlite"
)

// The SQLite store keeps known-good tokens in memory until the next commit
// by anyone, watched through the WAL-index header in the -shm file
// (internal/store/sqlite/tokencache.go). These tests hold it to issue 26's
// promise with real processes: a token in use on tokend A, revoked through
// tokend B or `tokend user delete`, is refused by A on the very next
// request, every round.

// cacheRounds is how many revocations each test checks.
const cacheRounds = 1000

// fastDir is where the shared database goes: a tmpfs when there is one, so
// the thousands of commits (each fsynced: synchronous=FULL) cost no disk
// time. Locks, the -shm mapping and the WAL behave the same on it.
func fastDir(t *testing.T) string {
	t.Helper()
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		if dir, err := os.MkdirTemp("/dev/shm", "tokend-cache-test-"); err == nil {
			t.Cleanup(func() { os.RemoveAll(dir) })
			return dir
		}
	}
	return t.TempDir()
}

// httpClient keeps its connections alive, so a round costs requests, not
// TCP handshakes.
func httpClient() *http.Client {
	return &http.Client{Timeout: 30 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: 16, MaxConnsPerHost: 16}}
}

// callHTTP sends one request and returns the status, decoding a JSON answer
// into out when out is not nil. from sets X-Forwarded-For (the servers run
// with --trust-proxy), so each round's refusals count against an address
// of their own instead of tripping the failed-auth limit.
func callHTTP(c *http.Client, method, url, auth, from, body string, out any) (int, error) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		return 0, err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	if from != "" {
		req.Header.Set("X-Forwarded-For", from)
	}
	res, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	if out != nil && res.StatusCode/100 == 2 {
		if err := json.NewDecoder(res.Body).Decode(out); err != nil {
			return res.StatusCode, err
		}
	}
	_, _ = io.Copy(io.Discard, res.Body) // so the connection is reused
	return res.StatusCode, nil
}

// addr is a loopback address for X-Forwarded-For, one per round and role.
func addr(role, round int) string {
	return fmt.Sprintf("127.%d.%d.%d", role, round/250, round%250+1)
}

// hammer uses secret on url in a tight loop until stop is closed. Every
// request that starts after revoked is set must be refused; it reports
// how many were not, and closes first after its first answer so the
// caller revokes only while the token is in use.
func hammer(c *http.Client, url, secret, from string, revoked *atomic.Bool, first chan<- int, stop <-chan struct{}) (served int, err error) {
	auth := "Bearer " + secret
	for i := 0; ; i++ {
		select {
		case <-stop:
			return served, nil
		default:
		}
		after := revoked.Load() // before the request starts
		status, err := callHTTP(c, "GET", url+"/v1/user", auth, from, "", nil)
		if err != nil {
			return served, err
		}
		if after && status == http.StatusOK {
			served++
		}
		if i == 0 {
			first <- status
		}
	}
}

// checkRound warms A's cache with secret (the first use records
// last_used_at, a commit; the second fills the cache; the third is a
// hit), keeps it in use on A in a tight loop, runs revoke, and checks that
// A's next request with it is 401 and that no request of the loop that
// started after revoke returned was served.
func checkRound(t *testing.T, c *http.Client, a *proc, round int, secret, what string, revoke func() error) {
	t.Helper()
	for i := range 3 {
		if status, err := callHTTP(c, "GET", a.url+"/v1/user", "Bearer "+secret, "", "", nil); err != nil || status != 200 {
			t.Fatalf("round %d (%s): use %d on A before the revocation: %d, %v\n%s", round, what, i, status, err, a.logs)
		}
	}
	var revoked atomic.Bool
	first := make(chan int, 1)
	stop := make(chan struct{})
	var served int
	var loopErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		served, loopErr = hammer(c, a.url, secret, addr(2, round), &revoked, first, stop)
	}()
	if status := <-first; status != 200 {
		close(stop)
		<-done
		t.Fatalf("round %d (%s): the loop's first use on A: %d", round, what, status)
	}
	err := revoke()
	revoked.Store(true)
	if err != nil {
		close(stop)
		<-done
		t.Fatalf("round %d (%s): revoking: %v", round, what, err)
	}
	status, err := callHTTP(c, "GET", a.url+"/v1/user", "Bearer "+secret, addr(1, round), "", nil)
	close(stop)
	<-done
	if err != nil || status != http.StatusUnauthorized {
		t.Fatalf("round %d (%s): A's next request after the revocation answered %d, %v; want 401", round, what, status, err)
	}
	if loopErr != nil {
		t.Fatalf("round %d (%s): the loop on A: %v", round, what, loopErr)
	}
	if served > 0 {
		t.Fatalf("round %d (%s): A served the revoked token %d times to requests that started after the revocation", round, what, served)
	}
}

// startPair starts tokend A and B on one new SQLite file with a user, and
// returns a bearer credential of that user's.
func startPair(t *testing.T) (bin, db string, a, b *proc, admin string) {
	t.Helper()
	bin = buildTokend(t)
	db = filepath.Join(fastDir(t), "shared.db")
	addUserProc(t, bin, db, "alice", "alice-pw")
	args := []string{"--trust-proxy", "--max-tokens-per-user", "1000000"}
	a = startProc(t, bin, db, args...)
	b = startProc(t, bin, db, args...)
	login, status, err := createToken(http.DefaultClient, b.url, basicAuth("alice", "alice-pw"), "admin")
	if err != nil || status != http.StatusCreated {
		t.Fatalf("admin token on B: %d, %v", status, err)
	}
	return bin, db, a, b, "Bearer " + login.Secret
}

// TestSQLiteCacheRevocationAcrossProcesses: tokens revoked through B, by
// every route that revokes one, are refused by A on the next request.
// No route changes a live token's scopes (scopes are set at creation;
// `tokend scope delete` refuses while a live token carries the scope), so
// those rounds do not exist; deleting and disabling a user are
// TestSQLiteCacheUserDeleteAcrossProcesses.
func TestSQLiteCacheRevocationAcrossProcesses(t *testing.T) {
	_, _, a, b, admin := startPair(t)
	c := httpClient()
	type revocation struct {
		what string
		do   func(tok api.CreatedToken, round int) (int, error)
		want int
	}
	kinds := []revocation{
		{"DELETE /v1/tokens/{id}", func(tok api.CreatedToken, _ int) (int, error) {
			return callHTTP(c, "DELETE", b.url+"/v1/tokens/"+tok.ID, admin, "", "", nil)
		}, http.StatusNoContent},
		{"POST /v1/tokens/{id}/rotate", func(tok api.CreatedToken, _ int) (int, error) {
			var rotated api.CreatedToken
			status, err := callHTTP(c, "POST", b.url+"/v1/tokens/"+tok.ID+"/rotate", admin, "", "", &rotated)
			if err == nil && status == http.StatusOK && (rotated.Secret == "" || rotated.Secret == tok.Secret) {
				err = fmt.Errorf("rotate answered no new secret")
			}
			return status, err
		}, http.StatusOK},
		{"POST /v1/tokens/delete", func(tok api.CreatedToken, _ int) (int, error) {
			return callHTTP(c, "POST", b.url+"/v1/tokens/delete", admin, "", fmt.Sprintf(`{"ids":[%q]}`, tok.ID), nil)
		}, http.StatusOK},
		{"DELETE /v1/tokens/current", func(tok api.CreatedToken, _ int) (int, error) {
			return callHTTP(c, "DELETE", b.url+"/v1/tokens/current", "Bearer "+tok.Secret, "", "", nil)
		}, http.StatusNoContent},
		{"POST /v1/tokens/revoke", func(tok api.CreatedToken, round int) (int, error) {
			var res api.RevokeResult
			status, err := callHTTP(c, "POST", b.url+"/v1/tokens/revoke", "", addr(3, round), fmt.Sprintf(`{"secrets":[%q]}`, tok.Secret), &res)
			if err == nil && status == http.StatusOK && res.Revoked != 1 {
				err = fmt.Errorf("revoke answered %+v", res)
			}
			return status, err
		}, http.StatusOK},
	}
	for round := range cacheRounds {
		k := kinds[round%len(kinds)]
		// An hour: a rotation restarts the lifetime, which must stay
		// within the expiry of the admin token rotating it.
		var tok api.CreatedToken
		status, err := callHTTP(c, "POST", b.url+"/v1/tokens", admin, "", fmt.Sprintf(`{"name":"round-%d","expires_in_seconds":3600}`, round), &tok)
		if err != nil || status != http.StatusCreated {
			t.Fatalf("round %d: create on B: %d, %v\n%s", round, status, err, b.logs)
		}
		checkRound(t, c, a, round, tok.Secret, k.what, func() error {
			status, err := k.do(tok, round)
			if err == nil && status != k.want {
				err = fmt.Errorf("B answered %d, want %d\n%s", status, k.want, b.logs)
			}
			return err
		})
	}
}

// TestSQLiteCacheUserDeleteAcrossProcesses: the writer is `tokend user
// delete` (1000 rounds) or `tokend user disable` (250 more), a third
// process that opens the file, commits, and exits.
// Users and their tokens are made by this test through the store (a
// fourth process on the file), so a round costs one process start.
func TestSQLiteCacheUserDeleteAcrossProcesses(t *testing.T) {
	bin, db, a, _, _ := startPair(t)
	c := httpClient()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	hash, err := password.Hash("unused")
	if err != nil {
		t.Fatal(err)
	}
	// Every round deletes a user; every fourth round also disables one
	// (tokend user disable), the offboarding that keeps the user's rows.
	for i := range cacheRounds + cacheRounds/4 {
		round, verb := i, "delete"
		if i >= cacheRounds {
			round, verb = i-cacheRounds, "disable"
		}
		now := time.Now().UTC()
		u := store.User{ID: store.NewID(now), Username: fmt.Sprintf("user-%s-%d", verb, round), PasswordHash: hash, CreatedAt: now}
		if err := st.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		sec, err := secret.Generate(secret.DefaultPrefix)
		if err != nil {
			t.Fatal(err)
		}
		nt := store.NewToken{ID: store.NewID(now), UserID: u.ID, Name: "t", KeyHint: sec.Hint(),
			Digest: sec.Digest(), CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
		if _, _, err := st.CreateToken(ctx, nt); err != nil {
			t.Fatal(err)
		}
		checkRound(t, c, a, i, sec.String(), "tokend user "+verb, func() error {
			out, err := exec.Command(bin, "user", verb, u.Username, "--database", db).CombinedOutput()
			if err != nil {
				return fmt.Errorf("%v: %s", err, out)
			}
			return nil
		})
	}
}

// TestServeLogsTheTokenCacheAtShutdown: the hit and miss counts an
// operator (and bench/run.sh) reads the cache's hit rate from.
func TestServeLogsTheTokenCacheAtShutdown(t *testing.T) {
	db := filepath.Join(t.TempDir(), "s.db")
	if _, _, err := run(t, "pw\n", nil, "user", "add", "alice", "--database", db); err != nil {
		t.Fatal(err)
	}
	url, stderr, stop := startServe(t, "--database", db, "--log-format", "json")
	ct, status, err := createToken(http.DefaultClient, url, basicAuth("alice", "pw"), "t")
	if err != nil || status != http.StatusCreated {
		t.Fatalf("create: %d, %v", status, err)
	}
	// A miss that records the first use, a miss that fills, two hits.
	for range 4 {
		if got := authStatus(t, url, ct.Secret); got != 200 {
			t.Fatalf("GET /v1/user: %d", got)
		}
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if want := `"msg":"token cache","enabled":true,"hits":2,"misses":2`; !strings.Contains(stderr.String(), want) {
		t.Errorf("shutdown log lacks %s:\n%s", want, stderr)
	}
}
