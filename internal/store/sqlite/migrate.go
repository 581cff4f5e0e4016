package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"strconv"

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

// migrate brings the database to the newest schema in one BEGIN IMMEDIATE
// transaction, so two processes opening a fresh file at once cannot both
// apply a migration, and a failed migration leaves the file as it was.
// PRAGMA user_version is part of the database header and so is committed or
// rolled back with the transaction.
func (s *Store) migrate(ctx context.Context) error {
	ms, err := migrations()
	if err != nil {
		return err
	}
	return s.writeTx(ctx, func(tx *sql.Tx) error {
		var current int
		if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&current); err != nil {
			return fmt.Errorf("read schema version: %w", err)
		}
		return migration.Apply(ms, current, func(m migration.Migration) error {
			if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
				return err
			}
			// PRAGMA takes no bound parameters; the version is an int we made.
			_, err := tx.ExecContext(ctx, "PRAGMA user_version = "+strconv.Itoa(m.Version))
			return err
		})
	})
}
