package tokend

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/tokenctl/tokenctl/internal/api"
	"github.com/tokenctl/tokenctl/internal/cmdargs"
	"github.com/tokenctl/tokenctl/internal/iostreams"
	"github.com/tokenctl/tokenctl/internal/password"
	"github.com/tokenctl/tokenctl/internal/store"
)

func newUserCmd(e *env) *cobra.Command {
	var database string
	cmd := &cobra.Command{
		Use:   "user",
		Short: "Manage the users who may log in to tokend",
		Long: `Add, list and delete the users who may log in to tokend.

A user logs in with HTTP Basic (name and password) or with any of their
personal access tokens, which carry the user's own rights. A user is a
member or an admin; only an admin's tokens may carry admin:read and
admin:write, which reach every user's tokens through /v1/admin/. A service
account cannot sign in: an admin mints its tokens. These commands work on
the database directly, so they may run while tokend serves it; once one
admin exists, the rest is done over the API (tokenctl admin).`,
		Example: `  tokend user add alice --admin --database /var/lib/tokend/tokend.db
  tokend user add jenkins --service
  tokend user set-role bob admin
  tokend user list
  tokend user delete alice`,
	}
	cmd.PersistentFlags().StringVar(&database, "database", databaseDefault(e.getenv),
		databaseUsage)

	var asAdmin, asService bool
	add := &cobra.Command{
		Use:   "add NAME",
		Short: "Add a user; the password comes from a prompt, or one line of stdin",
		Long: `Add a user who may log in to tokend.

On a terminal the password is asked for twice without echo; otherwise it is
the first line of stdin, so it never appears in the process list or shell
history. Only an argon2id hash of it is stored. A name is 1 to 64
characters without ':', spaces or control characters.

--admin makes the user an admin; --service adds a service account, which
has no password and cannot sign in (an admin mints its tokens with tokenctl
admin token create --for NAME).`,
		Example: `  tokend user add alice                     # prompts for the password
  tokend user add alice --admin             # the first admin
  tokend user add jenkins --service         # no password
  printf '%s\n' "$PW" | tokend user add ci   # from stdin, for scripts`,
		Args: cmdargs.ExactArgs(1, "tokend user add NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := args[0]
			if err := validUsername(name); err != nil {
				return err
			}
			var hash string
			if !asService {
				pw, err := readPassword(cmd.Context(), e, name)
				if err != nil {
					return err
				}
				if hash, err = password.Hash(pw); err != nil {
					return fmt.Errorf("hash password: %w", err)
				}
			}
			st, err := openStore(cmd.Context(), database)
			if err != nil {
				return err
			}
			defer st.Close()
			u := store.User{ID: store.NewID(time.Now()), Username: name, PasswordHash: hash, CreatedAt: time.Now().UTC(),
				Role: store.RoleMember, Kind: store.KindPerson}
			if asAdmin {
				u.Role = store.RoleAdmin
			}
			if asService {
				u.Kind = store.KindService
			}
			if err := st.CreateUser(cmd.Context(), u); err != nil {
				if errors.Is(err, store.ErrConflict) {
					return fmt.Errorf("user %q already exists; delete it first with: tokend user delete %s", name, name)
				}
				return fmt.Errorf("add user %s: %w", name, err)
			}
			what := "user"
			if asService {
				what = "service account"
			}
			if asAdmin {
				what = "admin " + what
			}
			fmt.Fprintf(e.stderr, "Added %s %s.\n", what, name)
			return nil
		},
	}
	add.Flags().BoolVar(&asAdmin, "admin", false, "make the user an admin (their tokens may carry admin:read and admin:write)")
	add.Flags().BoolVar(&asService, "service", false, "add a service account: no password, cannot sign in; an admin mints its tokens")

	setRole := &cobra.Command{
		Use:   "set-role NAME member|admin",
		Short: "Make a user a member or an admin",
		Long: `Make a user a member or an admin. It takes effect on the user's next
request: a demoted admin's tokens keep their scopes but the admin routes
refuse them.`,
		Example: `  tokend user set-role alice admin
  tokend user set-role alice member`,
		Args: cmdargs.ExactArgs(2, "tokend user set-role NAME member|admin"),
		RunE: func(cmd *cobra.Command, args []string) error {
			name, role := args[0], args[1]
			if !store.ValidRole(role) {
				return usageErrorf("role must be member or admin, got %q", role)
			}
			st, err := openStore(cmd.Context(), database)
			if err != nil {
				return err
			}
			defer st.Close()
			ctx := store.WithAudit(cmd.Context(), store.Audit{At: time.Now().UTC().Truncate(time.Millisecond), ActorKind: store.ActorOperator})
			if err := st.SetUserRole(ctx, name, role); err != nil {
				if errors.Is(err, store.ErrNotFound) {
					return fmt.Errorf("no user %q; see tokend user list", name)
				}
				return fmt.Errorf("set role of %s: %w", name, err)
			}
			fmt.Fprintf(e.stderr, "%s is now %s %s.\n", name, map[string]string{store.RoleAdmin: "an", store.RoleMember: "a"}[role], role)
			return nil
		},
	}

	list := &cobra.Command{
		Use:   "list",
		Short: "List users (a table on a terminal, one name per line otherwise)",
		Long: `List the users who may log in to tokend.

On a terminal this is a table of names and creation dates; piped, it is one
name per line on stdout, for scripts.`,
		Example: `  tokend user list
  tokend user list | grep -c .   # how many users`,
		Args: cmdargs.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			// No -o here (output ""): the table on a terminal, names piped.
			return listNamed(cmd.Context(), e, database, "", namedListing[store.User]{
				what:   "users",
				fetch:  store.Store.ListUsers,
				name:   func(u store.User) string { return u.Username },
				empty:  "No users yet; add one with: tokend user add NAME",
				header: "USERNAME\tROLE\tKIND\tSTATUS\tCREATED",
				row: func(u store.User) string {
					status := "enabled"
					if u.Disabled {
						status = "disabled"
					}
					return fmt.Sprintf("%s\t%s\t%s\t%s\t%s", u.Username, u.Role, u.Kind, status, u.CreatedAt.UTC().Format(time.RFC3339))
				},
			})
		},
	}

	del := &cobra.Command{
		Use:   "delete NAME",
		Short: "Delete a user; their tokens stop working at once",
		Long: `Delete a user and every token they own.

The tokens are removed from the database, so a running tokend refuses them
on the very next request; there is no undo.`,
		Example: `  tokend user delete alice --database /var/lib/tokend/tokend.db`,
		Args:    cmdargs.ExactArgs(1, "tokend user delete NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := openStore(cmd.Context(), database)
			if err != nil {
				return err
			}
			defer st.Close()
			if err := st.DeleteUser(cmd.Context(), args[0]); err != nil {
				if errors.Is(err, store.ErrNotFound) {
					return fmt.Errorf("no user %q; see tokend user list", args[0])
				}
				return fmt.Errorf("delete user %s: %w", args[0], err)
			}
			fmt.Fprintf(e.stderr, "Deleted user %s and their tokens.\n", args[0])
			return nil
		},
	}
	toggle := func(disable bool) *cobra.Command {
		verb, short, long := "enable", "Let a disabled user and their tokens in again", `Enable a disabled user: their unexpired tokens and their sign-in work again
from the next request, on every server sharing the database.`
		if disable {
			verb, short, long = "disable", "Offboard a user: refuse all their tokens and sign-in at once", `Disable a user in one write: from the next request on, on every server
sharing the database, every token of theirs is refused and so is their
sign-in. Nothing is deleted; tokend user enable restores them. Over the
API the same is tokenctl admin user disable.`
		}
		return &cobra.Command{
			Use:     verb + " NAME",
			Short:   short,
			Long:    long,
			Example: "  tokend user " + verb + " alice",
			Args:    cmdargs.ExactArgs(1, "tokend user "+verb+" NAME"),
			RunE: func(cmd *cobra.Command, args []string) error {
				st, err := openStore(cmd.Context(), database)
				if err != nil {
					return err
				}
				defer st.Close()
				now := time.Now().UTC().Truncate(time.Second)
				ctx := store.WithAudit(cmd.Context(), store.Audit{At: now.Truncate(time.Millisecond), ActorKind: store.ActorOperator})
				if err := st.SetUserDisabled(ctx, args[0], disable, now); err != nil {
					if errors.Is(err, store.ErrNotFound) {
						return fmt.Errorf("no user %q; see tokend user list", args[0])
					}
					return fmt.Errorf("%s %s: %w", verb, args[0], err)
				}
				fmt.Fprintf(e.stderr, "%sd %s.\n", strings.ToUpper(verb[:1])+verb[1:], args[0])
				return nil
			},
		}
	}
	cmd.AddCommand(add, setRole, toggle(true), toggle(false), list, del)
	return cmd
}

// validUsername keeps names usable in HTTP Basic auth and on a command line.
func validUsername(name string) error {
	if err := api.ValidUsername(name); err != nil {
		return usageErrorf("%s", err)
	}
	return nil
}

// readPassword prompts without echo on a terminal; otherwise it reads one
// line of stdin, so scripts can pipe a password in without putting it in
// argv. Ctrl-C at the prompt stops at once, echo restored (exit 130).
func readPassword(ctx context.Context, e *env, name string) (string, error) {
	if f, ok := e.stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprintf(e.stderr, "Password for %s: ", name)
		a, err := iostreams.ReadPasswordFromTerminal(ctx, int(f.Fd()))
		fmt.Fprintln(e.stderr)
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		if len(a) == 0 {
			return "", usageErrorf("empty password refused")
		}
		fmt.Fprintf(e.stderr, "Repeat password: ")
		b, err := iostreams.ReadPasswordFromTerminal(ctx, int(f.Fd()))
		fmt.Fprintln(e.stderr)
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		if a != b {
			return "", usageErrorf("the passwords do not match")
		}
		return a, nil
	}
	line, err := bufio.NewReaderSize(e.stdin, 4096).ReadString('\n')
	if err != nil && err != io.EOF {
		return "", fmt.Errorf("read password from stdin: %w", err)
	}
	pw := strings.TrimRight(line, "\r\n")
	if pw == "" {
		return "", usageErrorf("empty password refused; pipe the password as one line on stdin, e.g. printf '%%s\\n' \"$PW\" | tokend user add %s", name)
	}
	if len(pw) > password.MaxLen {
		return "", usageErrorf("password is longer than %d bytes", password.MaxLen)
	}
	return pw, nil
}

// checkOutput refuses an -o a list command does not offer; "" (the
// default) is always fine.
func checkOutput(output string, formats ...string) error {
	if output == "" || slices.Contains(formats, output) {
		return nil
	}
	last := len(formats) - 1
	return usageErrorf("-o must be %s or %s, got %q", strings.Join(formats[:last], ", "), formats[last], output)
}

// writeJSON is every list's -o json: v indented by two spaces.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
