// Package credential owns tokenctl's own credentials: it finds the one in
// use for a host (the TOKENCTL_TOKEN environment variable, else the host's
// active account from the OS keyring or an opt-in plain file), stores,
// switches and removes accounts, and keeps their non-secret facts in
// state.yaml. Commands reach all of it through a Service.
package credential

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/tokenctl/tokenctl/internal/secret"
)

// Where a credential lives.
const (
	SourceEnv     = "environment" // TOKENCTL_TOKEN
	SourceKeyring = "keyring"     // the OS keyring
	SourceFile    = "file"        // plain file, after --insecure-storage
)

// EnvToken is the environment variable that overrides every stored
// credential (CI).
const EnvToken = "TOKENCTL_TOKEN"

// ErrInvalidEnvToken means TOKENCTL_TOKEN holds something that is not a
// token (a typo, a cut-off paste, a "Bearer " prefix). It is caught before
// anything is sent.
var ErrInvalidEnvToken = errors.New(EnvToken + " is not a valid token (mistyped or truncated?)")

// Credential is the secret tokenctl authenticates with and where it lives.
// Token is a secret: never print or log it (only `auth token` prints it).
type Credential struct {
	Host string // normalised base URL
	// Username is the account's user; empty for TOKENCTL_TOKEN and for an
	// old single-account entry whose user is not known yet.
	Username string
	Token    string
	Source   string // SourceEnv, SourceKeyring or SourceFile
	// Location says where exactly, for people: the keyring service, the
	// variable's name or the file's path.
	Location string
	// Facts, when the caller sets it before saving a new secret, describes
	// the new secret's token (for the expiry warning). Without it the
	// account keeps its token id and name and forgets the expiry.
	Facts *Facts
}

// Facts are what a caller knows about a token it is about to store.
type Facts struct {
	TokenID    string
	TokenName  string
	ExpiresAt  time.Time
	LoginToken bool // minted by `auth login` with a password
}

// Service is the one owner of tokenctl's credentials.
type Service struct {
	getenv  func(string) string
	keyring Keyring
	file    FileStore
	state   StateStore
	warn    io.Writer
}

// NewService returns the service rooted at dir (config.Dir). The keyring
// timeout is DefaultKeyringTimeout unless TOKENCTL_KEYRING_TIMEOUT (a Go
// duration) says otherwise. warn is told before a secret is written to the
// plain file.
func NewService(dir string, getenv func(string) string, warn io.Writer) *Service {
	timeout := DefaultKeyringTimeout
	if v := getenv("TOKENCTL_KEYRING_TIMEOUT"); v != "" {
		if d, err := time.ParseDuration(v); err == nil && d > 0 {
			timeout = d
		}
	}
	if warn == nil {
		warn = io.Discard
	}
	return &Service{
		getenv:  getenv,
		keyring: Keyring{Timeout: timeout},
		file:    FileStore{Path: filepath.Join(dir, "credentials.yaml")},
		state:   StateStore{Path: filepath.Join(dir, "state.yaml")},
		warn:    warn,
	}
}

// AccountKey names an account's entry in the keyring and the plain file:
// "user@host". An empty user gives the bare host, the single-account name
// that older versions used.
func AccountKey(host, user string) string {
	if user == "" {
		return host
	}
	return user + "@" + host
}

// NotFoundError says no credential was found for Host (and User, when
// one was asked for). KeyringErr is set when the keyring could not be
// asked, which may be why.
type NotFoundError struct {
	Host       string
	User       string
	KeyringErr error
}

func (e *NotFoundError) Error() string {
	what := e.Host
	if e.User != "" {
		what = e.User + " on " + e.Host
	}
	if e.KeyringErr != nil {
		return fmt.Sprintf("no credential for %s (%v)", what, e.KeyringErr)
	}
	return "no credential for " + what
}

func (e *NotFoundError) Is(target error) bool { return target == ErrNotFound }

// EnvToken returns TOKENCTL_TOKEN trimmed of surrounding whitespace (a
// trailing newline from a file is common), "" when unset, or
// ErrInvalidEnvToken when it is not a well-formed token.
func (s *Service) EnvToken() (string, error) {
	v := strings.TrimSpace(s.getenv(EnvToken))
	if v == "" {
		return "", nil
	}
	if _, err := secret.Parse(v); err != nil {
		return "", ErrInvalidEnvToken
	}
	return v, nil
}

// Lookup finds the credential in use for host: TOKENCTL_TOKEN, else the
// host's active account, else an entry stored under the bare host by an
// older version. It returns a *NotFoundError when there is none.
func (s *Service) Lookup(host string) (*Credential, error) {
	if v, err := s.EnvToken(); err != nil || v != "" {
		if err != nil {
			return nil, err
		}
		return s.cred(host, "", v, SourceEnv), nil
	}
	if a := s.state.Active(host); a != nil {
		return s.read(a)
	}
	// No account on record: an entry from before accounts existed (or
	// whose state.yaml is gone). Its user is learnt at the next Record.
	return s.read(&Account{Host: host})
}

// LookupUser finds user's stored credential for host, whether active or
// not. TOKENCTL_TOKEN plays no part.
func (s *Service) LookupUser(host, user string) (*Credential, error) {
	a := s.state.Account(host, user)
	if a == nil {
		return nil, &NotFoundError{Host: host, User: user}
	}
	return s.read(a)
}

// read fetches a's secret. An account from the single-account format is
// moved to its user@host name on the way, best effort.
func (s *Service) read(a *Account) (*Credential, error) {
	key := AccountKey(a.Host, a.Username)
	switch a.Storage {
	case SourceKeyring:
		tok, err := s.keyring.Get(key)
		if err != nil {
			var ke *KeyringError
			if errors.As(err, &ke) {
				return nil, &NotFoundError{Host: a.Host, User: a.Username, KeyringErr: err}
			}
			return nil, &NotFoundError{Host: a.Host, User: a.Username}
		}
		return s.cred(a.Host, a.Username, tok, SourceKeyring), nil
	case SourceFile:
		tok, err := s.file.Get(key)
		if errors.Is(err, ErrNotFound) {
			return nil, &NotFoundError{Host: a.Host, User: a.Username}
		}
		if err != nil {
			return nil, err
		}
		return s.cred(a.Host, a.Username, tok, SourceFile), nil
	}
	// Legacy: the keyring first, then the file, under the bare host.
	tok, source, err := s.legacy(a.Host)
	if err != nil {
		if nf, ok := err.(*NotFoundError); ok {
			nf.User = a.Username
		}
		return nil, err
	}
	c := s.cred(a.Host, "", tok, source)
	if a.Username != "" {
		s.migrate(c, a.Username)
	}
	return c, nil
}

func (s *Service) legacy(host string) (tok, source string, err error) {
	tok, kerr := s.keyring.Get(host)
	if kerr == nil {
		return tok, SourceKeyring, nil
	}
	var ke *KeyringError
	if !errors.As(kerr, &ke) {
		kerr = nil // plain not-found
	}
	tok, ferr := s.file.Get(host)
	switch {
	case ferr == nil:
		return tok, SourceFile, nil
	case !errors.Is(ferr, ErrNotFound):
		return "", "", ferr
	}
	return "", "", &NotFoundError{Host: host, KeyringErr: kerr}
}

// migrate moves c, found under the bare host, to user@host in the same
// storage and records that. On any failure c stays where it was and keeps
// working; the next read tries again.
func (s *Service) migrate(c *Credential, user string) {
	key := AccountKey(c.Host, user)
	var err error
	if c.Source == SourceKeyring {
		if err = s.keyring.Set(key, c.Token); err == nil {
			_ = s.keyring.Delete(c.Host)
		}
	} else {
		if err = s.file.Set(key, c.Token); err == nil {
			_ = s.file.Delete(c.Host)
		}
	}
	if err != nil {
		return
	}
	c.Username = user
	_ = s.state.update(func(d *stateDoc) {
		h := d.host(c.Host)
		a := h.Accounts[user]
		if a == nil {
			a = &Account{}
			h.Accounts[user] = a
		}
		a.Storage = c.Source
		if h.Active == "" {
			h.Active = user
		}
	})
}

func (s *Service) cred(host, user, tok, source string) *Credential {
	return &Credential{Host: host, Username: user, Token: tok, Source: source, Location: s.Location(source)}
}

// Location says where a source is, for people.
func (s *Service) Location(source string) string {
	switch source {
	case SourceEnv:
		return "the " + EnvToken + " environment variable"
	case SourceKeyring:
		return "the OS keyring (service " + KeyringService + ")"
	case SourceFile:
		return "a plain file, not encrypted: " + s.file.Path
	}
	return source
}

// Save stores secret as c's credential (c.Host and c.Username, in the
// keyring or the file as c.Source says), makes it the host's active account
// and records c.Facts. It removes the account's entry from the other
// storage, so the lookup finds the new secret. It returns the account's
// previous record, if any: the caller may revoke the token it replaced.
func (s *Service) Save(c *Credential, secretValue string) (replaced *Account, err error) {
	key := AccountKey(c.Host, c.Username)
	switch c.Source {
	case SourceKeyring:
		if err := s.keyring.Set(key, secretValue); err != nil {
			return nil, err
		}
		if err := s.file.Delete(key); err != nil && !errors.Is(err, ErrNotFound) {
			return nil, fmt.Errorf("stored in the keyring, but could not remove the old plain-file copy: %w", err)
		}
	case SourceFile:
		fmt.Fprintf(s.warn, "warning: storing the credential for %s in a plain file, not encrypted: %s\n", c.Host, s.file.Path)
		if err := s.file.Set(key, secretValue); err != nil {
			return nil, err
		}
		// An older keyring entry would win over the file and shadow the
		// new secret. When the keyring cannot be reached (often why the
		// file was chosen) there is nothing it could shadow with.
		if err := s.keyring.Delete(key); err != nil && !errors.Is(err, ErrNotFound) {
			var ke *KeyringError
			if !errors.As(err, &ke) {
				return nil, err
			}
		}
	case SourceEnv:
		return nil, fmt.Errorf("the credential comes from %s: update that variable yourself", EnvToken)
	default:
		return nil, fmt.Errorf("unknown credential store %q", c.Source)
	}
	c.Token = secretValue
	c.Location = s.Location(c.Source)
	if c.Username == "" {
		return nil, nil // an old entry whose user is unknown: nothing to record
	}
	replaced = s.state.Account(c.Host, c.Username)
	if replaced != nil && replaced.Storage == "" {
		// The single-account entry under the bare host was this user's.
		_ = s.keyring.Delete(c.Host)
		_ = s.file.Delete(c.Host)
	}
	rec := Account{Storage: c.Source, KeyHint: hint(secretValue)}
	switch {
	case c.Facts != nil:
		rec.TokenID, rec.TokenName, rec.ExpiresAt, rec.LoginToken = c.Facts.TokenID, c.Facts.TokenName, c.Facts.ExpiresAt.UTC(), c.Facts.LoginToken
		// A rotated token keeps its id, and stays a login token.
		if replaced != nil && replaced.TokenID == rec.TokenID {
			rec.LoginToken = rec.LoginToken || replaced.LoginToken
		}
	case replaced != nil:
		rec.TokenID, rec.TokenName, rec.LoginToken = replaced.TokenID, replaced.TokenName, replaced.LoginToken
	}
	err = s.state.update(func(d *stateDoc) {
		h := d.host(c.Host)
		h.Accounts[c.Username] = &rec
		h.Active = c.Username
	})
	if err != nil {
		return replaced, fmt.Errorf("stored the credential, but could not record it in %s: %w", s.state.Path, err)
	}
	return replaced, nil
}

// Record refreshes what is known about c's token after the server
// described it, learning the user of an entry stored without one (which
// moves it to its user@host name). It never changes the active account,
// unless the host had none. TOKENCTL_TOKEN is not recorded.
func (s *Service) Record(c *Credential, username string, f Facts) error {
	if c.Source == SourceEnv || username == "" {
		return nil
	}
	if c.Username == "" {
		s.migrate(c, username)
		if c.Username == "" {
			return nil
		}
	}
	if c.Username != username {
		return nil // not the account we thought: leave the record alone
	}
	return s.state.update(func(d *stateDoc) {
		h := d.host(c.Host)
		a := h.Accounts[c.Username]
		if a == nil {
			a = &Account{}
			h.Accounts[c.Username] = a
		}
		login := a.LoginToken && a.TokenID == f.TokenID
		*a = Account{Storage: c.Source, TokenID: f.TokenID, TokenName: f.TokenName, KeyHint: hint(c.Token), ExpiresAt: f.ExpiresAt.UTC(), LoginToken: login || f.LoginToken}
		if h.Active == "" {
			h.Active = c.Username
		}
	})
}

// Remove deletes c's account: its secret from both storages (and the bare
// host entry when that was its) and its record. When it was the active one,
// the first remaining account of the host (by name) becomes active and is
// returned. A keyring that cannot be reached is an error only when the
// credential lived there.
func (s *Service) Remove(c *Credential) (nowActive *Account, err error) {
	if c.Source == SourceEnv {
		return nil, fmt.Errorf("the credential comes from %s: unset it to log out", EnvToken)
	}
	keys := []string{AccountKey(c.Host, c.Username)}
	if a := s.state.Account(c.Host, c.Username); c.Username == "" || (a != nil && a.Storage == "") {
		keys = append(keys, c.Host)
	}
	var kerr, ferr error
	for _, k := range keys {
		if err := s.keyring.Delete(k); err != nil && !errors.Is(err, ErrNotFound) {
			kerr = err
		}
		if err := s.file.Delete(k); err != nil && !errors.Is(err, ErrNotFound) {
			ferr = err
		}
	}
	if c.Username != "" {
		_ = s.state.update(func(d *stateDoc) {
			h := d.host(c.Host)
			delete(h.Accounts, c.Username)
			if h.Active == c.Username {
				h.Active = ""
				if users := sortedUsers(h); len(users) > 0 {
					h.Active = users[0]
				}
			}
		})
		nowActive = s.state.Active(c.Host)
	}
	if ferr != nil {
		return nowActive, ferr
	}
	if kerr != nil && c.Source == SourceKeyring {
		return nowActive, kerr
	}
	return nowActive, nil
}

// Switch makes user the active account for host.
func (s *Service) Switch(host, user string) error {
	if s.state.Account(host, user) == nil {
		return &NotFoundError{Host: host, User: user}
	}
	return s.state.update(func(d *stateDoc) { d.host(host).Active = user })
}

// Accounts lists host's accounts by user name, the active one marked.
func (s *Service) Accounts(host string) []Account { return s.state.Accounts(host) }

// Account returns host's record for user, or nil.
func (s *Service) Account(host, user string) *Account { return s.state.Account(host, user) }

// FilePath is where the plain-file store lives.
func (s *Service) FilePath() string { return s.file.Path }

// Matches reports whether a describes tok (its key hint is tok's, in the
// current or the earlier form: state files outlive the change).
func (a *Account) Matches(tok string) bool {
	if a == nil || a.KeyHint == "" {
		return false
	}
	t, err := secret.Parse(tok)
	return err == nil && t.HasHint(a.KeyHint)
}

func hint(tok string) string {
	t, err := secret.Parse(tok)
	if err != nil {
		return ""
	}
	return t.Hint()
}

func sortedUsers(h *hostState) []string {
	users := make([]string, 0, len(h.Accounts))
	for u := range h.Accounts {
		users = append(users, u)
	}
	sort.Strings(users)
	return users
}

// Usable reports whether source can be written before anything is minted
// for it: for the keyring, one read that must not fail for want of a
// Secret Service. The file needs no check.
func (s *Service) Usable(source string) error {
	if source != SourceKeyring {
		return nil
	}
	if _, err := s.keyring.Get(KeyringService + "-probe"); err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	return nil
}
