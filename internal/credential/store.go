package credential

import (
	"errors"
	"fmt"
	"path/filepath"
	"time"
)

// Where a credential lives. The strings match cmdutil's Source constants.
const (
	SourceEnv     = "environment"
	SourceKeyring = "keyring"
	SourceFile    = "file"
)

// EnvToken is the environment variable that overrides every stored
// credential (CI).
const EnvToken = "TOKENCTL_TOKEN"

// Store resolves and stores tokenctl's credential for a host.
type Store struct {
	Getenv  func(string) string
	Keyring Keyring
	File    FileStore
	Meta    MetaStore
}

// NewStore returns the store rooted at dir (config.Dir). The keyring timeout
// is DefaultKeyringTimeout unless TOKENCTL_KEYRING_TIMEOUT (a Go duration)
// says otherwise.
func NewStore(dir string, getenv func(string) string) *Store {
	timeout := DefaultKeyringTimeout
	if v := getenv("TOKENCTL_KEYRING_TIMEOUT"); v != "" {
		if d, err := time.ParseDuration(v); err == nil && d > 0 {
			timeout = d
		}
	}
	return &Store{
		Getenv:  getenv,
		Keyring: Keyring{Timeout: timeout},
		File:    FileStore{Path: filepath.Join(dir, "credentials.yaml")},
		Meta:    MetaStore{Path: filepath.Join(dir, "state.yaml")},
	}
}

// NotFoundError says no credential was found for Host. KeyringErr is set
// when the keyring could not be asked, which may be why.
type NotFoundError struct {
	Host       string
	KeyringErr error
}

func (e *NotFoundError) Error() string {
	if e.KeyringErr != nil {
		return fmt.Sprintf("no credential for %s (%v)", e.Host, e.KeyringErr)
	}
	return "no credential for " + e.Host
}

func (e *NotFoundError) Is(target error) bool { return target == ErrNotFound }

// Lookup finds the secret for host: TOKENCTL_TOKEN, then the keyring, then
// the plain file. It returns the secret and its source, or a *NotFoundError.
func (s *Store) Lookup(host string) (secret, source string, err error) {
	if v := s.Getenv(EnvToken); v != "" {
		return v, SourceEnv, nil
	}
	secret, kerr := s.Keyring.Get(host)
	if kerr == nil {
		return secret, SourceKeyring, nil
	}
	var ke *KeyringError
	if !errors.As(kerr, &ke) {
		kerr = nil // plain not-found
	}
	secret, ferr := s.File.Get(host)
	switch {
	case ferr == nil:
		return secret, SourceFile, nil
	case !errors.Is(ferr, ErrNotFound):
		return "", "", ferr
	}
	return "", "", &NotFoundError{Host: host, KeyringErr: kerr}
}

// Save stores secret for host in the keyring or the file, and removes the
// host's entry from the other one so the lookup finds the new secret:
// logging in again without --insecure-storage cleans up an earlier opt-in,
// and an opt-in is not shadowed by an old keyring entry.
func (s *Store) Save(host, secret, source string) error {
	switch source {
	case SourceKeyring:
		if err := s.Keyring.Set(host, secret); err != nil {
			return err
		}
		if err := s.File.Delete(host); err != nil && !errors.Is(err, ErrNotFound) {
			return fmt.Errorf("stored in the keyring, but could not remove the old plain-file copy: %w", err)
		}
		return nil
	case SourceFile:
		if err := s.File.Set(host, secret); err != nil {
			return err
		}
		// An older keyring entry would win the lookup over the file and
		// shadow the new secret. When the keyring cannot be reached (often
		// why the file was chosen) there is nothing it could shadow with.
		if err := s.Keyring.Delete(host); err != nil && !errors.Is(err, ErrNotFound) {
			var ke *KeyringError
			if !errors.As(err, &ke) {
				return err
			}
		}
		return nil
	case SourceEnv:
		return fmt.Errorf("the credential comes from %s: update that variable yourself", EnvToken)
	default:
		return fmt.Errorf("unknown credential store %q", source)
	}
}

// Remove deletes host's secret from source, and from the other store too
// when it is there, so logout leaves nothing behind. The metadata goes as
// well. A keyring that cannot be reached is an error only when the
// credential lived there.
func (s *Store) Remove(host, source string) error {
	if source == SourceEnv {
		return fmt.Errorf("the credential comes from %s: unset it to log out", EnvToken)
	}
	kerr := s.Keyring.Delete(host)
	ferr := s.File.Delete(host)
	_ = s.Meta.Delete(host)
	if errors.Is(kerr, ErrNotFound) {
		kerr = nil
	}
	if errors.Is(ferr, ErrNotFound) {
		ferr = nil
	}
	if ferr != nil {
		return ferr
	}
	if kerr != nil && source == SourceKeyring {
		return kerr
	}
	return nil
}

// FilePath is where the plain-file store lives.
func (s *Store) FilePath() string { return s.File.Path }
