package cmdutil

import (
	"time"

	"github.com/tokenctl/tokenctl/internal/client"
	"github.com/tokenctl/tokenctl/internal/config"
	"github.com/tokenctl/tokenctl/internal/credential"
	"github.com/tokenctl/tokenctl/internal/iostreams"
)

// Where a credential lives; shown by `auth status`.
const (
	SourceEnv     = "environment" // TOKENCTL_TOKEN
	SourceKeyring = "keyring"     // the OS keyring
	SourceFile    = "file"        // plain file, after --insecure-storage
)

// Credential is the secret tokenctl authenticates with and where it lives.
// Token is a secret: never print or log it (only `auth token` prints it).
type Credential struct {
	Host   string // normalised base URL
	Token  string
	Source string // SourceEnv, SourceKeyring or SourceFile
	// Location says where exactly, for people: the keyring service, the
	// variable's name or the file's path.
	Location string
}

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

	// SaveCredential stores secret for c.Host where c lives now (keyring or
	// file), replacing the old one. For SourceEnv it returns an error that
	// tells the user to update TOKENCTL_TOKEN themselves.
	SaveCredential func(c *Credential, secret string) error

	// RemoveCredential deletes the stored credential for c.Host (logout).
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

	// CredentialStore is the store behind Credential/SaveCredential/
	// RemoveCredential (login probes the keyring with it before minting).
	CredentialStore func() (*credential.Store, error)
}
