package admin

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/tokenctl/tokenctl/internal/api"
	"github.com/tokenctl/tokenctl/internal/cli/cmdutil"
	"github.com/tokenctl/tokenctl/internal/client"
	"github.com/tokenctl/tokenctl/internal/iostreams"
	"github.com/tokenctl/tokenctl/internal/output"
)

// UserOptions are the inputs of every `admin user` verb.
type UserOptions struct {
	IO      *iostreams.IOStreams
	Client  func() (*client.Client, error)
	Verb    string // list, add, disable, enable, delete, set-role
	Name    string
	Role    string
	Admin   bool
	Service bool
	Yes     bool
	Export  output.Exporter
}

// UserCSVHeader is the header of `admin user list -o csv`.
var UserCSVHeader = []string{"id", "username", "role", "kind", "disabled", "disabled_at", "created_at"}

func newCmdUser(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "user <command>",
		Short: "Manage users and service accounts",
		Long: `List, add, disable, enable and delete users and service accounts, and set
their role. Disabling is offboarding in one step and can be undone;
deleting cannot.`,
		Example: `  tokenctl admin user list
  tokenctl admin user disable alice
  tokenctl admin user set-role bob admin`,
	}
	mk := func(verb, use, short, long, example string, args cobra.PositionalArgs, setup func(*cobra.Command, *UserOptions)) *cobra.Command {
		opts := &UserOptions{IO: f.IOStreams, Client: f.Client, Verb: verb}
		c := &cobra.Command{Use: use, Short: short, Long: long, Example: example, Args: args,
			RunE: func(cmd *cobra.Command, args []string) error {
				if len(args) > 0 {
					opts.Name = args[0]
				}
				if len(args) > 1 {
					opts.Role = args[1]
				}
				return userRun(cmd.Context(), opts)
			}}
		if setup != nil {
			setup(c, opts)
		}
		return c
	}
	cmd.AddCommand(
		mk("list", "list", "List every user and service account", `List every user: role (member or admin), kind (person or service) and
whether they are disabled. -o json prints a flat array of user objects.`,
			`  tokenctl admin user list
  tokenctl admin user list --jq '.[] | select(.disabled) | .username'`,
			cmdutil.MaxArgs(0, "tokenctl admin user list [flags]"), func(c *cobra.Command, o *UserOptions) {
				output.AddFlags(c, &o.Export, output.FormatTable, []string{output.FormatTable, output.FormatJSON, output.FormatYAML, output.FormatCSV}, true)
			}),
		mk("add", "add NAME", "Add a user or a service account", `Add a user. With --service, a service account: it cannot sign in, and
an admin mints its tokens (admin token create --for NAME). A person added
here has no password: they sign in by SSO, or an operator sets one with
tokend user add.`,
			`  tokenctl admin user add jenkins --service
  tokenctl admin user add alice --admin`,
			cmdutil.ExactArgs(1, "tokenctl admin user add NAME [--admin] [--service]"), func(c *cobra.Command, o *UserOptions) {
				c.Flags().BoolVar(&o.Admin, "admin", false, "make the user an admin")
				c.Flags().BoolVar(&o.Service, "service", false, "a service account: no sign-in; admins mint its tokens")
			}),
		mk("disable", "disable NAME", "Offboard a user: refuse all their tokens and sign-in at once", `Disable a user in one step: from the next request on, on every server,
every token of theirs is refused and so is their password or SSO sign-in.
Nothing is deleted: admin user enable restores them.`,
			`  tokenctl admin user disable alice`,
			cmdutil.ExactArgs(1, "tokenctl admin user disable NAME"), nil),
		mk("enable", "enable NAME", "Let a disabled user and their tokens in again", `Enable a disabled user: their tokens (those not expired meanwhile) and
their sign-in work again from the next request.`, `  tokenctl admin user enable alice`,
			cmdutil.ExactArgs(1, "tokenctl admin user enable NAME"), nil),
		mk("delete", "delete NAME", "Delete a user and every token they own", `Delete a user, their tokens, trust policies and audit trail; there is no
undo (admin user disable is the reversible way). Asks on a terminal;
without one it needs --yes.`,
			`  tokenctl admin user delete alice --yes`,
			cmdutil.ExactArgs(1, "tokenctl admin user delete NAME"), func(c *cobra.Command, o *UserOptions) {
				c.Flags().BoolVarP(&o.Yes, "yes", "y", false, "delete without asking")
			}),
		mk("set-role", "set-role NAME member|admin", "Make a user a member or an admin", `Make a user a member or an admin. An admin's tokens may carry admin:read
and admin:write; a demoted admin's tokens lose admin power on their next
request. You cannot demote yourself.`, `  tokenctl admin user set-role bob admin`,
			cmdutil.ExactArgs(2, "tokenctl admin user set-role NAME member|admin"), nil),
	)
	return cmd
}

func userRun(ctx context.Context, o *UserOptions) error {
	if o.Verb == "list" {
		if err := o.Export.Validate(); err != nil {
			return cmdutil.UsageErrorf("%s", err)
		}
	} else if err := api.ValidUsername(o.Name); err != nil {
		return cmdutil.UsageErrorf("%s", err)
	}
	if o.Verb == "set-role" && o.Role != api.RoleMember && o.Role != api.RoleAdmin {
		return cmdutil.UsageErrorf("role must be member or admin, got %q", o.Role)
	}
	if o.Verb == "delete" && !o.Yes {
		if !o.IO.CanPrompt() {
			return cmdutil.UsageErrorf("refusing to delete user %s without confirmation: pass --yes (or disable them instead: admin user disable %s)", o.Name, o.Name)
		}
	}
	c, err := o.Client()
	if err != nil {
		return err
	}
	w := o.IO.ErrOut
	switch o.Verb {
	case "list":
		users, err := c.AdminUsers(ctx)
		if err != nil {
			return fmt.Errorf("list users: %w", err)
		}
		seq := func(yield func(api.AdminUser, error) bool) {
			for _, u := range users {
				if !yield(u, nil) {
					return
				}
			}
		}
		_, err = output.List(o.IO.Out, o.IO, &o.Export, seq, output.Listing[api.AdminUser]{
			Header: []string{"USERNAME", "ROLE", "KIND", "STATUS", "CREATED"},
			Row: func(u api.AdminUser) (output.Style, []string) {
				if u.Disabled {
					return output.StyleDim, []string{u.Username, u.Role, u.Kind, "disabled", u.CreatedAt.UTC().Format(time.DateOnly)}
				}
				return output.StylePlain, []string{u.Username, u.Role, u.Kind, "enabled", u.CreatedAt.UTC().Format(time.DateOnly)}
			},
			CSVHeader: UserCSVHeader,
			CSVRecord: func(u api.AdminUser) []string {
				at := ""
				if u.DisabledAt != nil {
					at = u.DisabledAt.UTC().Format(time.RFC3339)
				}
				return []string{u.ID, u.Username, u.Role, u.Kind, strconv.FormatBool(u.Disabled), at, u.CreatedAt.UTC().Format(time.RFC3339)}
			},
		})
		return err
	case "add":
		req := api.CreateUserRequest{Username: o.Name}
		if o.Admin {
			req.Role = api.RoleAdmin
		}
		if o.Service {
			req.Kind = api.KindService
		}
		u, err := c.AdminCreateUser(ctx, req)
		if err != nil {
			return fmt.Errorf("add user %s: %w", o.Name, err)
		}
		fmt.Fprintf(w, "Added %s %s (%s).\n", u.Kind, u.Username, u.Role)
	case "disable", "enable":
		disabled := o.Verb == "disable"
		if _, err := c.AdminUpdateUser(ctx, o.Name, api.UpdateUserRequest{Disabled: &disabled}); err != nil {
			return fmt.Errorf("%s %s: %w", o.Verb, o.Name, err)
		}
		if disabled {
			fmt.Fprintf(w, "Disabled %s: their tokens and sign-in are refused from now on.\n", o.Name)
		} else {
			fmt.Fprintf(w, "Enabled %s: their tokens work again.\n", o.Name)
		}
	case "set-role":
		if _, err := c.AdminUpdateUser(ctx, o.Name, api.UpdateUserRequest{Role: &o.Role}); err != nil {
			return fmt.Errorf("set role of %s: %w", o.Name, err)
		}
		fmt.Fprintf(w, "%s is now %s.\n", o.Name, o.Role)
	case "delete":
		if !o.Yes {
			if err := confirmYes(ctx, o.IO, fmt.Sprintf("Delete user %s and every token they own? [y/N] ", o.Name)); err != nil {
				return err
			}
		}
		if err := c.AdminDeleteUser(ctx, o.Name); err != nil {
			return fmt.Errorf("delete user %s: %w", o.Name, err)
		}
		fmt.Fprintf(w, "Deleted user %s and their tokens.\n", o.Name)
	}
	return nil
}

// confirmYes asks a yes/no question whose default is no.
func confirmYes(ctx context.Context, ios *iostreams.IOStreams, question string) error {
	answer, err := ios.Prompt(ctx, question)
	if err != nil {
		return err
	}
	if answer != "y" && answer != "yes" && answer != "Y" {
		return fmt.Errorf("not confirmed: nothing was deleted")
	}
	return nil
}
