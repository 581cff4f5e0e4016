// Package admin holds `tokenctl admin`: an admin's view of every user's
// tokens, accounts and audit trail, through tokend's /v1/admin/ API. A
// member's credential is refused with exit 4 and one line saying an
// admin's token is needed (cmdutil.Explain, code admin_required).
package admin

import (
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/tokenctl/tokenctl/internal/cli/cmdutil"
)

// NewCmdAdmin returns the `admin` command group.
func NewCmdAdmin(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "admin <command>",
		Short: "Manage every user's tokens and accounts (admins only)",
		Long: `Manage every user's tokens, the accounts themselves and service accounts,
and read everyone's audit trail. These need an admin's token (a token
carrying admin:read, and admin:write for changes); a member gets exit 4.

Disabling a user is offboarding in one step: from the next request on, on
every server, all of their tokens are refused and so is their sign-in;
enabling restores them. A service account cannot sign in: an admin mints
its tokens (admin token create --for), and no person's departure breaks
them.`,
		Example: `  tokenctl admin token list --expiring-within 7d
  tokenctl admin token delete --unused-since 90d --yes
  tokenctl admin user disable alice
  tokenctl admin user add jenkins --service
  tokenctl admin token create deploy --for jenkins --scope deploy:write --expires-in 90d`,
	}
	cmd.AddCommand(newCmdToken(f), newCmdUser(f), NewCmdAudit(f, nil))
	return cmd
}

func now(f *cmdutil.Factory) func() time.Time {
	if f.Now != nil {
		return f.Now
	}
	return time.Now
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}
