package cmdutil

import (
	"errors"
	"time"

	"github.com/tokenctl/tokenctl/internal/client"
	"github.com/tokenctl/tokenctl/internal/config"
	"github.com/tokenctl/tokenctl/internal/credential"
	"github.com/tokenctl/tokenctl/internal/iostreams"
)

// Where a credential lives; the names are the credential package's.
const (
	SourceEnv     = credential.SourceEnv
	SourceKeyring = credential.SourceKeyring
	SourceFile    = credential.SourceFile
)

// Credential is the secret tokenctl authenticates with and where it lives
// (see credential.Credential). Token is a secret: never print or log it.
type Credential = credential.Credential

// Facts describe a token a command is about to store as the credential.
type Facts = credential.Facts

// Factory hands commands their dependencies. Every field is built lazily by
// whoever constructs the Factory (cmd/tokenctl for real runs, tests for fake
// ones), so `tokenctl --help` or `version` never reads config, the keyring
// or the network.
type Factory struct {
	IOStreams *iostreams.IOStreams
	Version   string
	Now       func() time.Time

	// Client returns an API client for the selected host, authenticated with
	// the resolved credential. It returns an *AuthError when there is none.
	Client func() (*client.Client, error)

	// Credential returns the credential in use for the selected host, or an
	// *AuthError when there is none.
	Credential func() (*Credential, error)

	// SaveCredential stores secret as c's credential where c lives now
	// (keyring or file), replacing the old one; set c.Facts first when the
	// new token's expiry is known. For SourceEnv it returns an error that
	// tells the user to update TOKENCTL_TOKEN themselves.
	SaveCredential func(c *Credential, secret string) error

	// RemoveCredential deletes c's stored account (logout).
	RemoveCredential func(c *Credential) error

	// Getenv reads the environment; tests pass their own.
	Getenv func(string) string

	// Config returns the config file with the selected profile.
	Config func() (*config.Config, error)

	// Host returns the selected host, normalised: --host, then
	// TOKENCTL_HOST, then the profile's host. With none it returns an
	// *AuthError saying how to log in; a malformed or plain-http
	// non-loopback host is a *UsageError.
	Host func() (string, error)

	// ClientOptions returns client options for the selected host with the
	// global timeout, debug trace and user agent but no credential: login
	// uses them with a password or a token it has not stored yet.
	ClientOptions func() (client.Options, error)

	// Credentials is the service behind Credential, SaveCredential and
	// RemoveCredential, for the auth commands that manage accounts (login,
	// switch, status, logout). It is the only owner of stored credentials.
	Credentials func() (*credential.Service, error)
}

// ClientFor returns a client for the selected host with the global options
// (ClientOptions), authenticated with token, or with no credential when
// token is "": for a token in hand that is not the stored credential (the
// one token exec minted) and for calls that need none (revoke-leaked).
// Commands build clients only through Client and ClientFor, so a new global
// option reaches every request.
func (f *Factory) ClientFor(token string) (*client.Client, error) {
	if f.ClientOptions == nil {
		return nil, errors.New("no server selected: pass --host URL")
	}
	opts, err := f.ClientOptions()
	if err != nil {
		return nil, err
	}
	opts.Token = token
	return client.New(opts)
}
