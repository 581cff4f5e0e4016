package credential

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/zalando/go-keyring"

	"github.com/tokenctl/tokenctl/internal/secret"
)

// These tests exercise the logic around the keyring with go-keyring's
// in-memory mock; the real Secret Service is exercised by the auth command
// tests and the end-to-end scripts.

const host = "http://127.0.0.1:8080"

func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func newService(t *testing.T, vars map[string]string) *Service {
	t.Helper()
	mockBus(t)
	keyring.MockInit()
	return NewService(filepath.Join(t.TempDir(), "tokenctl"), env(vars), io.Discard)
}

func newToken(t *testing.T) string {
	t.Helper()
	tok, err := secret.Generate("tkn_")
	if err != nil {
		t.Fatal(err)
	}
	return tok.String()
}

func TestLookupOrder(t *testing.T) {
	envTok, krTok, fileTok := newToken(t), newToken(t), newToken(t)
	tests := []struct {
		name                string
		envToken            string
		inKeyring, inFile   string
		keyringBroken       bool
		wantSecret, wantSrc string
		wantKeyringErr      bool
	}{
		{name: "environment wins over everything", envToken: envTok, inKeyring: krTok, inFile: fileTok, wantSecret: envTok, wantSrc: SourceEnv},
		{name: "environment is trimmed", envToken: " " + envTok + "\n", inKeyring: krTok, wantSecret: envTok, wantSrc: SourceEnv},
		{name: "keyring wins over the file", inKeyring: krTok, inFile: fileTok, wantSecret: krTok, wantSrc: SourceKeyring},
		{name: "file is used when the keyring has nothing", inFile: fileTok, wantSecret: fileTok, wantSrc: SourceFile},
		{name: "file is used when the keyring is broken", inFile: fileTok, keyringBroken: true, wantSecret: fileTok, wantSrc: SourceFile},
		{name: "nothing anywhere is not found"},
		{name: "broken keyring and no file says why", keyringBroken: true, wantKeyringErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newService(t, map[string]string{EnvToken: tt.envToken})
			// Entries under the bare host, as older versions stored them.
			if tt.inKeyring != "" {
				if err := s.keyring.Set(host, tt.inKeyring); err != nil {
					t.Fatal(err)
				}
			}
			if tt.inFile != "" {
				if err := s.file.Set(host, tt.inFile); err != nil {
					t.Fatal(err)
				}
			}
			if tt.keyringBroken {
				mockBus(t)
				keyring.MockInitWithError(errors.New("Cannot autolaunch D-Bus without X11 $DISPLAY"))
			}
			got, err := s.Lookup(host)
			if tt.wantSecret == "" {
				var nf *NotFoundError
				if !errors.As(err, &nf) || !errors.Is(err, ErrNotFound) {
					t.Fatalf("err = %v, want a NotFoundError", err)
				}
				if (nf.KeyringErr != nil) != tt.wantKeyringErr {
					t.Errorf("KeyringErr = %v, want set: %v", nf.KeyringErr, tt.wantKeyringErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Token != tt.wantSecret || got.Source != tt.wantSrc {
				t.Errorf("got (%q, %s), want (%q, %s)", got.Token, got.Source, tt.wantSecret, tt.wantSrc)
			}
		})
	}
}

func TestInvalidEnvironmentTokenIsRefused(t *testing.T) {
	good := newToken(t)
	flip := "a"
	if good[len(good)-1] == 'a' {
		flip = "b"
	}
	bad := good[:len(good)-1] + flip // a typo: the checksum no longer matches
	for _, v := range []string{bad, "Bearer " + good, good[:20], "hunter2"} {
		s := newService(t, map[string]string{EnvToken: v})
		_, err := s.Lookup(host)
		if !errors.Is(err, ErrInvalidEnvToken) {
			t.Errorf("err = %v, want ErrInvalidEnvToken", err)
		}
		if err != nil && strings.Contains(err.Error(), good[8:]) {
			t.Errorf("error quotes the variable")
		}
	}
}

func TestTwoUsersOnOneHostKeepTheirCredentials(t *testing.T) {
	s := newService(t, nil)
	alice, bob := newToken(t), newToken(t)
	if _, err := s.Save(&Credential{Host: host, Username: "alice", Source: SourceKeyring, Facts: &Facts{TokenID: "a1"}}, alice); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Save(&Credential{Host: host, Username: "bob", Source: SourceKeyring, Facts: &Facts{TokenID: "b1"}}, bob); err != nil {
		t.Fatal(err)
	}
	if c, err := s.Lookup(host); err != nil || c.Token != bob || c.Username != "bob" {
		t.Fatalf("active = %+v, %v; want bob's", c, err)
	}
	if c, err := s.LookupUser(host, "alice"); err != nil || c.Token != alice {
		t.Fatalf("alice's credential = %v, %v", c, err)
	}
	if got, _ := s.keyring.Get("alice@" + host); got != alice {
		t.Error("alice's keyring entry is not alice@host")
	}
	if err := s.Switch(host, "alice"); err != nil {
		t.Fatal(err)
	}
	if c, _ := s.Lookup(host); c.Username != "alice" {
		t.Errorf("after switch, active = %s", c.Username)
	}
	if err := s.Switch(host, "carol"); !errors.Is(err, ErrNotFound) {
		t.Errorf("switch to an unknown user: %v", err)
	}
	accts := s.Accounts(host)
	if len(accts) != 2 || accts[0].Username != "alice" || !accts[0].Active || accts[1].Active {
		t.Errorf("accounts = %+v", accts)
	}
	c, _ := s.Lookup(host)
	now, err := s.Remove(c)
	if err != nil {
		t.Fatal(err)
	}
	if now == nil || now.Username != "bob" {
		t.Errorf("after removing the active account, active = %+v, want bob", now)
	}
	if c, _ := s.Lookup(host); c == nil || c.Token != bob {
		t.Errorf("bob is not in use after alice logged out")
	}
}

func TestSaveReturnsTheReplacedRecord(t *testing.T) {
	s := newService(t, nil)
	if _, err := s.Save(&Credential{Host: host, Username: "alice", Source: SourceKeyring, Facts: &Facts{TokenID: "old", LoginToken: true}}, newToken(t)); err != nil {
		t.Fatal(err)
	}
	replaced, err := s.Save(&Credential{Host: host, Username: "alice", Source: SourceKeyring, Facts: &Facts{TokenID: "new", LoginToken: true}}, newToken(t))
	if err != nil {
		t.Fatal(err)
	}
	if replaced == nil || replaced.TokenID != "old" || !replaced.LoginToken {
		t.Errorf("replaced = %+v", replaced)
	}
	// A rotate (auth refresh, token rotate) keeps the id: still a login
	// token, though the caller did not say so.
	if _, err := s.Save(&Credential{Host: host, Username: "alice", Source: SourceKeyring, Facts: &Facts{TokenID: "new"}}, newToken(t)); err != nil {
		t.Fatal(err)
	}
	if a := s.Account(host, "alice"); !a.LoginToken {
		t.Errorf("a rotated login token lost its flag: %+v", a)
	}
}

// A user of the single-account version: state.yaml is a map of host to
// record and the keyring entry is named after the host alone. They stay
// logged in, and the first read moves the entry to user@host.
func TestSingleAccountStateIsMigratedOnRead(t *testing.T) {
	s := newService(t, nil)
	tok := newToken(t)
	if err := s.keyring.Set(host, tok); err != nil {
		t.Fatal(err)
	}
	old := "# tokenctl state\n" + host + ":\n  username: alice\n  token_id: t1\n  token_name: tokenctl@box\n  key_hint: x\n  expires_at: 2027-01-02T03:04:05Z\n"
	if err := os.MkdirAll(filepath.Dir(s.state.Path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(s.state.Path, []byte(old), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := s.Lookup(host)
	if err != nil || c.Token != tok || c.Username != "alice" {
		t.Fatalf("Lookup = %+v, %v", c, err)
	}
	if got, err := s.keyring.Get("alice@" + host); err != nil || got != tok {
		t.Errorf("not moved to alice@host: %v", err)
	}
	if _, err := s.keyring.Get(host); !errors.Is(err, ErrNotFound) {
		t.Errorf("bare-host entry left behind: %v", err)
	}
	a := s.Account(host, "alice")
	if a == nil || !a.Active || a.Storage != SourceKeyring || a.TokenID != "t1" || a.TokenName != "tokenctl@box" {
		t.Errorf("record = %+v", a)
	}
	if c, err := s.Lookup(host); err != nil || c.Token != tok {
		t.Errorf("second lookup: %v", err)
	}
}

// An entry under the bare host with no record at all learns its user when
// the server names it (auth status), and moves then.
func TestRecordLearnsTheUserOfAnOldEntry(t *testing.T) {
	s := newService(t, nil)
	tok := newToken(t)
	if err := s.file.Set(host, tok); err != nil {
		t.Fatal(err)
	}
	c, err := s.Lookup(host)
	if err != nil || c.Username != "" || c.Source != SourceFile {
		t.Fatalf("Lookup = %+v, %v", c, err)
	}
	if err := s.Record(c, "alice", Facts{TokenID: "t1"}); err != nil {
		t.Fatal(err)
	}
	if s.file.Has(host) || !s.file.Has("alice@"+host) {
		t.Error("file entry was not moved to alice@host")
	}
	if a := s.Account(host, "alice"); a == nil || !a.Active || a.TokenID != "t1" || !a.Matches(tok) {
		t.Errorf("record = %+v", a)
	}
}

func TestKeyringErrorNamesTheWaysForward(t *testing.T) {
	mockBus(t)
	keyring.MockInitWithError(errors.New("The name org.freedesktop.secrets was not provided\nby any .service files"))
	err := Keyring{}.Set(host, "x")
	var ke *KeyringError
	if !errors.As(err, &ke) {
		t.Fatalf("err = %v, want a KeyringError", err)
	}
	msg := err.Error()
	for _, want := range []string{"keyring", "gnome-keyring", "TOKENCTL_TOKEN", "--insecure-storage", "org.freedesktop.secrets"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q lacks %q", msg, want)
		}
	}
	if strings.Contains(msg, "\n") {
		t.Errorf("message spans lines: %q", msg)
	}
}

func TestKeyringCallTimesOut(t *testing.T) {
	mockBus(t)
	release := make(chan struct{})
	defer close(release)
	k := Keyring{Timeout: 20 * time.Millisecond}
	err := k.call("read", func() error { <-release; return nil })
	var ke *KeyringError
	if !errors.As(err, &ke) || !strings.Contains(err.Error(), "no answer within 20ms") {
		t.Fatalf("err = %v, want a timeout KeyringError", err)
	}
}

func TestKeyringTimeoutFromEnvironment(t *testing.T) {
	s := NewService(t.TempDir(), env(map[string]string{"TOKENCTL_KEYRING_TIMEOUT": "250ms"}), nil)
	if s.keyring.Timeout != 250*time.Millisecond {
		t.Errorf("timeout = %s", s.keyring.Timeout)
	}
	s = NewService(t.TempDir(), env(map[string]string{"TOKENCTL_KEYRING_TIMEOUT": "soon"}), nil)
	if s.keyring.Timeout != DefaultKeyringTimeout {
		t.Errorf("bad value gave timeout %s, want the default", s.keyring.Timeout)
	}
}

func TestFileStoreIsPrivateAndAtomic(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cfg", "tokenctl")
	f := FileStore{Path: filepath.Join(dir, "credentials.yaml")}
	if err := f.Set(host, "secret-one"); err != nil {
		t.Fatal(err)
	}
	if err := f.Set("https://other.example", "secret-two"); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(f.Path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("file mode %v, want 0600", fi.Mode().Perm())
	}
	di, _ := os.Stat(dir)
	if di.Mode().Perm() != 0o700 {
		t.Errorf("dir mode %v, want 0700", di.Mode().Perm())
	}
	if got, _ := f.Get(host); got != "secret-one" {
		t.Errorf("Get = %q", got)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want only the file (no temp leftovers)", len(entries))
	}
	if err := f.Delete(host); err != nil {
		t.Fatal(err)
	}
	if err := f.Delete(host); !errors.Is(err, ErrNotFound) {
		t.Errorf("second delete err = %v, want ErrNotFound", err)
	}
	if err := f.Delete("https://other.example"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(f.Path); !os.IsNotExist(err) {
		t.Errorf("empty credentials file was left behind (stat err %v)", err)
	}
}

func TestFileStoreCorruptFileErrorHidesContent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "credentials.yaml")
	if err := os.WriteFile(path, []byte("tkn_leaked: [unclosed"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := FileStore{Path: path}.Get(host)
	if err == nil || strings.Contains(err.Error(), "tkn_leaked") {
		t.Fatalf("err = %v: want an error that does not quote the file", err)
	}
}

func TestSaveToKeyringRemovesPlainFileCopy(t *testing.T) {
	s := newService(t, nil)
	old, new := newToken(t), newToken(t)
	if _, err := s.Save(&Credential{Host: host, Username: "alice", Source: SourceFile}, old); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Save(&Credential{Host: host, Username: "alice", Source: SourceKeyring}, new); err != nil {
		t.Fatal(err)
	}
	if s.file.Has("alice@" + host) {
		t.Error("plain-file copy survived a keyring login")
	}
	if c, _ := s.Lookup(host); c.Token != new || c.Source != SourceKeyring {
		t.Errorf("Lookup = %+v", c)
	}
}

func TestSaveRefusesEnvironment(t *testing.T) {
	s := newService(t, nil)
	_, err := s.Save(&Credential{Host: host, Username: "alice", Source: SourceEnv}, newToken(t))
	if err == nil || !strings.Contains(err.Error(), EnvToken) {
		t.Fatalf("err = %v", err)
	}
}

func TestRemoveClearsEveryStoreAndMetadata(t *testing.T) {
	s := newService(t, nil)
	tok := newToken(t)
	c := &Credential{Host: host, Username: "alice", Source: SourceKeyring, Facts: &Facts{TokenID: "t1", ExpiresAt: time.Now()}}
	if _, err := s.Save(c, tok); err != nil {
		t.Fatal(err)
	}
	_ = s.file.Set("alice@"+host, "file-copy")
	if _, err := s.Remove(c); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Lookup(host); !errors.Is(err, ErrNotFound) {
		t.Errorf("after remove, Lookup err = %v", err)
	}
	if s.file.Has("alice@" + host) {
		t.Error("file copy survived")
	}
	if a := s.Account(host, "alice"); a != nil {
		t.Errorf("metadata survived: %+v", a)
	}
}

func TestRemoveFileCredentialWithBrokenKeyring(t *testing.T) {
	s := newService(t, nil)
	c := &Credential{Host: host, Username: "alice", Source: SourceFile}
	if _, err := s.Save(c, newToken(t)); err != nil {
		t.Fatal(err)
	}
	mockBus(t)
	keyring.MockInitWithError(errors.New("no dbus"))
	if _, err := s.Remove(c); err != nil {
		t.Fatalf("removing a plain-file credential failed because of the keyring: %v", err)
	}
	if s.file.Has("alice@" + host) {
		t.Error("file entry survived")
	}
}

func TestStateHoldsNoSecret(t *testing.T) {
	s := newService(t, nil)
	tok, _ := secret.Generate("tkn_")
	exp := time.Date(2027, 1, 2, 3, 4, 5, 0, time.UTC)
	if _, err := s.Save(&Credential{Host: host, Username: "alice", Source: SourceKeyring, Facts: &Facts{TokenID: "t1", TokenName: "tokenctl@box", ExpiresAt: exp}}, tok.String()); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(s.state.Path)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(data), tok.Random) {
		t.Error("state file holds the secret")
	}
	m := s.Account(host, "alice")
	if m == nil || m.TokenID != "t1" || !m.ExpiresAt.Equal(exp) || m.KeyHint != tok.Hint() || !m.Active {
		t.Errorf("record = %+v", m)
	}
}

func TestSaveToFileIsNotShadowedByOldKeyringEntry(t *testing.T) {
	s := newService(t, nil)
	old, new := newToken(t), newToken(t)
	if _, err := s.Save(&Credential{Host: host, Username: "alice", Source: SourceKeyring}, old); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Save(&Credential{Host: host, Username: "alice", Source: SourceFile}, new); err != nil {
		t.Fatal(err)
	}
	if c, _ := s.Lookup(host); c.Token != new || c.Source != SourceFile {
		t.Errorf("Lookup = %+v, want the new file entry", c)
	}
}

func TestSaveToFileWithBrokenKeyring(t *testing.T) {
	s := newService(t, nil)
	mockBus(t)
	keyring.MockInitWithError(errors.New("no dbus"))
	if _, err := s.Save(&Credential{Host: host, Username: "alice", Source: SourceFile}, newToken(t)); err != nil {
		t.Fatalf("saving to the file failed because of the keyring: %v", err)
	}
}

// mockBus makes a session bus look present, so the keyring wrapper reaches
// go-keyring's in-memory mock instead of refusing for want of D-Bus.
func mockBus(t *testing.T) {
	t.Helper()
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/mock-bus")
}

// Without a session bus the wrapper must refuse at once: letting godbus
// autolaunch one would leave a dbus-daemon behind after every run.
func TestKeyringWithoutSessionBusDoesNotAutolaunch(t *testing.T) {
	if runtime.GOOS == "darwin" || runtime.GOOS == "windows" {
		t.Skip("no D-Bus on this OS")
	}
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "")
	t.Setenv("XDG_RUNTIME_DIR", t.TempDir())
	_, err := Keyring{}.Get(host)
	var ke *KeyringError
	if !errors.As(err, &ke) || !strings.Contains(err.Error(), "no D-Bus session bus") || !strings.Contains(err.Error(), "TOKENCTL_TOKEN") {
		t.Fatalf("err = %v", err)
	}
}

// state.yaml written before the key hint showed the secret's last four
// holds the earlier form; the record must still describe its credential,
// or the expiry warning would go quiet after an upgrade.
func TestAccountMatchesAnEarlierFormKeyHint(t *testing.T) {
	tok, err := secret.Generate("tkn_")
	if err != nil {
		t.Fatal(err)
	}
	r := tok.Random
	for _, h := range []string{tok.Hint(), "tkn_" + r[:4] + "…" + r[len(r)-4:]} {
		if a := (&Account{KeyHint: h}); !a.Matches(tok.String()) {
			t.Errorf("hint %q does not match its token", h)
		}
	}
	other, _ := secret.Generate("tkn_")
	if a := (&Account{KeyHint: tok.Hint()}); a.Matches(other.String()) || (&Account{}).Matches(tok.String()) {
		t.Error("a hint matched another token, or an empty hint matched")
	}
}
