package token

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"github.com/tokenctl/tokenctl/internal/api"
	"github.com/tokenctl/tokenctl/internal/cli/cmdutil"
	"github.com/tokenctl/tokenctl/internal/client"
	"github.com/tokenctl/tokenctl/internal/clock"
	"github.com/tokenctl/tokenctl/internal/iostreams"
	"github.com/tokenctl/tokenctl/internal/secret"
	"github.com/tokenctl/tokenctl/internal/server"
	"github.com/tokenctl/tokenctl/internal/store"
	"github.com/tokenctl/tokenctl/internal/store/sqlite"
)

// testEnv is a real tokend (API handler over a SQLite file in a temp dir)
// behind an httptest server, a user "alice" and a Factory logged in as her
// with a real token, like `tokenctl auth login` leaves it.
type testEnv struct {
	t      testing.TB
	clock  *clock.Settable
	st     store.Store
	srv    *httptest.Server
	userID string

	cred    *cmdutil.Credential // tokenctl's own credential; SaveCredential updates it
	removed bool                // RemoveCredential was called

	ios              *iostreams.IOStreams
	in, out, errOut  *bytes.Buffer
	f                *cmdutil.Factory
	environ          map[string]string
	saveCredentialFn func(*cmdutil.Credential, string) error
}

func newTestEnv(t testing.TB) *testEnv {
	t.Helper()
	return newTestEnvWith(t, server.Config{})
}

func newTestEnvWith(t testing.TB, cfg server.Config) *testEnv {
	t.Helper()
	ctx := context.Background()
	e := &testEnv{t: t, clock: clock.NewSettable(time.Now().UTC().Truncate(time.Second)), environ: map[string]string{}}
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "tokend.db"))
	if err != nil {
		t.Fatalf("open sqlite: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	e.st = st
	cfg.Now = e.clock.Now
	e.srv = httptest.NewServer(server.New(cfg, st, slog.New(slog.DiscardHandler)))
	t.Cleanup(e.srv.Close)

	e.userID = store.NewID(e.clock.Now())
	// No password: the tests log in with a token minted straight into the
	// store, as `auth login` would leave one in the keyring.
	if err := st.CreateUser(ctx, store.User{ID: e.userID, Username: "alice", PasswordHash: "!", CreatedAt: e.clock.Now()}); err != nil {
		t.Fatalf("create user: %v", err)
	}
	e.cred = &cmdutil.Credential{Host: e.srv.URL, Token: e.mintDirect("tokenctl@test", 90*24*time.Hour), Source: cmdutil.SourceKeyring}

	e.ios, e.in, e.out, e.errOut = iostreams.Test()
	e.f = &cmdutil.Factory{
		IOStreams: e.ios,
		Now:       e.clock.Now,
		Client: func() (*client.Client, error) {
			if e.cred == nil {
				return nil, &cmdutil.AuthError{Err: errors.New("not logged in")}
			}
			return client.New(client.Options{Host: e.srv.URL, Token: e.cred.Token})
		},
		Credential: func() (*cmdutil.Credential, error) {
			if e.cred == nil {
				return nil, &cmdutil.AuthError{Err: errors.New("not logged in")}
			}
			c := *e.cred
			return &c, nil
		},
		SaveCredential: func(c *cmdutil.Credential, s string) error {
			if e.saveCredentialFn != nil {
				return e.saveCredentialFn(c, s)
			}
			e.cred = &cmdutil.Credential{Host: c.Host, Token: s, Source: c.Source}
			return nil
		},
		RemoveCredential: func(c *cmdutil.Credential) error {
			e.removed = true
			e.cred = nil
			return nil
		},
	}
	e.f.Getenv = func(k string) string { return e.environ[k] }
	return e
}

// mintDirect puts a token for alice straight into the store and returns
// its secret.
func (e *testEnv) mintDirect(name string, life time.Duration) string {
	e.t.Helper()
	sec, err := secret.Generate(secret.DefaultPrefix)
	if err != nil {
		e.t.Fatal(err)
	}
	now := e.clock.Now()
	_, _, err = e.st.CreateToken(context.Background(), store.NewToken{
		ID: store.NewID(now), UserID: e.userID, Name: name, KeyHint: sec.Hint(),
		Digest: sec.Digest(), CreatedAt: now, ExpiresAt: now.Add(life),
		Scopes: []string{"tokens:read", "tokens:write"}, // what a login token has
	})
	if err != nil {
		e.t.Fatalf("create token: %v", err)
	}
	return sec.String()
}

// currentID is the id of the token the Factory is logged in with.
func (e *testEnv) currentID() string {
	e.t.Helper()
	u, err := e.clientFor(e.cred.Token).User(context.Background())
	if err != nil || u.Token == nil {
		e.t.Fatalf("who am I: %v", err)
	}
	return u.Token.ID
}

func (e *testEnv) clientFor(secret string) *client.Client {
	c, err := client.New(client.Options{Host: e.srv.URL, Token: secret})
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// works reports whether secret authenticates against the server.
func (e *testEnv) works(secret string) bool {
	_, err := e.clientFor(secret).User(context.Background())
	return err == nil
}

// create mints a token through the API and returns it.
func (e *testEnv) create(name string, life time.Duration) *api.CreatedToken {
	e.t.Helper()
	secs := int64(life / time.Second)
	ct, err := e.clientFor(e.cred.Token).CreateToken(context.Background(), api.CreateTokenRequest{Name: name, ExpiresInSeconds: &secs}, "")
	if err != nil {
		e.t.Fatalf("create %s: %v", name, err)
	}
	return ct
}

// tokens lists every token alice has, straight from the store.
func (e *testEnv) tokens() []store.Token {
	e.t.Helper()
	var all []store.Token
	before := ""
	for {
		page, _, err := e.st.ScanTokens(context.Background(), store.ListOptions{UserID: e.userID, Now: e.clock.Now(), BeforeID: before, Limit: 1000})
		if err != nil {
			e.t.Fatal(err)
		}
		all = append(all, page...)
		if len(page) < 1000 {
			return all
		}
		before = page[len(page)-1].ID
	}
}

// token returns alice's token named name, failing the test if there is not
// exactly one.
func (e *testEnv) token(name string) store.Token {
	e.t.Helper()
	var found []store.Token
	for _, t := range e.tokens() {
		if t.Name == name {
			found = append(found, t)
		}
	}
	if len(found) != 1 {
		e.t.Fatalf("%d tokens named %q, want 1", len(found), name)
	}
	return found[0]
}

func (e *testEnv) tokenNames() map[string]bool {
	names := map[string]bool{}
	for _, t := range e.tokens() {
		names[t.Name] = true
	}
	return names
}

// run executes `token ARGS...` as the root command would: flag errors are
// usage errors, and the returned code is what tokenctl would exit with.
func (e *testEnv) run(args ...string) (stdout, stderr string, code int) {
	e.t.Helper()
	e.out.Reset()
	e.errOut.Reset()
	cmd := NewCmdToken(e.f)
	root := &cobra.Command{Use: "tokenctl", SilenceUsage: true, SilenceErrors: true}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &cmdutil.UsageError{Err: err} })
	root.AddCommand(cmd)
	root.SetArgs(append([]string{"token"}, args...))
	root.SetIn(e.in)
	root.SetOut(e.out)
	root.SetErr(e.errOut)
	err := root.ExecuteContext(context.Background())
	// As root.Run says it.
	msg, code := cmdutil.Explain(err, e.f)
	if msg != "" {
		fmt.Fprintf(e.errOut, "error: %s\n", msg)
	}
	return e.out.String(), e.errOut.String(), code
}

// mustRun runs and fails the test unless the exit code is want.
func (e *testEnv) mustRun(want int, args ...string) (stdout, stderr string) {
	e.t.Helper()
	out, errOut, code := e.run(args...)
	if code != want {
		e.t.Fatalf("tokenctl token %s: exit %d, want %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, want, out, errOut)
	}
	return out, errOut
}

// requireCI fails instead of skipping when a real dependency is missing
// in CI.
func requireCI(t *testing.T, why string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("CI=true and %s", why)
	}
	t.Skip(why)
}
