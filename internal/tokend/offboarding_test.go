package tokend

import (
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/tokenctl/tokenctl/internal/store/pgtest"
)

// TestPostgresOffboardingReachesEveryReplica: an admin disables bob on
// replica A; bob's token is refused on B on the very next request (no
// cache to expire), and so is his password; enabling on B restores the
// token on A.
func TestPostgresOffboardingReachesEveryReplica(t *testing.T) {
	bin := buildTokend(t)
	db := pgtest.URL(t)
	addUserProc(t, bin, db, "root", "root-pw")
	if out, err := exec.Command(bin, "user", "set-role", "root", "admin", "--database", db).CombinedOutput(); err != nil {
		t.Fatalf("set-role: %v\n%s", err, out)
	}
	addUserProc(t, bin, db, "bob", "bob-pw")
	a := startProc(t, bin, db)
	b := startProc(t, bin, db)
	admin, status, err := createToken(http.DefaultClient, a.url, basicAuth("root", "root-pw"), "admin")
	if err != nil || status != http.StatusCreated {
		t.Fatalf("admin token: %d, %v", status, err)
	}
	bob, status, err := createToken(http.DefaultClient, b.url, basicAuth("bob", "bob-pw"), "laptop")
	if err != nil || status != http.StatusCreated {
		t.Fatalf("bob's token: %d, %v", status, err)
	}
	if got := authStatus(t, b.url, bob.Secret); got != http.StatusOK {
		t.Fatalf("bob on B before = %d", got)
	}
	patch := func(url, body string) {
		t.Helper()
		req, _ := http.NewRequest("PATCH", url+"/v1/admin/users/bob", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+admin.Secret)
		req.Header.Set("Content-Type", "application/json")
		res, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Fatalf("PATCH %s on %s = %d", body, url, res.StatusCode)
		}
	}
	patch(a.url, `{"disabled":true}`)
	if got := authStatus(t, b.url, bob.Secret); got != http.StatusUnauthorized {
		t.Fatalf("bob's token on B right after the disable on A = %d, want 401", got)
	}
	if got := get(t, b.url, "/v1/user", basicAuth("bob", "bob-pw"), ""); got != http.StatusUnauthorized {
		t.Fatalf("bob's password on B after the disable = %d, want 401", got)
	}
	patch(b.url, `{"disabled":false}`)
	if got := authStatus(t, a.url, bob.Secret); got != http.StatusOK {
		t.Fatalf("bob's token on A right after the enable on B = %d, want 200", got)
	}
}
