// Package factory builds the real cmdutil.Factory: config from the config
// file and environment, the credential from TOKENCTL_TOKEN, the keyring or
// the opt-in file, and API clients with the global flags applied. Every
// dependency is built on first use, so `--help`, `version` and `completion`
// read no config, touch no keyring and open no connection.
package factory

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/tokenctl/tokenctl/internal/cli/cmdutil"
	"github.com/tokenctl/tokenctl/internal/client"
	"github.com/tokenctl/tokenctl/internal/config"
	"github.com/tokenctl/tokenctl/internal/credential"
	"github.com/tokenctl/tokenctl/internal/iostreams"
	"github.com/tokenctl/tokenctl/internal/secret"
	"github.com/tokenctl/tokenctl/internal/timespec"
	"github.com/tokenctl/tokenctl/internal/version"
)

// Globals are the root command's persistent flags. The root command fills
// them while parsing; the factory reads them lazily afterwards.
type Globals struct {
	Host       string
	Profile    string
	NoColor    bool
	Debug      bool
	Timeout    time.Duration
	TimeoutSet bool // --timeout given explicitly
	// NoExpiryWarning turns the expiry warning off for this run (the auth
	// commands report expiry themselves).
	NoExpiryWarning bool
}

// New returns a Factory over ios whose lazy dependencies read getenv and g.
func New(ios *iostreams.IOStreams, getenv func(string) string, g *Globals) *cmdutil.Factory {
	b := &builder{ios: ios, getenv: getenv, g: g}
	f := &cmdutil.Factory{
		IOStreams: ios,
		Version:   version.String(),
		Now:       time.Now,
		Getenv:    getenv,
	}
	b.f = f
	f.Config = b.config
	f.Host = b.host
	f.ClientOptions = b.clientOptions
	f.CredentialStore = b.store
	f.Credential = b.credential
	f.Client = b.client
	f.SaveCredential = b.save
	f.RemoveCredential = b.remove
	return f
}

type builder struct {
	ios    *iostreams.IOStreams
	getenv func(string) string
	g      *Globals
	f      *cmdutil.Factory

	cfgOnce sync.Once
	cfg     *config.Config
	cfgErr  error

	storeOnce sync.Once
	st        *credential.Store

	warnOnce sync.Once

	// cred caches the resolved credential: each lookup may be a D-Bus round
	// trip, and a command often asks more than once (Client, then
	// Credential). Saving or removing resets it.
	credMu sync.Mutex
	cred   *cmdutil.Credential
}

func (b *builder) config() (*config.Config, error) {
	b.cfgOnce.Do(func() {
		b.cfg, b.cfgErr = config.Load(config.Dir(b.getenv), b.getenv, b.g.Profile)
		if errors.Is(b.cfgErr, config.ErrInvalidProfile) {
			b.cfgErr = &cmdutil.UsageError{Err: b.cfgErr}
		}
	})
	return b.cfg, b.cfgErr
}

func (b *builder) host() (string, error) {
	raw := b.g.Host
	if raw == "" {
		raw = b.getenv("TOKENCTL_HOST")
	}
	if raw == "" {
		cfg, err := b.config()
		if err != nil {
			return "", err
		}
		raw = cfg.FileValue("host")
	}
	if raw == "" {
		return "", &cmdutil.AuthError{Err: errors.New("not logged in: no host selected: run `tokenctl auth login --host URL` (or pass --host, or set TOKENCTL_HOST)")}
	}
	u, err := client.NormalizeHost(raw)
	if err != nil {
		return "", &cmdutil.UsageError{Err: err}
	}
	return u.String(), nil
}

func (b *builder) timeout() (time.Duration, error) {
	if b.g.TimeoutSet {
		if b.g.Timeout <= 0 {
			return 0, cmdutil.UsageErrorf("invalid --timeout %s: want a positive duration like 30s", b.g.Timeout)
		}
		return b.g.Timeout, nil
	}
	cfg, err := b.config()
	if err != nil {
		return 0, err
	}
	v, _ := cfg.Get("timeout")
	d, err := time.ParseDuration(v.Value)
	if err != nil || d <= 0 {
		return 0, cmdutil.UsageErrorf("invalid timeout %q (from %s): want a positive duration like 30s", v.Value, v.Source)
	}
	return d, nil
}

func (b *builder) clientOptions() (client.Options, error) {
	host, err := b.host()
	if err != nil {
		return client.Options{}, err
	}
	timeout, err := b.timeout()
	if err != nil {
		return client.Options{}, err
	}
	opts := client.Options{
		Host:      host,
		Timeout:   timeout,
		UserAgent: "tokenctl/" + version.String(),
	}
	if b.g.Debug || b.getenv("TOKENCTL_DEBUG") == "1" || b.getenv("TOKENCTL_DEBUG") == "true" {
		opts.Debug = b.ios.ErrOut
	}
	return opts, nil
}

func (b *builder) store() (*credential.Store, error) {
	b.storeOnce.Do(func() {
		b.st = credential.NewStore(config.Dir(b.getenv), b.getenv)
	})
	return b.st, nil
}

func (b *builder) location(source string) string {
	switch source {
	case cmdutil.SourceEnv:
		return "the " + credential.EnvToken + " environment variable"
	case cmdutil.SourceKeyring:
		return "the OS keyring (service " + credential.Service + ")"
	case cmdutil.SourceFile:
		st, _ := b.store()
		return "a plain file, not encrypted: " + st.FilePath()
	}
	return source
}

func (b *builder) credential() (*cmdutil.Credential, error) {
	host, err := b.host()
	if err != nil {
		return nil, err
	}
	b.credMu.Lock()
	defer b.credMu.Unlock()
	if b.cred != nil && b.cred.Host == host {
		c := *b.cred
		return &c, nil
	}
	st, _ := b.store()
	tok, source, err := st.Lookup(host)
	if err != nil {
		var nf *credential.NotFoundError
		if errors.As(err, &nf) {
			msg := fmt.Sprintf("not logged in to %s: run `tokenctl auth login --host %s`", host, host)
			if nf.KeyringErr != nil {
				msg += fmt.Sprintf("; note: %v", nf.KeyringErr)
			}
			return nil, &cmdutil.AuthError{Err: errors.New(msg)}
		}
		return nil, err
	}
	c := &cmdutil.Credential{Host: host, Token: tok, Source: source, Location: b.location(source)}
	b.warnExpiry(c)
	b.cred = c
	cp := *c
	return &cp, nil
}

// warnExpiry prints one line on stderr when the stored credential expires
// soon. It reads only the state file written at login/refresh, so it costs
// no request; it stays quiet off a terminal and for TOKENCTL_TOKEN.
func (b *builder) warnExpiry(c *cmdutil.Credential) {
	if b.g.NoExpiryWarning || !b.ios.IsStderrTTY() || c.Source == cmdutil.SourceEnv {
		return
	}
	b.warnOnce.Do(func() {
		cfg, err := b.config()
		if err != nil {
			return
		}
		v, _ := cfg.Get("expiry_warning")
		if v.Value == "0" {
			return
		}
		within, err := timespec.ParseDuration(v.Value)
		if err != nil {
			return
		}
		st, _ := b.store()
		m := st.Meta.Get(c.Host)
		if m == nil || m.ExpiresAt.IsZero() || !metaMatches(m, c.Token) {
			return
		}
		now := b.f.Now()
		if m.ExpiresAt.Sub(now) > within {
			return
		}
		fmt.Fprintf(b.ios.ErrOut, "warning: your credential for %s %s: run `tokenctl auth refresh`\n",
			c.Host, timespec.Expiry(m.ExpiresAt, now))
	})
}

func metaMatches(m *credential.Meta, tok string) bool {
	t, err := secret.Parse(tok)
	return err == nil && t.Hint() == m.KeyHint
}

func (b *builder) client() (*client.Client, error) {
	c, err := b.credential()
	if err != nil {
		return nil, err
	}
	opts, err := b.clientOptions()
	if err != nil {
		return nil, err
	}
	opts.Token = c.Token
	return client.New(opts)
}

func (b *builder) forget() {
	b.credMu.Lock()
	b.cred = nil
	b.credMu.Unlock()
}

func (b *builder) save(c *cmdutil.Credential, secretValue string) error {
	defer b.forget()
	st, _ := b.store()
	if c.Source == cmdutil.SourceFile {
		fmt.Fprintf(b.ios.ErrOut, "warning: storing the credential for %s in a plain file, not encrypted: %s\n", c.Host, st.FilePath())
	}
	if err := st.Save(c.Host, secretValue, c.Source); err != nil {
		return err
	}
	c.Token = secretValue
	c.Location = b.location(c.Source)
	b.remember(c)
	return nil
}

// remember records the new credential's non-secret facts for the expiry
// warning. It asks the server once (saves are rare) and never fails the
// save: without a record there is simply no warning.
func (b *builder) remember(c *cmdutil.Credential) {
	st, _ := b.store()
	_ = st.Meta.Delete(c.Host)
	opts, err := b.clientOptions()
	if err != nil {
		return
	}
	opts.Token = c.Token
	opts.Host = c.Host
	cl, err := client.New(opts)
	if err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), opts.Timeout)
	defer cancel()
	u, err := cl.User(ctx)
	if err != nil {
		return
	}
	_ = st.Meta.Record(c.Host, c.Token, u)
}

func (b *builder) remove(c *cmdutil.Credential) error {
	defer b.forget()
	st, _ := b.store()
	return st.Remove(c.Host, c.Source)
}
