package token

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"github.com/tokenctl/tokenctl/internal/api"
	"github.com/tokenctl/tokenctl/internal/cli/cmdutil"
	"github.com/tokenctl/tokenctl/internal/client"
	"github.com/tokenctl/tokenctl/internal/iostreams"
	"github.com/tokenctl/tokenctl/internal/output"
)

// RotateOptions are the inputs of `token rotate`.
type RotateOptions struct {
	IO             *iostreams.IOStreams
	Client         func() (*client.Client, error)
	Credential     func() (*cmdutil.Credential, error)
	SaveCredential func(*cmdutil.Credential, string) error
	Now            func() time.Time

	ID  string // an id or a name, as given
	Yes bool
	secretOutput
}

// NewCmdRotate builds `token rotate`.
func NewCmdRotate(f *cmdutil.Factory, runF func(*RotateOptions) error) *cobra.Command {
	opts := &RotateOptions{IO: f.IOStreams, Client: f.Client, Credential: f.Credential, SaveCredential: f.SaveCredential, Now: now(f)}
	cmd := &cobra.Command{
		Use:   "rotate ID|NAME",
		Short: "Give a token a new secret; the old one stops working",
		Long: `Replace a token's secret. The token keeps its id, name, description and
lifetime (the new expiry is as far from now as the old one was from its
creation); the old secret stops working at once. The new secret is printed as
create prints it, and -q, -o and --copy work the same way.

The token is given by its id or by its exact name; a name that several
tokens share is refused (exit 2) with their ids.

Because the old secret dies at once, tokenctl asks for confirmation on a
terminal, naming the token and its key hint; without a terminal it refuses
unless --yes is given.

Rotating the token tokenctl itself is logged in with stores the new secret in
its place, so you stay logged in.`,
		Example: `  tokenctl token rotate 01jd8k2m4n5p6q7r8s9t0v1w2x
  tokenctl token rotate deploy-key
  NEW=$(tokenctl token rotate deploy-key --yes -q)`,
		Args:              exactArgs(1, "tokenctl token rotate ID|NAME"),
		ValidArgsFunction: completeTokenIDs(f, false),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.ID = args[0]
			if runF != nil {
				return runF(opts)
			}
			return rotateRun(cmd.Context(), opts)
		},
	}
	addSecretFlags(cmd, &opts.secretOutput, f)
	cmd.Flags().BoolVarP(&opts.Yes, "yes", "y", false, "do not ask for confirmation")
	return cmd
}

func rotateRun(ctx context.Context, opts *RotateOptions) error {
	if err := opts.secretOutput.validate(); err != nil {
		return err
	}
	r, err := parseRef(opts.ID)
	if err != nil {
		return err
	}
	if !opts.Yes && !opts.IO.CanPrompt() {
		return cmdutil.UsageErrorf("refusing to rotate token %s without confirmation: its current secret stops working at once; pass --yes to rotate it", r)
	}
	c, err := opts.Client()
	if err != nil {
		return err
	}
	id, tok, err := r.resolve(ctx, c)
	if err != nil {
		return err
	}
	if !opts.Yes {
		// Say what is about to change: the name and key hint tell a
		// person which secret dies, which an id alone does not.
		if tok == nil {
			if tok, err = c.GetToken(ctx, id); err != nil {
				if client.IsStatus(err, 404) {
					return fmt.Errorf("no token with id %s: see `tokenctl token list`", id)
				}
				return fmt.Errorf("rotate token %s: %w", id, err)
			}
		}
		if err := opts.confirm(ctx, tok); err != nil {
			return err
		}
	}
	// Ask first whether this is our own credential: after the rotate the
	// old secret no longer authenticates, so the question could not be
	// asked any more.
	current, err := currentTokenID(ctx, c)
	if err != nil {
		return fmt.Errorf("rotate token %s: %w", id, err)
	}
	ct, err := c.RotateToken(ctx, id)
	if err != nil {
		if client.IsStatus(err, 404) {
			return fmt.Errorf("no token with id %s: see `tokenctl token list`", id)
		}
		return fmt.Errorf("rotate token %s: %w", id, err)
	}
	if err := opts.print(opts.IO, ct, "Rotated", opts.Now()); err != nil {
		return err
	}
	if current == "" || current != ct.ID {
		return nil
	}
	return storeRotatedCredential(opts, ct)
}

// confirm asks before the old secret is killed, naming the token, its id
// and its key hint (the part of the secret a person can recognise). It
// runs before anything is changed, so a refused or interrupted rotate has
// touched nothing.
func (o *RotateOptions) confirm(ctx context.Context, t *api.Token) error {
	q := fmt.Sprintf("Rotate token %q (%s, key %s)? Its current secret stops working at once. [y/N] ",
		output.Sanitize(t.Name), t.ID, t.KeyHint)
	return confirmYes(ctx, o.IO, q, "not confirmed: nothing was rotated")
}

// storeRotatedCredential puts the new secret where the old credential
// lived. If that fails the user still has the secret printed above, and the
// error says what to do with it.
func storeRotatedCredential(opts *RotateOptions, ct *api.CreatedToken) error {
	if opts.Credential == nil || opts.SaveCredential == nil {
		return fmt.Errorf("rotated tokenctl's own credential but cannot store the new secret here: log in again with `tokenctl auth login --with-token`")
	}
	cred, err := opts.Credential()
	if err != nil {
		return fmt.Errorf("rotated tokenctl's own credential but cannot find where it lives: %w", err)
	}
	cred.Facts = &cmdutil.Facts{TokenID: ct.ID, TokenName: ct.Name, ExpiresAt: ct.ExpiresAt}
	if err := opts.SaveCredential(cred, ct.Secret); err != nil {
		return fmt.Errorf("rotated tokenctl's own credential (token %s) but could not store the new secret: %w; log in again with `tokenctl auth login --with-token`", ct.ID, err)
	}
	fmt.Fprintf(opts.IO.ErrOut, "This was tokenctl's own credential for %s: stored the new secret in the %s\n", cred.Host, cred.Source)
	return nil
}
