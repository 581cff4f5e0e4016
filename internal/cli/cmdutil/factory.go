package cmdutil

import (
	"time"

	"github.com/tokenctl/tokenctl/internal/client"
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
}
