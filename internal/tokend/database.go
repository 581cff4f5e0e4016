package tokend

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/tokenctl/tokenctl/internal/store"
	"github.com/tokenctl/tokenctl/internal/store/sqlite"
)

// DefaultDatabase is where tokend keeps its data unless told otherwise.
const DefaultDatabase = "./tokend.db"

// databaseDefault is the --database flag's default: $TOKEND_DATABASE or
// ./tokend.db.
func databaseDefault(getenv func(string) string) string {
	if v := getenv("TOKEND_DATABASE"); v != "" {
		return v
	}
	return DefaultDatabase
}

// sqlitePath turns a --database value into a SQLite file path.
func sqlitePath(db string) (string, error) {
	switch {
	case db == "":
		return "", usageErrorf("--database is empty; give a file path or sqlite://PATH")
	case strings.HasPrefix(db, "postgres://"), strings.HasPrefix(db, "postgresql://"):
		return "", usageErrorf("PostgreSQL support is not built yet; use a SQLite file path or sqlite://PATH for --database")
	case strings.HasPrefix(db, "sqlite://"):
		p := strings.TrimPrefix(db, "sqlite://")
		if p == "" {
			return "", usageErrorf("--database sqlite:// needs a path, e.g. sqlite:///var/lib/tokend/tokend.db")
		}
		return p, nil
	case strings.Contains(db, "://"):
		scheme, _, _ := strings.Cut(db, "://")
		return "", usageErrorf("--database scheme %q is not supported; use a file path, sqlite://PATH or postgres://", scheme)
	}
	return db, nil
}

func openStore(ctx context.Context, db string) (store.Store, error) {
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
	path, err := sqlitePath(db)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("database %s does not exist; create it (with its first user) with: tokend user add NAME --database %s", path, path)
	}
	return openStore(ctx, db)
}
