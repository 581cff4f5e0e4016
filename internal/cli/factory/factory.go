// Package factory builds the real cmdutil.Factory: config from the config
// file and environment, the credential from TOKENCTL_TOKEN, the keyring or
// the opt-in file, and API clients with the global flags applied. Every
// dependency is built on first use, so `--help`, `version` and `completion`
// read no config, touch no keyring and open no connection.
package factory

import (
	"crypto/x509"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/tokenctl/tokenctl/internal/cli/cmdutil"
	"github.com/tokenctl/tokenctl/internal/client"
	"github.com/tokenctl/tokenctl/internal/config"
	"github.com/tokenctl/tokenctl/internal/credential"
	"github.com/tokenctl/tokenctl/internal/iostreams"
	"github.com/tokenctl/tokenctl/internal/timespec"
	"github.com/tokenctl/tokenctl/internal/version"
)

// Globals are the root command's persistent flags. The root command fills
// them while parsing; the factory reads them lazily afterwards.
type Globals struct {
	Host    string
	Profile string
	NoColor bool
	Debug   bool
	Timeout time.Duration // 0: not given
	CAFile  string
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
	f.Credentials = b.service
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

	svcOnce sync.Once
	svc     *credential.Service

	warnOnce sync.Once

	// budget is this command's --timeout, shared by every client the
	// factory builds, so all of the command's requests draw on one clock.
	budgetOnce sync.Once
	budget     *client.Budget

	caOnce sync.Once
	caPool *x509.CertPool
	caFile string
	caErr  error

	// cred caches the resolved credential: each lookup may be a D-Bus round
	// trip, and a command often asks more than once (Client, then
	// Credential). Saving or removing resets it.
	credMu sync.Mutex
	cred   *cmdutil.Credential
}

func (b *builder) config() (*config.Config, error) {
	b.cfgOnce.Do(func() {
		flags := config.Flags{"profile": b.g.Profile, "host": b.g.Host, "ca_file": b.g.CAFile}
		if b.g.Timeout != 0 {
			flags["timeout"] = b.g.Timeout.String()
		}
		b.cfg, b.cfgErr = config.Load(config.Dir(b.getenv), b.getenv, flags)
		if errors.Is(b.cfgErr, config.ErrInvalidProfile) {
			b.cfgErr = &cmdutil.UsageError{Err: b.cfgErr}
		}
	})
	return b.cfg, b.cfgErr
}

func (b *builder) host() (string, error) {
	cfg, err := b.config()
	if err != nil {
		return "", err
	}
	v, _ := cfg.Get("host")
	if v.Value == "" {
		return "", &cmdutil.AuthError{Err: errors.New("not logged in: no host selected: run `tokenctl auth login --host URL` (or pass --host, or set TOKENCTL_HOST)")}
	}
	u, err := client.NormalizeHost(v.Value)
	if err != nil {
		return "", &cmdutil.UsageError{Err: err}
	}
	return u.String(), nil
}

func (b *builder) timeout() (time.Duration, error) {
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
	b.budgetOnce.Do(func() { b.budget = client.NewBudget(timeout) })
	opts := client.Options{
		Host:      host,
		Budget:    b.budget,
		UserAgent: "tokenctl/" + version.String(),
		OnWait:    func(w client.Wait) { fmt.Fprintln(b.ios.ErrOut, w) },
	}
	if err := b.trust(&opts); err != nil {
		return client.Options{}, err
	}
	if b.g.Debug || b.getenv("TOKENCTL_DEBUG") == "1" || b.getenv("TOKENCTL_DEBUG") == "true" {
		opts.Debug = b.ios.ErrOut
	}
	return opts, nil
}

// trust adds the private CA of --ca-file, TOKENCTL_CA_FILE or the
// profile's ca_file to the client's trusted CAs; a file that cannot be read
// is bad input (exit 2) naming where the setting came from.
func (b *builder) trust(opts *client.Options) error {
	b.caOnce.Do(func() {
		cfg, err := b.config()
		if err != nil {
			b.caErr = err
			return
		}
		v, _ := cfg.Get("ca_file")
		if v.Value == "" {
			return
		}
		b.caFile = v.Value
		if b.caPool, err = client.LoadCAFile(v.Value); err != nil {
			b.caErr = cmdutil.UsageErrorf("invalid CA file (from %s): %v", v.Source, err)
		}
	})
	opts.RootCAs, opts.CAFile = b.caPool, b.caFile
	return b.caErr
}

func (b *builder) service() (*credential.Service, error) {
	b.svcOnce.Do(func() {
		b.svc = credential.NewService(config.Dir(b.getenv), b.getenv, b.ios.ErrOut)
	})
	return b.svc, nil
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
	svc, _ := b.service()
	c, err := svc.Lookup(host)
	if err != nil {
		return nil, authError(host, err)
	}
	b.warnExpiry(c)
	b.cred = c
	cp := *c
	return &cp, nil
}

// authError turns "no usable credential" into an *AuthError that says what
// to do; other errors pass through.
func authError(host string, err error) error {
	var nf *credential.NotFoundError
	switch {
	case errors.Is(err, credential.ErrInvalidEnvToken):
		return &cmdutil.AuthError{Err: err}
	case errors.As(err, &nf):
		msg := fmt.Sprintf("not logged in to %s: run `tokenctl auth login --host %s`", host, host)
		if nf.KeyringErr != nil {
			msg += fmt.Sprintf("; note: %v", nf.KeyringErr)
		}
		return &cmdutil.AuthError{Err: errors.New(msg)}
	}
	return err
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
		svc, _ := b.service()
		m := svc.Account(c.Host, c.Username)
		if m == nil || m.ExpiresAt.IsZero() || !m.Matches(c.Token) {
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

func (b *builder) client() (*client.Client, error) {
	c, err := b.credential()
	if err != nil {
		return nil, err
	}
	return b.f.ClientFor(c.Token)
}

func (b *builder) forget() {
	b.credMu.Lock()
	b.cred = nil
	b.credMu.Unlock()
}

func (b *builder) save(c *cmdutil.Credential, secretValue string) error {
	defer b.forget()
	svc, _ := b.service()
	_, err := svc.Save(c, secretValue)
	return err
}

func (b *builder) remove(c *cmdutil.Credential) error {
	defer b.forget()
	svc, _ := b.service()
	_, err := svc.Remove(c)
	return err
}
