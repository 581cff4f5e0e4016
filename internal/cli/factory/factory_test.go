package factory

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zalando/go-keyring"

	"github.com/tokenctl/tokenctl/internal/cli/cmdutil"
	"github.com/tokenctl/tokenctl/internal/credential"
	"github.com/tokenctl/tokenctl/internal/iostreams"
	"github.com/tokenctl/tokenctl/internal/secret"
)

const host = "http://127.0.0.1:8080"

func TestExpiryWarning(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name      string
		expiresIn time.Duration
		tty       bool
		setting   string // expiry_warning in the profile, "" = default 7d
		env       bool   // credential from TOKENCTL_TOKEN
		otherHint bool   // metadata describes another secret
		noWarn    bool   // Globals.NoExpiryWarning
		want      bool
	}{
		{name: "expiring in 2 days on a terminal warns", expiresIn: 48 * time.Hour, tty: true, want: true},
		{name: "expiring in 30 days is quiet", expiresIn: 30 * 24 * time.Hour, tty: true},
		{name: "off a terminal is quiet", expiresIn: 48 * time.Hour},
		{name: "a longer window from the profile warns", expiresIn: 20 * 24 * time.Hour, tty: true, setting: "30d", want: true},
		{name: "expiry_warning 0 turns it off", expiresIn: time.Hour, tty: true, setting: "0"},
		{name: "TOKENCTL_TOKEN is never warned about", expiresIn: time.Hour, tty: true, env: true},
		{name: "metadata of another secret is ignored", expiresIn: time.Hour, tty: true, otherHint: true},
		{name: "auth commands turn it off", expiresIn: time.Hour, tty: true, noWarn: true},
		{name: "an already expired credential warns", expiresIn: -time.Hour, tty: true, want: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mockBus(t)
			keyring.MockInit()
			home := t.TempDir()
			tok, _ := secret.Generate("tkn_")
			vars := map[string]string{"HOME": home, "XDG_CONFIG_HOME": filepath.Join(home, "cfg"), "TOKENCTL_HOST": host}
			if tt.env {
				vars["TOKENCTL_TOKEN"] = tok.String()
			}
			getenv := func(k string) string { return vars[k] }
			ios, _, _, errOut := iostreams.Test()
			ios.SetStderrTTY(tt.tty)
			f := New(ios, getenv, &Globals{NoExpiryWarning: tt.noWarn})
			f.Now = func() time.Time { return now }
			if tt.setting != "" {
				cfg, err := f.Config()
				if err != nil {
					t.Fatal(err)
				}
				if err := cfg.Set("expiry_warning", tt.setting); err != nil {
					t.Fatal(err)
				}
			}
			svc, _ := f.Credentials()
			described := tok.String()
			if tt.otherHint {
				other, _ := secret.Generate("tkn_")
				described = other.String()
			}
			c := &cmdutil.Credential{Host: host, Username: "alice", Source: cmdutil.SourceKeyring, Facts: &cmdutil.Facts{ExpiresAt: now.Add(tt.expiresIn)}}
			if _, err := svc.Save(c, described); err != nil {
				t.Fatal(err)
			}
			// The keyring holds tok; the record describes the secret saved.
			if err := (credential.Keyring{}).Set(credential.AccountKey(host, "alice"), tok.String()); err != nil {
				t.Fatal(err)
			}
			for range 2 {
				if _, err := f.Credential(); err != nil {
					t.Fatal(err)
				}
			}
			got := errOut.String()
			if n := strings.Count(got, "warning:"); (n == 1) != tt.want || n > 1 {
				t.Errorf("stderr %q: want one warning: %v", got, tt.want)
			}
			if tt.want && !strings.Contains(got, "tokenctl auth refresh") {
				t.Errorf("warning does not suggest auth refresh: %q", got)
			}
		})
	}
}

func TestHostSelection(t *testing.T) {
	tests := []struct {
		name     string
		flag     string
		env      string
		profile  string
		want     string
		wantCode int
	}{
		{name: "flag wins", flag: "localhost:1", env: "localhost:2", profile: "http://localhost:3", want: "http://localhost:1"},
		{name: "environment beats profile", env: "localhost:2", profile: "http://localhost:3", want: "http://localhost:2"},
		{name: "profile host", profile: "http://localhost:3", want: "http://localhost:3"},
		{name: "nothing is not logged in", wantCode: cmdutil.ExitAuth},
		{name: "plain http elsewhere is a usage error", flag: "http://tokens.example.com", wantCode: cmdutil.ExitUsage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			home := t.TempDir()
			vars := map[string]string{"HOME": home, "TOKENCTL_HOST": tt.env}
			ios, _, _, _ := iostreams.Test()
			f := New(ios, func(k string) string { return vars[k] }, &Globals{Host: tt.flag})
			if tt.profile != "" {
				cfg, _ := f.Config()
				if err := cfg.Set("host", tt.profile); err != nil {
					t.Fatal(err)
				}
			}
			got, err := f.Host()
			if tt.wantCode != 0 {
				if code := cmdutil.ExitCode(err); code != tt.wantCode {
					t.Fatalf("err %v gives exit %d, want %d", err, code, tt.wantCode)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("Host() = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestSaveCredentialInFileWarnsFirst(t *testing.T) {
	mockBus(t)
	keyring.MockInit()
	home := t.TempDir()
	vars := map[string]string{"HOME": home, "TOKENCTL_HOST": host}
	ios, _, _, errOut := iostreams.Test()
	f := New(ios, func(k string) string { return vars[k] }, &Globals{})
	c := &cmdutil.Credential{Host: host, Source: cmdutil.SourceFile}
	if err := f.SaveCredential(c, "tkn_notchecked"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(errOut.String(), "plain file, not encrypted") {
		t.Errorf("no warning: %q", errOut.String())
	}
	got, err := f.Credential()
	if err != nil || got.Source != cmdutil.SourceFile || got.Token != "tkn_notchecked" {
		t.Fatalf("Credential() = %+v, %v", got, err)
	}
	if err := f.RemoveCredential(got); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Credential(); cmdutil.ExitCode(err) != cmdutil.ExitAuth {
		t.Errorf("after remove: %v", err)
	}
	if _, err := os.Stat(filepath.Join(home, ".config", "tokenctl", "credentials.yaml")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("credentials file left: %v", err)
	}
}

// mockBus makes a session bus look present, so the keyring wrapper reaches
// go-keyring's in-memory mock instead of refusing for want of D-Bus.
func mockBus(t *testing.T) {
	t.Helper()
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/mock-bus")
}

// Storing a credential sends no request: the caller passes what it knows
// about the token (Facts), and without Facts the account keeps its token's
// id and name and forgets the expiry it can no longer vouch for.
func TestSaveCredentialSendsNothingAndRecordsTheCallersFacts(t *testing.T) {
	mockBus(t)
	keyring.MockInit()
	var requests atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { requests.Add(1) }))
	defer srv.Close()
	home := t.TempDir()
	vars := map[string]string{"HOME": home, "TOKENCTL_HOST": srv.URL}
	ios, _, _, _ := iostreams.Test()
	f := New(ios, func(k string) string { return vars[k] }, &Globals{})
	tok, _ := secret.Generate("tkn_")
	exp := time.Date(2027, 5, 6, 7, 8, 9, 0, time.UTC)
	c := &cmdutil.Credential{Host: srv.URL, Username: "alice", Source: cmdutil.SourceKeyring,
		Facts: &cmdutil.Facts{TokenID: "01jd8k2m4n5p6q7r8s9t0v1w2x", TokenName: "tokenctl@box", ExpiresAt: exp}}
	if err := f.SaveCredential(c, tok.String()); err != nil {
		t.Fatal(err)
	}
	svc, _ := f.Credentials()
	a := svc.Account(srv.URL, "alice")
	if a == nil || a.TokenID != "01jd8k2m4n5p6q7r8s9t0v1w2x" || !a.ExpiresAt.Equal(exp) || !a.Matches(tok.String()) || !a.Active {
		t.Fatalf("record = %+v", a)
	}
	// A rotate by a caller that says nothing about the new token.
	got, err := f.Credential()
	if err != nil {
		t.Fatal(err)
	}
	rotated, _ := secret.Generate("tkn_")
	if err := f.SaveCredential(got, rotated.String()); err != nil {
		t.Fatal(err)
	}
	a = svc.Account(srv.URL, "alice")
	if a.TokenID != "01jd8k2m4n5p6q7r8s9t0v1w2x" || a.TokenName != "tokenctl@box" || !a.ExpiresAt.IsZero() || !a.Matches(rotated.String()) {
		t.Errorf("after a save without facts, record = %+v", a)
	}
	if n := requests.Load(); n != 0 {
		t.Errorf("saving sent %d requests", n)
	}
}

// ClientFor builds a client as Client does — the selected host, the global
// --debug trace and user agent, one budget — only with the token given, or
// none: exec's minted token and revoke-leaked use it instead of building
// their own from ClientOptions.
func TestClientForCarriesTheGlobalOptions(t *testing.T) {
	var auths, agents []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auths = append(auths, r.Header.Get("Authorization"))
		agents = append(agents, r.Header.Get("User-Agent"))
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"items":[]}`))
	}))
	defer srv.Close()
	ios, _, _, errOut := iostreams.Test()
	vars := map[string]string{"HOME": t.TempDir(), "TOKENCTL_HOST": srv.URL}
	f := New(ios, func(k string) string { return vars[k] }, &Globals{Debug: true})
	tok, _ := secret.Generate("tkn_")
	for _, token := range []string{tok.String(), ""} {
		c, err := f.ClientFor(token)
		if err != nil {
			t.Fatal(err)
		}
		if c.Host() != srv.URL {
			t.Errorf("host %s, want %s", c.Host(), srv.URL)
		}
		if _, err := c.Scopes(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	if len(auths) != 2 || auths[0] != "Bearer "+tok.String() || auths[1] != "" {
		t.Errorf("Authorization headers %d, want the token then none", len(auths))
	}
	for _, ua := range agents {
		if !strings.HasPrefix(ua, "tokenctl/") {
			t.Errorf("User-Agent %q", ua)
		}
	}
	if !strings.Contains(errOut.String(), "> GET "+srv.URL+"/v1/scopes") || strings.Contains(errOut.String(), tok.String()) {
		t.Errorf("--debug trace missing or unredacted:\n%s", errOut)
	}
}
