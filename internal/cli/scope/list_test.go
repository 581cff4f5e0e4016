package scope

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
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

// realServer is tokend's API over a SQLite file with the application scope
// deploy:write and a user whose token carries scopes; it returns the base
// URL and the token.
func realServer(t *testing.T, scopes ...string) (string, string) {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "tokend.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	now := time.Now().UTC().Truncate(time.Second)
	if err := st.CreateScope(ctx, store.Scope{Name: "deploy:write", Description: "deploy to production", CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	uid := store.NewID(now)
	if err := st.CreateUser(ctx, store.User{ID: uid, Username: "alice", PasswordHash: "!", CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	sec, err := secret.Generate(secret.DefaultPrefix)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.CreateToken(ctx, store.NewToken{ID: store.NewID(now), UserID: uid, Name: "t", KeyHint: sec.Hint(),
		Digest: sec.Digest(), CreatedAt: now, ExpiresAt: now.Add(time.Hour), Scopes: scopes}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(server.New(server.Config{}, st, slog.New(slog.DiscardHandler)))
	t.Cleanup(srv.Close)
	return srv.URL, sec.String()
}

func run(t *testing.T, host, token string, args ...string) (string, string, int) {
	t.Helper()
	ios, _, out, errOut := iostreams.Test()
	f := &cmdutil.Factory{IOStreams: ios, Client: func() (*client.Client, error) {
		return client.New(client.Options{Host: host, Token: token})
	}}
	root := &cobra.Command{Use: "tokenctl", SilenceUsage: true, SilenceErrors: true}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &cmdutil.UsageError{Err: err} })
	root.AddCommand(NewCmdScope(f))
	cmdargs.Harden(root) // as root.NewCmdRoot does
	root.SetArgs(append([]string{"scope"}, args...))
	msg, code := cmdutil.Explain(root.Execute(), f) // as root.Run says it
	if msg != "" {
		errOut.WriteString("tokenctl: " + msg + "\n")
	}
	return out.String(), errOut.String(), code
}

func TestScopeListShowsBuiltInAndApplicationScopes(t *testing.T) {
	host, tok := realServer(t, "deploy:write") // listing scopes needs none
	out, errOut, code := run(t, host, tok, "list")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	want := "NAME               KIND         DESCRIPTION\n" +
		"admin:read         built in     admins only: list every user's tokens, events and accounts\n" +
		"admin:write        built in     admins only: revoke any token, manage users and service accounts\n" +
		"deploy:write       application  deploy to production\n" +
		"tokens:introspect  built in     "
	if !strings.HasPrefix(out, want) || !strings.Contains(out, "tokens:read        built in") || !strings.Contains(out, "tokens:write       built in") {
		t.Errorf("table:\n%s", out)
	}

	out, _, code = run(t, host, tok, "list", "-o", "json")
	var got []api.Scope
	if err := json.Unmarshal([]byte(out), &got); err != nil || code != 0 {
		t.Fatalf("json %q: %v (exit %d)", out, err, code)
	}
	if len(got) != 6 || got[2] != (api.Scope{Name: "deploy:write", Description: "deploy to production"}) || !got[3].Builtin || !got[0].Builtin {
		t.Errorf("json = %+v", got)
	}

	out, _, _ = run(t, host, tok, "list", "--jq", ".[] | select(.builtin | not) | .name")
	if out != "deploy:write\n" {
		t.Errorf("--jq: %q", out)
	}
	out, _, _ = run(t, host, tok, "list", "-o", "csv")
	if !strings.HasPrefix(out, "name,description,builtin\n") || !strings.Contains(out, "\ndeploy:write,deploy to production,false\n") {
		t.Errorf("csv: %q", out)
	}
}

func TestScopeListMistakes(t *testing.T) {
	host, tok := realServer(t)
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"list", "-o", "xml"}, 2, "unknown output format"},
		{[]string{"list", "extra"}, 2, "tokenctl scope list [flags]"},
		{[]string{"lst"}, 2, "did you mean list"},
	} {
		_, errOut, code := run(t, host, tok, c.args...)
		if code != c.code || !strings.Contains(errOut, c.want) || strings.Count(errOut, "\n") != 1 {
			t.Errorf("%v: exit %d, stderr %q; want exit %d and %q", c.args, code, errOut, c.code, c.want)
		}
	}
	// A rejected credential is the same line and exit as everywhere.
	_, errOut, code := run(t, host, "tkn_wrong", "list")
	if code != 4 || !strings.Contains(errOut, "tokenctl auth login") {
		t.Errorf("rejected: exit %d, %q", code, errOut)
	}
}
