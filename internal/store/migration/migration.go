// Package migration reads a backend's embedded, numbered schema migrations
// and applies the ones a database lacks. Both stores (sqlite, postgres)
// version their schema the same way, so the rules for naming, ordering and
// applying the files live here once; a backend brings only its transaction
// and where it records the version.
package migration

import (
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
)

// Migration is one schema step.
type Migration struct {
	Version int    // 1, 2, 3… with no gaps
	Name    string // the file name, e.g. 0002_readiness.sql
	SQL     string
}

// Load returns the migrations matching glob in fsys in version order. File
// names are NNNN_what.sql with versions 1, 2, 3… and no gaps, so the schema
// version a database records is also the number of migrations applied.
func Load(fsys fs.FS, glob string) ([]Migration, error) {
	names, err := fs.Glob(fsys, glob)
	if err != nil {
		return nil, err
	}
	var ms []Migration
	for _, n := range names {
		base := path.Base(n)
		num, _, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v < 1 {
			return nil, fmt.Errorf("migration %s: name must start with a positive number and '_'", base)
		}
		b, err := fs.ReadFile(fsys, n)
		if err != nil {
			return nil, err
		}
		ms = append(ms, Migration{Version: v, Name: base, SQL: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Version < ms[j].Version })
	for i, m := range ms {
		if m.Version != i+1 {
			return nil, fmt.Errorf("migration %s: expected version %d", m.Name, i+1)
		}
	}
	return ms, nil
}

// Apply brings a database that records version current up to the newest of
// ms: it calls step for each migration the database lacks, oldest first.
// step runs m.SQL and records m.Version; the caller runs Apply inside one
// transaction, so a failed step leaves the database as it was. A database
// newer than ms is refused: it needs a newer binary, not a downgrade.
func Apply(ms []Migration, current int, step func(m Migration) error) error {
	if current < 0 || current > len(ms) {
		return fmt.Errorf("database schema version %d is newer than this binary supports (%d); use a newer tokend", current, len(ms))
	}
	for _, m := range ms[current:] {
		if err := step(m); err != nil {
			return fmt.Errorf("apply migration %s: %w", m.Name, err)
		}
	}
	return nil
}
