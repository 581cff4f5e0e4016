package server

import (
	"net/http"
	"testing"
	"time"

	"github.com/tokenctl/tokenctl/internal/api"
)

// TestParentRotatesItsChildSecondsLater: issue 20 item 5. A parent rotating
// its child a moment after making it got 403 exceeds_parent, because now
// plus the child's lifetime passed the parent's expiry. The new expiry is
// cut to the parent's, the answer says so, and only a scope the parent
// lacks is refused.
func TestParentRotatesItsChildSecondsLater(t *testing.T) {
	e := newTestEnv(t)
	e.addUser("alice", "pw")
	e.addScope("deploy:write")
	login := bearer(e.login("alice", "pw"))
	parent := e.create(login, map[string]any{"name": "ci", "expires_in_seconds": 3600, "scopes": []string{"tokens:write", "deploy:write"}})
	child := e.create(bearer(parent.Secret), map[string]any{"name": "child", "scopes": []string{"deploy:write"}})
	if child.ExpiryCappedBy != api.ExpiryCappedByParent || !child.ExpiresAt.Equal(parent.ExpiresAt) {
		t.Fatalf("create under a parent: expires %s capped %q, want the parent's %s and %q",
			child.ExpiresAt, child.ExpiryCappedBy, parent.ExpiresAt, api.ExpiryCappedByParent)
	}

	e.clock.Advance(5 * time.Second)
	res := e.do(req{method: "POST", path: "/v1/tokens/" + child.ID + "/rotate", auth: bearer(parent.Secret)})
	if res.status != http.StatusOK {
		t.Fatalf("parent rotating its child 5s later: %d %s", res.status, res.body)
	}
	var rotated api.CreatedToken
	res.decode(t, &rotated)
	if !rotated.ExpiresAt.Equal(parent.ExpiresAt) || rotated.ExpiryCappedBy != api.ExpiryCappedByParent {
		t.Fatalf("rotated child expires %s capped %q, want the parent's %s and %q",
			rotated.ExpiresAt, rotated.ExpiryCappedBy, parent.ExpiresAt, api.ExpiryCappedByParent)
	}
	if res := e.do(req{method: "GET", path: "/v1/auth/check?scope=deploy:write", auth: bearer(rotated.Secret)}); res.status != 204 {
		t.Fatalf("the rotated secret: %d", res.status)
	}

	// A child that fits is rotated as before, and the answer says nothing.
	short := e.create(bearer(parent.Secret), map[string]any{"name": "short", "expires_in_seconds": 600, "scopes": []string{"deploy:write"}})
	if short.ExpiryCappedBy != "" {
		t.Fatalf("create within the parent's life says capped %q", short.ExpiryCappedBy)
	}
	res = e.do(req{method: "POST", path: "/v1/tokens/" + short.ID + "/rotate", auth: bearer(parent.Secret)})
	rotated = api.CreatedToken{}
	res.decode(t, &rotated)
	if res.status != 200 || rotated.ExpiryCappedBy != "" || rotated.ExpiresAt.Sub(rotated.CreatedAt) != 600*time.Second {
		t.Fatalf("rotating a child that fits: %d lifetime %s capped %q", res.status, rotated.ExpiresAt.Sub(rotated.CreatedAt), rotated.ExpiryCappedBy)
	}

	// More scope than the parent is still refused.
	broad := e.create(login, map[string]any{"name": "broad"})
	res = e.do(req{method: "POST", path: "/v1/tokens/" + broad.ID + "/rotate", auth: bearer(parent.Secret)})
	if p := res.problem(t); res.status != 403 || p.Code != api.CodeExceedsParent {
		t.Fatalf("rotating a broader token: %d %+v", res.status, p)
	}

	// A password has no expiry to cut to.
	res = e.do(req{method: "POST", path: "/v1/tokens/" + broad.ID + "/rotate", auth: basic("alice", "pw")})
	rotated = api.CreatedToken{}
	res.decode(t, &rotated)
	if res.status != 200 || rotated.ExpiryCappedBy != "" {
		t.Fatalf("rotating with a password: %d capped %q", res.status, rotated.ExpiryCappedBy)
	}
}
