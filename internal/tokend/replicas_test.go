package tokend

import (
	"crypto/sha256"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tokenctl/tokenctl/internal/api"
	"github.com/tokenctl/tokenctl/internal/store/pgtest"
	"github.com/tokenctl/tokenctl/internal/store/postgres"
)

// TestPostgresReplicas runs two real tokend processes on one PostgreSQL
// database: nothing a request depends on may live in one process.
func TestPostgresReplicas(t *testing.T) {
	bin := buildTokend(t)
	db := pgtest.URL(t)
	addUserProc(t, bin, db, "alice", "alice-pw")
	a := startProc(t, bin, db)
	b := startProc(t, bin, db)
	login, status, err := createToken(http.DefaultClient, a.url, basicAuth("alice", "alice-pw"), "login")
	if err != nil || status != http.StatusCreated {
		t.Fatalf("login token on A: %d, %v", status, err)
	}
	bearer := "Bearer " + login.Secret

	t.Run("create on A, authenticate on B, delete on B, A answers 401 at once", func(t *testing.T) {
		ct, status, err := createToken(http.DefaultClient, a.url, bearer, "shared")
		if err != nil || status != http.StatusCreated {
			t.Fatalf("create on A: %d, %v", status, err)
		}
		if got := authStatus(t, b.url, ct.Secret); got != http.StatusOK {
			t.Fatalf("B authenticating A's token = %d, want 200", got)
		}
		if got := authStatus(t, a.url, ct.Secret); got != http.StatusOK {
			t.Fatalf("A authenticating its own token = %d, want 200", got)
		}
		req, _ := http.NewRequest("DELETE", b.url+"/v1/tokens/"+ct.ID, nil)
		req.Header.Set("Authorization", bearer)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusNoContent {
			t.Fatalf("delete on B = %d, want 204", res.StatusCode)
		}
		if got := authStatus(t, a.url, ct.Secret); got != http.StatusUnauthorized {
			t.Fatalf("A's very next request with the deleted token = %d, want 401", got)
		}
	})

	t.Run("one idempotency key sent to A and B at once makes one token", func(t *testing.T) {
		st, err := postgres.Open(t.Context(), db)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		for round := range 5 {
			key := fmt.Sprint("replicas-", round)
			var wg sync.WaitGroup
			got := make([]api.CreatedToken, 6)
			codes := make([]int, 6)
			for i := range got {
				url := []string{a.url, b.url}[i%2]
				wg.Go(func() { got[i], codes[i] = createIdempotent(t, url, bearer, key, `{"name":"same"}`) })
			}
			wg.Wait()
			var working int
			for i := range got {
				if codes[i] != http.StatusCreated || got[i].ID != got[0].ID {
					t.Fatalf("round %d: answers %v, ids %s and %s; want 201s for one token", round, codes, got[0].ID, got[i].ID)
				}
				// Asked of the database rather than over HTTP: five wrong
				// secrets would spend the failed-login budget.
				if _, _, err := st.TokenByDigest(t.Context(), sha256.Sum256([]byte(got[i].Secret))); err == nil {
					working++
				}
			}
			// Each replay replaces the secret: exactly one handed out works.
			if working != 1 {
				t.Fatalf("round %d: %d of the secrets work, want exactly 1", round, working)
			}
		}
	})

	t.Run("kill -9 of a replica mid-write loses no acknowledged token", func(t *testing.T) {
		const target = 150
		var (
			mu    sync.Mutex
			acked []string
			wg    sync.WaitGroup
			kill  sync.Once
		)
		client := &http.Client{Timeout: 10 * time.Second}
		for w := range 4 {
			wg.Go(func() {
				for i := 0; ; i++ {
					ct, status, err := createToken(client, a.url, bearer, fmt.Sprintf("w%d-%d", w, i))
					if err != nil || status != http.StatusCreated {
						return // A is gone
					}
					mu.Lock()
					acked = append(acked, ct.Secret)
					n := len(acked)
					mu.Unlock()
					if n >= target {
						kill.Do(func() { _ = a.cmd.Process.Signal(syscall.SIGKILL) })
					}
				}
			})
		}
		wg.Wait()
		mu.Lock()
		n := len(acked)
		mu.Unlock()
		if n < target { // so the kill never happened
			t.Fatalf("the creates on A stopped after %d acknowledgements, before the kill:\n%s", n, a.logs)
		}
		select {
		case <-a.done:
		case <-time.After(30 * time.Second):
			t.Fatal("A did not die after SIGKILL")
		}
		mu.Lock()
		defer mu.Unlock()
		if len(acked) < target {
			t.Fatalf("only %d creates acknowledged before the kill", len(acked))
		}
		// B serves them all, with no restart and nothing to recover.
		lost := 0
		for _, s := range acked {
			if authStatus(t, b.url, s) != http.StatusOK {
				lost++
			}
		}
		if lost > 0 {
			t.Fatalf("%d of %d tokens acknowledged by A do not authenticate on B", lost, len(acked))
		}
		if strings.Contains(b.logs.String(), "panic") {
			t.Fatalf("B logged a panic:\n%s", b.logs)
		}
	})
}
