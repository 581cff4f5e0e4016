package admin

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/tokenctl/tokenctl/internal/api"
	"github.com/tokenctl/tokenctl/internal/cli/cmdutil"
	"github.com/tokenctl/tokenctl/internal/client"
	"github.com/tokenctl/tokenctl/internal/cmdargs"
	"github.com/tokenctl/tokenctl/internal/iostreams"
	"github.com/tokenctl/tokenctl/internal/secret"
	"github.com/tokenctl/tokenctl/internal/server"
	"github.com/tokenctl/tokenctl/internal/store"
	"github.com/tokenctl/tokenctl/internal/store/sqlite"
)

// realServer is tokend's API over a SQLite file with an admin (root), a
// member (bob) and a few of bob's tokens; it returns the base URL and a
// token for each of root and bob.
func realServer(t *testing.T) (url, root, bob string, st *sqlite.Store) {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "tokend.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	now := time.Now().UTC().Truncate(time.Second)
	tok := func(uid, name string, life time.Duration, scopes ...string) string {
		sec, err := secret.Generate(secret.DefaultPrefix)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := st.CreateToken(ctx, store.NewToken{ID: store.NewID(time.Now()), UserID: uid, Name: name, KeyHint: sec.Hint(),
			Digest: sec.Digest(), CreatedAt: now, ExpiresAt: now.Add(life), Scopes: scopes}); err != nil {
			t.Fatal(err)
		}
		return sec.String()
	}
	for _, u := range []store.User{
		{ID: store.NewID(now), Username: "root", PasswordHash: "!", CreatedAt: now, Role: store.RoleAdmin},
		{ID: store.NewID(now.Add(time.Millisecond)), Username: "bob", PasswordHash: "!", CreatedAt: now},
	} {
		if err := st.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		if u.Username == "root" {
			root = tok(u.ID, "root-cli", time.Hour, "admin:read", "admin:write", "tokens:read", "tokens:write")
		} else {
			bob = tok(u.ID, "bob-cli", 30*24*time.Hour, "tokens:read", "tokens:write")
			for i := range 12 {
				tok(u.ID, "ci-"+string(rune('a'+i)), 2*24*time.Hour)
			}
		}
	}
	srv := httptest.NewServer(server.New(server.Config{}, st, slog.New(slog.DiscardHandler)))
	t.Cleanup(srv.Close)
	return srv.URL, root, bob, st
}

func run(t *testing.T, host, token, stdin string, args ...string) (string, string, int) {
	t.Helper()
	return runOn(t, false, host, token, stdin, args...)
}

// runOn is run with stdin and stderr a terminal when tty is set.
func runOn(t *testing.T, tty bool, host, token, stdin string, args ...string) (string, string, int) {
	t.Helper()
	ios, in, out, errOut := iostreams.Test()
	in.WriteString(stdin)
	ios.SetStdinTTY(tty)
	ios.SetStderrTTY(tty)
	f := &cmdutil.Factory{IOStreams: ios, Client: func() (*client.Client, error) {
		return client.New(client.Options{Host: host, Token: token})
	}}
	root := &cobra.Command{Use: "tokenctl", SilenceUsage: true, SilenceErrors: true}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &cmdutil.UsageError{Err: err} })
	root.AddCommand(NewCmdAdmin(f))
	cmdargs.Harden(root)
	root.SetArgs(append([]string{"admin"}, args...))
	msg, code := cmdutil.Explain(root.Execute(), f)
	if msg != "" {
		errOut.WriteString("tokenctl: " + msg + "\n")
	}
	return out.String(), errOut.String(), code
}

func TestMemberGetsExit4AndOneLine(t *testing.T) {
	host, _, bob, _ := realServer(t)
	for _, args := range [][]string{
		{"token", "list"}, {"token", "delete", "--expired", "--yes"}, {"user", "list"}, {"user", "disable", "root"}, {"audit"},
		{"token", "create", "x", "--for", "root"},
	} {
		out, errOut, code := run(t, host, bob, "", args...)
		if code != cmdutil.ExitAuth || out != "" || strings.Count(errOut, "\n") != 1 || !strings.Contains(errOut, "needs an admin's token") {
			t.Errorf("%v as a member: exit %d, stdout %q, stderr %q; want exit 4 and one line", args, code, out, errOut)
		}
	}
}

func TestBadInputIsRefusedBeforeAnyRequest(t *testing.T) {
	// No server: a request would fail with exit 1, not 2.
	for _, args := range [][]string{
		{"token", "delete"},
		{"token", "delete", "--user", "bob"},
		{"token", "delete", "not-an-id"},
		{"token", "delete", "01jd5x3k9q8w7e6r5t4y3z2a1b", "--expired"},
		{"token", "list", "--expiring-within", "soon"},
		{"token", "list", "--status", "dead"},
		{"token", "list", "--unused-since", "yesterday-ish"},
		{"token", "show", "nope"},
		{"token", "create", "x"},
		{"token", "create", "x", "--for", "a b"},
		{"user", "set-role", "bob", "root"},
		{"user", "add", "a:b"},
		{"audit", "--type", "nope"},
		{"audit", "--since", "lately"},
		{"audit", "--until", "-3d"},
	} {
		_, errOut, code := run(t, "http://127.0.0.1:1", "tkn_x", "", args...)
		if code != cmdutil.ExitUsage || strings.Count(errOut, "\n") != 1 {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 and one line", args, code, errOut)
		}
	}
}

// admin audit reads its filters through tokenctl audit's (one owner,
// audit.ParseFilters): the same words for the same mistakes.
func TestAdminAuditFiltersSayWhatTokenctlAuditSays(t *testing.T) {
	for msg, args := range map[string][]string{
		"--since: invalid date":                           {"audit", "--since", "lately"},
		"--until: invalid date":                           {"audit", "--until", "-3d"},
		`invalid --type "token.made": use token.created,`: {"audit", "--type", "token.made"},
	} {
		_, errOut, code := run(t, "http://127.0.0.1:1", "tkn_x", "", args...)
		if code != cmdutil.ExitUsage || !strings.Contains(errOut, msg) {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 and %q", args, code, errOut, msg)
		}
	}
}

func TestAdminFindsRevokesAndMints(t *testing.T) {
	host, root, bob, st := realServer(t)
	out, errOut, code := run(t, host, root, "", "token", "list", "--expiring-within", "7d", "-o", "json")
	var toks []api.AdminToken
	if code != 0 || json.Unmarshal([]byte(out), &toks) != nil || len(toks) != 13 {
		t.Fatalf("list --expiring-within 7d: exit %d, %d tokens, %s", code, len(toks), errOut)
	}
	out, _, _ = run(t, host, root, "", "token", "list", "--user", "bob", "--name", "ci-*", "-o", "csv")
	if !strings.HasPrefix(out, strings.Join(TokenCSVHeader, ",")+"\n") || strings.Count(out, ",bob,ci-") != 12 {
		t.Fatalf("csv:\n%s", out)
	}
	// No terminal: refused without --yes, and nothing revoked.
	_, errOut, code = run(t, host, root, "", "token", "delete", "--user", "bob", "--name", "ci-*")
	if code != cmdutil.ExitUsage || !strings.Contains(errOut, "refusing to revoke 12 tokens") {
		t.Fatalf("without --yes: exit %d, %s", code, errOut)
	}
	out, errOut, code = run(t, host, root, "", "token", "delete", "--user", "bob", "--name", "ci-*", "--dry-run")
	if code != 0 || strings.Count(out, "\n") != 12 || !strings.Contains(errOut, "Would revoke 12 tokens") {
		t.Fatalf("dry run: exit %d, %q, %q", code, out, errOut)
	}
	_, errOut, code = run(t, host, root, "", "token", "delete", "--user", "bob", "--name", "ci-*", "--yes")
	if code != 0 || !strings.Contains(errOut, "Revoked 12 tokens; already gone 0; failed 0.") {
		t.Fatalf("delete: exit %d, %s", code, errOut)
	}
	// An id already gone, from stdin: exit 3, summarised.
	_, errOut, code = run(t, host, root, toks[0].ID+"\n", "token", "delete", "-", "--yes")
	if code != cmdutil.ExitPartial || !strings.Contains(errOut, "already gone 1") {
		t.Fatalf("gone id: exit %d, %s", code, errOut)
	}

	// A service account, its token, then bob offboarded and back.
	if _, errOut, code := run(t, host, root, "", "user", "add", "jenkins", "--service"); code != 0 {
		t.Fatalf("user add: %d %s", code, errOut)
	}
	out, errOut, code = run(t, host, root, "", "token", "create", "deploy", "--for", "jenkins", "--expires-in", "90d", "-q")
	if code != 0 || !strings.HasPrefix(out, secret.DefaultPrefix) || strings.Count(out, "\n") != 1 {
		t.Fatalf("create --for: exit %d, %s", code, errOut)
	}
	if _, _, code := run(t, host, strings.TrimSpace(out), "", "user", "list"); code != cmdutil.ExitAuth {
		t.Fatalf("the service account's own token on admin routes: exit %d", code)
	}
	if _, errOut, code := run(t, host, root, "", "user", "disable", "bob"); code != 0 || !strings.Contains(errOut, "Disabled bob") {
		t.Fatalf("disable: %d %s", code, errOut)
	}
	if _, errOut, code := run(t, host, bob, "", "token", "list"); code != cmdutil.ExitAuth || !strings.Contains(errOut, "rejected") {
		t.Fatalf("bob after disable: %d %s", code, errOut)
	}
	if _, _, code := run(t, host, root, "", "user", "enable", "bob"); code != 0 {
		t.Fatalf("enable: %d", code)
	}
	out, _, _ = run(t, host, root, "", "user", "list", "--jq", `.[] | .username + " " + .kind + " " + (.disabled|tostring)`)
	if out != "bob person false\njenkins service false\nroot person false\n" {
		t.Fatalf("user list: %q", out)
	}
	out, _, _ = run(t, host, root, "", "audit", "--user", "bob", "--type", "user.disabled", "--jq", ".[].actor.user")
	if out != "root\n" {
		t.Fatalf("audit: %q", out)
	}
	if _, errOut, code := run(t, host, root, "", "user", "set-role", "bob", "admin"); code != 0 {
		t.Fatalf("set-role: %d %s", code, errOut)
	}
	if u, err := st.UserByName(context.Background(), "bob"); err != nil || u.Role != store.RoleAdmin {
		t.Fatalf("bob after set-role = %+v, %v", u, err)
	}
	if _, errOut, code := run(t, host, root, "", "user", "delete", "bob"); code != cmdutil.ExitUsage || !strings.Contains(errOut, "without confirmation") {
		t.Fatalf("delete without --yes: %d %s", code, errOut)
	}
	if _, _, code := run(t, host, root, "", "user", "delete", "bob", "--yes"); code != 0 {
		t.Fatalf("delete --yes: %d", code)
	}
	// --all alone: every token of every user (jenkins' one) but the one
	// revoking.
	_, errOut, code = run(t, host, root, "", "token", "delete", "--all", "--yes")
	if code != 0 || !strings.Contains(errOut, "Revoked 1 token;") || !strings.Contains(errOut, "Sparing the token this command runs with") {
		t.Fatalf("--all: exit %d, %s", code, errOut)
	}
	if _, errOut, code := run(t, host, root, "", "token", "list"); code != 0 {
		t.Fatalf("root's token after --all: exit %d, %s", code, errOut)
	}
}

// TestDeleteAsksOnATerminal: a preview, then y/N for a few tokens and the
// count typed for many; a refusal revokes nothing.
func TestDeleteAsksOnATerminal(t *testing.T) {
	host, root, _, _ := realServer(t)
	_, errOut, code := runOn(t, true, host, root, "n\n", "token", "delete", "--user", "bob", "--name", "ci-a")
	if code == 0 || !strings.Contains(errOut, "About to revoke 1 token") || !strings.Contains(errOut, "Revoke them? [y/N]") || !strings.Contains(errOut, "nothing was revoked") {
		t.Fatalf("answer n: exit %d, %s", code, errOut)
	}
	_, errOut, code = runOn(t, true, host, root, "y\n", "token", "delete", "--user", "bob", "--name", "ci-a")
	if code != 0 || !strings.Contains(errOut, "Revoked 1 token;") {
		t.Fatalf("answer y: exit %d, %s", code, errOut)
	}
	// Eleven left: more than ten is confirmed by typing the count.
	_, errOut, code = runOn(t, true, host, root, "y\n", "token", "delete", "--user", "bob", "--name", "ci-*")
	if code == 0 || !strings.Contains(errOut, "Type 11 to revoke them") {
		t.Fatalf("y for 11: exit %d, %s", code, errOut)
	}
	_, errOut, code = runOn(t, true, host, root, "11\n", "token", "delete", "--user", "bob", "--name", "ci-*")
	if code != 0 || !strings.Contains(errOut, "Revoked 11 tokens;") {
		t.Fatalf("11 typed: exit %d, %s", code, errOut)
	}
}

// TestTokenListFitsTheTerminal: piped, names are whole; on a narrow
// terminal the long name is cut with "…" and lines fit.
func TestTokenListFitsTheTerminal(t *testing.T) {
	host, root, _, st := realServer(t)
	long := strings.Repeat("n", 90)
	u, err := st.UserByName(context.Background(), "bob")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Second)
	if _, _, err := st.CreateToken(context.Background(), store.NewToken{ID: store.NewID(time.Now()), UserID: u.ID, Name: long, KeyHint: "tkn_abcd…wxyz",
		Digest: [32]byte{9}, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	out, _, _ := run(t, host, root, "", "token", "list", "--name", "nnn*")
	if !strings.Contains(out, long) {
		t.Fatalf("piped table cut the name:\n%s", out)
	}
	ios, _, outBuf, errOut := iostreams.Test()
	ios.SetStdoutTTY(true)
	ios.SetTerminalWidth(100)
	f := &cmdutil.Factory{IOStreams: ios, Client: func() (*client.Client, error) { return client.New(client.Options{Host: host, Token: root}) }}
	cmd := NewCmdTokenList(f, nil)
	cmd.SetArgs([]string{"--name", "nnn*"})
	if err := cmd.Execute(); err != nil {
		t.Fatalf("%v: %s", err, errOut)
	}
	for _, line := range strings.Split(strings.TrimRight(outBuf.String(), "\n"), "\n") {
		if w := len([]rune(line)); w > 100 {
			t.Errorf("line of %d columns on a 100-column terminal: %q", w, line)
		}
	}
	if !strings.Contains(outBuf.String(), "…") {
		t.Errorf("long name not cut:\n%s", outBuf.String())
	}
}

// A failed SSO sign-in of someone with no account is in no user's trail:
// admin audit shows it with "-" for the user, the reason and the provider,
// and -o csv carries the reason and provider in their own columns.
func TestAdminAuditShowsEventsOfNoUser(t *testing.T) {
	host, root, _, st := realServer(t)
	at := time.Now().UTC().Truncate(time.Millisecond)
	if err := st.AddEvents(context.Background(), []store.Event{{ID: store.NewEventID(at), Time: at, Type: store.EventAuthFailed,
		ActorKind: store.ActorSSO, TrustPolicy: "corp", Claims: map[string]string{"sub": "u-eve", "email": "eve@example.com"},
		Reason: "unknown user", ClientAddress: "192.0.2.9"}}); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := run(t, host, root, "", "audit", "--type", "auth.failed")
	if code != 0 || !strings.Contains(out, "auth.failed (unknown user)") || !strings.Contains(out, "sso corp") {
		t.Fatalf("audit: exit %d\n%s%s", code, out, errOut)
	}
	if fields := strings.Fields(strings.Split(strings.TrimSpace(out), "\n")[1]); !slices.Contains(fields, "-") {
		t.Fatalf("the user column of an event with no user: %q", out)
	}
	out, _, code = run(t, host, root, "", "audit", "--type", "auth.failed", "-o", "csv")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(lines) != 2 || lines[0] != strings.Join(AuditCSVHeader, ",") ||
		!strings.HasSuffix(lines[1], ",,auth.failed,,,sso,,,192.0.2.9,unknown user,corp") {
		t.Fatalf("csv: %q", out)
	}
	out, _, _ = run(t, host, root, "", "audit", "--type", "auth.failed", "--jq", `.[] | [.user // "none", .actor.provider, .actor.claims.email] | join(" ")`)
	if out != "none corp eve@example.com\n" {
		t.Fatalf("json: %q", out)
	}
}
