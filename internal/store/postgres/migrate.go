package postgres

import (
	"context"
	"embed"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/tokenctl/tokenctl/internal/store/migration"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

const migrationGlob = "migrations/*.sql"

// migrations returns the embedded migrations in version order.
func migrations() ([]migration.Migration, error) {
	return migration.Load(migrationFS, migrationGlob)
}

// SchemaVersion is the schema version this binary migrates databases to.
func SchemaVersion() int { return migration.LatestIn(migrationFS, migrationGlob) }

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
		var current int
		if err := tx.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM tokend_schema_migrations`).Scan(&current); err != nil {
			return fmt.Errorf("read schema version: %w", err)
		}
		return migration.Apply(ms, current, func(m migration.Migration) error {
			if _, err := tx.Exec(ctx, m.SQL); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `INSERT INTO tokend_schema_migrations (version, name) VALUES ($1, $2)`, m.Version, m.Name)
			return err
		})
	})
}
