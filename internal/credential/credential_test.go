package credential

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/zalando/go-keyring"

	"github.com/tokenctl/tokenctl/internal/api"
	"github.com/tokenctl/tokenctl/internal/secret"
)

// These tests exercise the logic around the keyring with go-keyring's
// in-memory mock; the real Secret Service is exercised by the auth command
// tests and the end-to-end scripts.

const host = "http://127.0.0.1:8080"

func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func newStore(t *testing.T, vars map[string]string) *Store {
	t.Helper()
	mockBus(t)
	keyring.MockInit()
	return NewStore(filepath.Join(t.TempDir(), "tokenctl"), env(vars))
}

func TestLookupOrder(t *testing.T) {
	tests := []struct {
		name                string
		envToken            string
		inKeyring, inFile   string
		keyringBroken       bool
		wantSecret, wantSrc string
		wantKeyringErr      bool
	}{
		{name: "environment wins over everything", envToken: "env-tok", inKeyring: "kr-tok", inFile: "file-tok", wantSecret: "env-tok", wantSrc: SourceEnv},
		{name: "keyring wins over the file", inKeyring: "kr-tok", inFile: "file-tok", wantSecret: "kr-tok", wantSrc: SourceKeyring},
		{name: "file is used when the keyring has nothing", inFile: "file-tok", wantSecret: "file-tok", wantSrc: SourceFile},
		{name: "file is used when the keyring is broken", inFile: "file-tok", keyringBroken: true, wantSecret: "file-tok", wantSrc: SourceFile},
		{name: "nothing anywhere is not found"},
		{name: "broken keyring and no file says why", keyringBroken: true, wantKeyringErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t, map[string]string{EnvToken: tt.envToken})
			if tt.inKeyring != "" {
				if err := s.Keyring.Set(host, tt.inKeyring); err != nil {
					t.Fatal(err)
				}
			}
			if tt.inFile != "" {
				if err := s.File.Set(host, tt.inFile); err != nil {
					t.Fatal(err)
				}
			}
			if tt.keyringBroken {
				mockBus(t)
				keyring.MockInitWithError(errors.New("Cannot autolaunch D-Bus without X11 $DISPLAY"))
			}
			got, src, err := s.Lookup(host)
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
			if got != tt.wantSecret || src != tt.wantSrc {
				t.Errorf("got (%q, %s), want (%q, %s)", got, src, tt.wantSecret, tt.wantSrc)
			}
		})
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
	s := NewStore(t.TempDir(), env(map[string]string{"TOKENCTL_KEYRING_TIMEOUT": "250ms"}))
	if s.Keyring.Timeout != 250*time.Millisecond {
		t.Errorf("timeout = %s", s.Keyring.Timeout)
	}
	s = NewStore(t.TempDir(), env(map[string]string{"TOKENCTL_KEYRING_TIMEOUT": "soon"}))
	if s.Keyring.Timeout != DefaultKeyringTimeout {
		t.Errorf("bad value gave timeout %s, want the default", s.Keyring.Timeout)
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
	s := newStore(t, nil)
	if err := s.Save(host, "old", SourceFile); err != nil {
		t.Fatal(err)
	}
	if err := s.Save(host, "new", SourceKeyring); err != nil {
		t.Fatal(err)
	}
	if s.File.Has(host) {
		t.Error("plain-file copy survived a keyring login")
	}
	if got, src, _ := s.Lookup(host); got != "new" || src != SourceKeyring {
		t.Errorf("Lookup = %q from %s", got, src)
	}
}

func TestSaveRefusesEnvironment(t *testing.T) {
	s := newStore(t, nil)
	err := s.Save(host, "x", SourceEnv)
	if err == nil || !strings.Contains(err.Error(), EnvToken) {
		t.Fatalf("err = %v", err)
	}
}

func TestRemoveClearsEveryStoreAndMetadata(t *testing.T) {
	s := newStore(t, nil)
	tok, _ := secret.Generate("tkn_")
	_ = s.Keyring.Set(host, tok.String())
	_ = s.File.Set(host, "file-copy")
	if err := s.Meta.Record(host, tok.String(), &api.User{Username: "alice", Token: &api.Token{ID: "t1", ExpiresAt: time.Now()}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Remove(host, SourceKeyring); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Lookup(host); !errors.Is(err, ErrNotFound) {
		t.Errorf("after remove, Lookup err = %v", err)
	}
	if m := s.Meta.Get(host); m != nil {
		t.Errorf("metadata survived: %+v", m)
	}
}

func TestRemoveFileCredentialWithBrokenKeyring(t *testing.T) {
	s := newStore(t, nil)
	_ = s.File.Set(host, "file-tok")
	mockBus(t)
	keyring.MockInitWithError(errors.New("no dbus"))
	if err := s.Remove(host, SourceFile); err != nil {
		t.Fatalf("removing a plain-file credential failed because of the keyring: %v", err)
	}
	if s.File.Has(host) {
		t.Error("file entry survived")
	}
}

func TestMetaRecordHoldsNoSecret(t *testing.T) {
	s := newStore(t, nil)
	tok, _ := secret.Generate("tkn_")
	exp := time.Date(2027, 1, 2, 3, 4, 5, 0, time.UTC)
	if err := s.Meta.Record(host, tok.String(), &api.User{Username: "alice", Token: &api.Token{ID: "t1", Name: "tokenctl@box", ExpiresAt: exp}}); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(s.Meta.Path)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(data), tok.Random) {
		t.Error("state file holds the secret")
	}
	m := s.Meta.Get(host)
	if m == nil || m.Username != "alice" || m.TokenID != "t1" || !m.ExpiresAt.Equal(exp) || m.KeyHint != tok.Hint() {
		t.Errorf("meta = %+v", m)
	}
}

func TestSaveToFileIsNotShadowedByOldKeyringEntry(t *testing.T) {
	s := newStore(t, nil)
	if err := s.Save(host, "old", SourceKeyring); err != nil {
		t.Fatal(err)
	}
	if err := s.Save(host, "new", SourceFile); err != nil {
		t.Fatal(err)
	}
	if got, src, _ := s.Lookup(host); got != "new" || src != SourceFile {
		t.Errorf("Lookup = %q from %s, want the new file entry", got, src)
	}
}

func TestSaveToFileWithBrokenKeyring(t *testing.T) {
	s := newStore(t, nil)
	mockBus(t)
	keyring.MockInitWithError(errors.New("no dbus"))
	if err := s.Save(host, "new", SourceFile); err != nil {
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
