package token

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"
)

// useAt authenticates with secret at the test clock's time, so the server
// records it as last used then.
func (e *testEnv) useAt(secret string) {
	e.t.Helper()
	if !e.works(secret) {
		e.t.Fatal("token does not work")
	}
}

// usageFixture leaves alice with tokens "never" (never used), "old" (last
// used 100 days ago) and "recent" (used just now), plus the current
// credential, used by every command run.
func usageFixture(t *testing.T) *testEnv {
	e := longLivedEnv(t)
	old := e.create("old", 365*24*time.Hour)
	e.create("never", 365*24*time.Hour)
	recent := e.create("recent", 365*24*time.Hour)
	e.useAt(old.Secret)
	e.clock.Advance(100 * 24 * time.Hour)
	e.useAt(recent.Secret)
	e.useAt(e.cred.Token)
	return e
}

// longLivedEnv is a testEnv whose credential, "tokenctl@test", outlives
// the clock jumps of these tests.
func longLivedEnv(t *testing.T) *testEnv {
	e := newTestEnv(t)
	short := e.currentID()
	e.cred.Token = e.mintDirect("tokenctl@test", 400*24*time.Hour)
	if err := e.clientFor(e.cred.Token).DeleteToken(context.Background(), short); err != nil {
		t.Fatal(err)
	}
	return e
}

type listed struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Current *bool  `json:"current"`
}

func listJSON(t *testing.T, e *testEnv, args ...string) []listed {
	t.Helper()
	out, _ := e.mustRun(0, append([]string{"list", "-o", "json"}, args...)...)
	var got []listed
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("decode %q: %v", out, err)
	}
	return got
}

func names(ls []listed) []string {
	var n []string
	for _, l := range ls {
		n = append(n, l.Name)
	}
	slices.Sort(n)
	return n
}

func TestListUnusedSince(t *testing.T) {
	e := usageFixture(t)
	for _, arg := range []string{"90d", e.clock.Now().Add(-90 * 24 * time.Hour).Format(time.RFC3339)} {
		got := names(listJSON(t, e, "--unused-since", arg))
		if want := []string{"never", "old"}; !slices.Equal(got, want) {
			t.Errorf("--unused-since %s: %v, want %v", arg, got, want)
		}
	}
	// 200 days ago: only the token never used.
	if got := names(listJSON(t, e, "--unused-since", "200d")); !slices.Equal(got, []string{"never"}) {
		t.Errorf("--unused-since 200d: %v", got)
	}
	_, errOut := e.mustRun(0, "list", "--unused-since", "1000d", "--name", "recent")
	if !strings.Contains(errOut, "No tokens match") {
		t.Errorf("empty filtered list: %q", errOut)
	}
	_, errOut, code := e.run("list", "--unused-since", "lately")
	if code != 2 || !strings.Contains(errOut, "--unused-since: invalid date") {
		t.Errorf("bad --unused-since: exit %d, %q", code, errOut)
	}
}

func TestListMarksCurrent(t *testing.T) {
	e := newTestEnv(t)
	e.create("tokenctl@test", time.Hour) // a twin of the current credential's name
	cur := e.currentID()
	got := listJSON(t, e)
	if len(got) != 2 {
		t.Fatalf("listed %v", got)
	}
	for _, l := range got {
		if l.Current == nil {
			t.Fatalf("%s: no current field", l.ID)
		}
		if *l.Current != (l.ID == cur) {
			t.Errorf("%s: current=%v, current id is %s", l.ID, *l.Current, cur)
		}
	}
	out, _ := e.mustRun(0, "list")
	if n := strings.Count(out, "* tokenctl@test"); n != 1 {
		t.Errorf("table marks %d rows current:\n%s", n, out)
	}
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, "* tokenctl@test") && !strings.HasPrefix(line, cur) {
			t.Errorf("marked the wrong row: %q (current %s)", line, cur)
		}
	}
	out, _ = e.mustRun(0, "list", "-o", "csv")
	if !strings.HasSuffix(strings.SplitN(out, "\n", 2)[0], ",scopes,current") || strings.Count(out, ",true\n") != 1 || strings.Count(out, ",false\n") != 1 {
		t.Errorf("csv current column:\n%s", out)
	}
}

func TestDeleteUnusedSince(t *testing.T) {
	e := usageFixture(t)
	out, _ := e.mustRun(0, "delete", "--unused-since", "90d", "--dry-run")
	if strings.Count(out, "\n") != 2 || !strings.Contains(out, "\tnever\n") || !strings.Contains(out, "\told\n") {
		t.Fatalf("dry run selected:\n%s", out)
	}
	e.mustRun(0, "delete", "--unused-since", "90d", "--yes")
	got := e.tokenNames()
	if got["never"] || got["old"] || !got["recent"] || !got["tokenctl@test"] {
		t.Fatalf("left %v", got)
	}
}

// The one-line prune: expired AND unused for 90 days; an expired token
// used recently stays, an active unused one stays.
func TestDeleteExpiredUnusedPrune(t *testing.T) {
	e := longLivedEnv(t)
	usedExp := e.create("expired-used", 95*24*time.Hour)
	e.create("expired-unused", 24*time.Hour)
	e.create("active-unused", 365*24*time.Hour)
	e.clock.Advance(94 * 24 * time.Hour)
	e.useAt(usedExp.Secret) // last used 2 days before the prune
	e.clock.Advance(2 * 24 * time.Hour)
	e.mustRun(0, "delete", "--expired", "--unused-since", "90d", "--yes")
	got := e.tokenNames()
	if got["expired-unused"] || !got["expired-used"] || !got["active-unused"] {
		t.Fatalf("left %v", got)
	}
}

func TestDeleteCreatedBeforeAge(t *testing.T) {
	e := longLivedEnv(t)
	e.create("older", 365*24*time.Hour)
	e.clock.Advance(40 * 24 * time.Hour)
	e.create("newer", 300*24*time.Hour) // within the credential's own life
	e.mustRun(0, "delete", "--created-before", "30d", "--yes")
	got := e.tokenNames()
	if got["older"] || !got["newer"] {
		t.Fatalf("left %v", got)
	}
}

func TestExpiresBefore(t *testing.T) {
	e := longLivedEnv(t)
	e.create("gone", time.Hour)
	e.create("soon", 5*24*time.Hour)
	e.create("later", 30*24*time.Hour)
	e.clock.Advance(2 * time.Hour)
	// 7d counts forward: the expired token and the one due in 5 days.
	if got := names(listJSON(t, e, "--expires-before", "7d")); !slices.Equal(got, []string{"gone", "soon"}) {
		t.Fatalf("list --expires-before 7d: %v", got)
	}
	date := e.clock.Now().Add(24 * time.Hour).Format(time.DateOnly)
	if got := names(listJSON(t, e, "--expires-before", date+"T23:59:59Z")); !slices.Equal(got, []string{"gone"}) {
		t.Fatalf("list --expires-before a date: %v", got)
	}
	e.mustRun(0, "delete", "--expires-before", "7d", "--yes")
	if got := e.tokenNames(); got["gone"] || got["soon"] || !got["later"] || !got["tokenctl@test"] {
		t.Fatalf("left %v", got)
	}
	_, errOut, code := e.run("delete", "--expires-before", "soon", "--yes")
	if code != 2 || !strings.Contains(errOut, "--expires-before: invalid date") {
		t.Fatalf("exit %d %q", code, errOut)
	}
}
