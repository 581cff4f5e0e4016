package postgres

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

type migration struct {
	version int
	name    string
	sql     string
}

// migrations returns the embedded migrations in version order. File names
// are NNNN_what.sql with distinct, increasing versions. Gaps are allowed:
// branches number their migrations apart and are renumbered when merged,
// and migrate applies every version not yet recorded, not just the ones
// above the highest.
func migrations() ([]migration, error) {
	names, err := fs.Glob(migrationFS, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, n := range names {
		base := path.Base(n)
		num, _, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v < 1 {
			return nil, fmt.Errorf("migration %s: name must start with a positive number and '_'", base)
		}
		b, err := migrationFS.ReadFile(n)
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: base, sql: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	for i := 1; i < len(ms); i++ {
		if ms[i].version == ms[i-1].version {
			return nil, fmt.Errorf("migrations %s and %s have the same version", ms[i-1].name, ms[i].name)
		}
	}
	return ms, nil
}

// SchemaVersion is the schema version this binary migrates databases to:
// the highest migration version.
func SchemaVersion() int {
	ms, err := migrations()
	if err != nil || len(ms) == 0 {
		return 0
	}
	return ms[len(ms)-1].version
}

// migrateLockKey is the pg_advisory_xact_lock key that serialises
// migrations: an arbitrary constant ("tokend" in ASCII), the same in every
// tokend binary. Advisory locks are per database, so two tokend databases on
// one cluster do not wait for each other.
const migrateLockKey int64 = 0x746f6b656e64

// migrate brings the database to the newest schema in one transaction that
// first takes a transaction-scoped advisory lock. Replicas starting at once
// queue on the lock; each one that gets it reads the version the previous
// one committed, so every migration runs exactly once. PostgreSQL DDL is
// transactional: a failed migration leaves the database as it was, and the
// lock goes away with the transaction even if tokend dies half way.
func (s *Store) migrate(ctx context.Context) error {
	ms, err := migrations()
	if err != nil {
		return err
	}
	return s.tx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, migrateLockKey); err != nil {
			return fmt.Errorf("lock for migration: %w", err)
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS tokend_schema_migrations (
			version    integer     NOT NULL PRIMARY KEY,
			name       text        NOT NULL,
			applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
			return fmt.Errorf("create the migrations table: %w", err)
		}
		rows, err := tx.Query(ctx, `SELECT version FROM tokend_schema_migrations`)
		if err != nil {
			return fmt.Errorf("read schema version: %w", err)
		}
		applied, err := pgx.CollectRows(rows, pgx.RowTo[int])
		if err != nil {
			return fmt.Errorf("read schema version: %w", err)
		}
		done := map[int]bool{}
		newest := 0
		for _, v := range applied {
			done[v] = true
			newest = max(newest, v)
		}
		if supported := ms[len(ms)-1].version; newest > supported {
			return fmt.Errorf("database schema version %d is newer than this binary supports (%d); use a newer tokend", newest, supported)
		}
		for _, m := range ms {
			if done[m.version] {
				continue
			}
			if _, err := tx.Exec(ctx, m.sql); err != nil {
				return fmt.Errorf("apply migration %s: %w", m.name, err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO tokend_schema_migrations (version, name) VALUES ($1, $2)`, m.version, m.name); err != nil {
				return fmt.Errorf("record migration %s: %w", m.name, err)
			}
		}
		return nil
	})
}
