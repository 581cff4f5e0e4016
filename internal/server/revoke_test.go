package server

import (
	"net/http"
	"testing"
	"time"

	"github.com/tokenctl/tokenctl/internal/api"
)

// TestRevokeCountsAnExpiredSecretAsNotLive: issue 20 item 6. A leak report
// of a secret that has already expired counted it as revoked and wrote a
// token.revoked_leaked event; docs/api.md says not_live.
func TestRevokeCountsAnExpiredSecretAsNotLive(t *testing.T) {
	e := newTestEnv(t)
	e.addUser("alice", "pw")
	auth := basic("alice", "pw")
	short := e.create(auth, map[string]any{"name": "short", "expires_in_seconds": 60})
	live := e.create(auth, map[string]any{"name": "live"})
	e.clock.Advance(2 * time.Minute)

	res := e.do(req{method: "POST", path: "/v1/tokens/revoke", remote: "198.51.100.7:1",
		json: api.RevokeRequest{Secrets: []string{short.Secret, live.Secret}}})
	if res.status != http.StatusOK {
		t.Fatalf("revoke: %d %s", res.status, res.body)
	}
	var rr api.RevokeResult
	res.decode(t, &rr)
	if rr.Revoked != 1 || rr.NotLive != 1 {
		t.Fatalf("revoke of an expired and a live secret = %+v, want revoked 1, not_live 1", rr)
	}
	evs, _ := e.events(auth, "&type="+api.EventTokenRevokedLeaked, 10)
	if len(evs) != 1 || evs[0].Token.ID != live.ID {
		t.Fatalf("revoked_leaked events = %+v, want one, for %s", evs, live.ID)
	}
}
