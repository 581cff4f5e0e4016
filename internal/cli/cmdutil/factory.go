package cmdutil

import (
	"time"

	"github.com/tokenctl/tokenctl/internal/client"
	"github.com/tokenctl/tokenctl/internal/iostreams"
)

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
}
