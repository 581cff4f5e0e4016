package tokend

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"time"

	"github.com/spf13/cobra"

	"github.com/tokenctl/tokenctl/internal/cmdargs"
	"github.com/tokenctl/tokenctl/internal/store"
	"github.com/tokenctl/tokenctl/internal/store/postgres"
)

type migrateOptions struct {
	from, to     string
	intoNonEmpty bool
}

func newMigrateCmd(e *env) *cobra.Command {
	o := &migrateOptions{}
	cmd := &cobra.Command{
		Use:   "migrate --from SOURCE --to postgres://URL",
		Short: "Copy all users, tokens, scopes, audit events and trust policies from one database to a PostgreSQL database",
		Long: `Copy every user (with its password hash), every token (its digest, never
a secret, its scopes and its idempotency record), every application scope,
the whole audit trail, every trust policy and the record of identity tokens
already exchanged (those not yet expired, so none can be exchanged twice)
from --from to the PostgreSQL database --to, so that passwords and tokens
keep working unchanged on the new server and GET /v1/events shows the same
history.

The source is read in one read transaction and the target written in one
transaction: either everything is copied and the row counts in the target
check out, or nothing changes. Stop the servers on the source first; what
they write after the copy started stays behind.

The target is created and migrated if needed and must be empty unless
--into-non-empty is given; even then rows are only added, and a username,
token id, digest, scope, event id or trust policy name already there aborts
the whole copy.`,
		Example: `  tokend migrate --from sqlite:///var/lib/tokend/tokend.db \
    --to 'postgres://tokend@db.internal/tokend?sslmode=verify-full'`,
		Args: cmdargs.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return migrate(cmd, e, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.from, "from", "", "database to copy from: SQLite file path, sqlite://PATH or postgres://URL")
	f.StringVar(&o.to, "to", "", "PostgreSQL database to copy into (postgres://URL; a password is better in PGPASSWORD or ~/.pgpass)")
	f.BoolVar(&o.intoNonEmpty, "into-non-empty", false, "allow a target that already has users or tokens (rows are only added)")
	return cmd
}

func migrate(cmd *cobra.Command, e *env, o *migrateOptions) error {
	switch {
	case o.from == "" || o.to == "":
		return usageErrorf("tokend migrate needs both --from and --to; see --help")
	case !postgres.IsURL(o.to):
		return usageErrorf("--to must be a postgres:// or postgresql:// URL; tokend migrate copies into PostgreSQL")
	case o.from == o.to:
		return usageErrorf("--from and --to name the same database")
	}
	if err := checkDatabase(o.from); err != nil {
		return err
	}
	if !postgres.IsURL(o.from) {
		// Opening a SQLite path creates the file; a typo must not migrate an
		// empty new database and call it done.
		path, _ := sqlitePath(o.from)
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			return usageErrorf("--from %s does not exist; give the path of the existing SQLite database", path)
		}
	}
	ctx := cmd.Context()

	src, err := openStore(ctx, o.from)
	if err != nil {
		return err
	}
	defer src.Close()
	exp, ok := src.(store.Exporter)
	if !ok {
		return fmt.Errorf("tokend migrate cannot read all rows of %s", databaseName(o.from))
	}
	dst, err := postgres.Open(ctx, o.to)
	if err != nil {
		return err
	}
	defer dst.Close()

	snap, err := exp.Export(ctx)
	if err != nil {
		return err
	}
	// An expired use guards nothing (its identity token is refused as
	// expired anyway), so only live ones move.
	now := time.Now()
	snap.SubjectTokenUses = slices.DeleteFunc(snap.SubjectTokenUses, func(u store.SubjectTokenUse) bool { return !u.ExpiresAt.After(now) })
	res, err := dst.Import(ctx, snap, store.ImportOptions{IntoNonEmpty: o.intoNonEmpty})
	switch {
	case errors.Is(err, store.ErrNotEmpty):
		return fmt.Errorf("%s: %w; nothing was copied (pass --into-non-empty to add to it)", databaseName(o.to), err)
	case err != nil:
		return err
	}
	keyed := 0
	for _, t := range snap.Tokens {
		if t.IdempotencyKey != "" {
			keyed++
		}
	}
	fmt.Fprintf(e.stdout, "copied %d users, %d tokens (%d with idempotency keys), %d application scopes, %d audit events, %d trust policies and %d live subject-token uses, %d sso providers and %d users they made, %d webhooks with %d deliveries and %d expiry notices, from %s to %s; counts verified in the target\n",
		res.Users, res.Tokens, keyed, res.Scopes, res.Events, res.TrustPolicies, res.SubjectTokenUses, res.SSOProviders, res.SSOUsers,
		res.Webhooks, res.Outbox, res.ExpiryNotices, databaseName(o.from), databaseName(o.to))
	return nil
}
