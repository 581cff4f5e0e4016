package tokend

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/tokenctl/tokenctl/internal/store"
	"github.com/tokenctl/tokenctl/internal/store/postgres"
	"github.com/tokenctl/tokenctl/internal/store/sqlite"
)

// DefaultDatabase is where tokend keeps its data unless told otherwise.
const DefaultDatabase = "./tokend.db"

// databaseUsage is the help text of every --database flag.
const databaseUsage = "SQLite file path, sqlite://PATH, or postgres://URL ($TOKEND_DATABASE)"

// databaseDefault is the --database flag's default: $TOKEND_DATABASE or
// ./tokend.db.
func databaseDefault(getenv func(string) string) string {
	if v := getenv("TOKEND_DATABASE"); v != "" {
		return v
	}
	return DefaultDatabase
}

// sqlitePath turns a --database value into a SQLite file path. A
// PostgreSQL URL is an error here: callers that accept one check
// postgres.IsURL first (see checkDatabase and openStore).
func sqlitePath(db string) (string, error) {
	switch {
	case db == "":
		return "", usageErrorf("--database is empty; give a file path, sqlite://PATH or postgres://URL")
	case postgres.IsURL(db):
		return "", usageErrorf("%s is a PostgreSQL database, not a SQLite file", postgres.Redact(db))
	case strings.HasPrefix(db, "sqlite://"):
		p := strings.TrimPrefix(db, "sqlite://")
		if p == "" {
			return "", usageErrorf("--database sqlite:// needs a path, e.g. sqlite:///var/lib/tokend/tokend.db")
		}
		return p, nil
	case strings.Contains(db, "://"):
		scheme, _, _ := strings.Cut(db, "://")
		return "", usageErrorf("--database scheme %q is not supported; use a file path, sqlite://PATH or postgres://URL", scheme)
	}
	return db, nil
}

// checkDatabase checks the form of a --database value without opening it.
func checkDatabase(db string) error {
	if postgres.IsURL(db) {
		return nil
	}
	_, err := sqlitePath(db)
	return err
}

// databaseName is db fit for logs and messages: a PostgreSQL URL loses its
// password.
func databaseName(db string) string {
	if postgres.IsURL(db) {
		return postgres.Redact(db)
	}
	return db
}

func openStore(ctx context.Context, db string) (store.Store, error) {
	if postgres.IsURL(db) {
		// postgres.Open's errors name the URL without its password.
		st, err := postgres.Open(ctx, db)
		if err != nil {
			return nil, err
		}
		return st, nil
	}
	path, err := sqlitePath(db)
	if err != nil {
		return nil, err
	}
	// sqlite.Open's errors already say "open sqlite database PATH: ...";
	// wrapping them again would name the path twice.
	st, err := sqlite.Open(ctx, path)
	if err != nil {
		return nil, err
	}
	return st, nil
}

// openExistingStore is openStore for serve: a missing database file is
// refused, not created, so a server whose file was deleted or whose
// --database has a typo does not start empty and lose every user quietly.
func openExistingStore(ctx context.Context, db string) (store.Store, error) {
	if postgres.IsURL(db) {
		// A PostgreSQL database is created by its operator on purpose;
		// tokend only adds its tables to it.
		return openStore(ctx, db)
	}
	path, err := sqlitePath(db)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("database %s does not exist; create it (with its first user) with: tokend user add NAME --database %s", path, path)
	}
	return openStore(ctx, db)
}
