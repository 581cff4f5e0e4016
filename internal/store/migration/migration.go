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
	Version int    // 1, 2, 3…, each once, increasing (gaps allowed)
	Name    string // the file name, e.g. 0002_readiness.sql
	SQL     string
}

// Load returns the migrations matching glob in fsys in version order. File
// names are NNNN_what.sql with positive, unique versions. A gap is allowed
// so that two branches can each claim a number (0006, 0007) and land in
// either order while the lower one is still in review; Apply then runs a
// later-landed lower version only on databases not yet past it, so a
// database must not be migrated by a binary built between the two.
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
	for i := 1; i < len(ms); i++ {
		if ms[i].Version == ms[i-1].Version {
			return nil, fmt.Errorf("migration %s: version %d is also %s", ms[i].Name, ms[i].Version, ms[i-1].Name)
		}
	}
	return ms, nil
}

// Latest is the highest version in ms (0 when there is none): the schema
// version a database has once every migration is applied.
func Latest(ms []Migration) int {
	if len(ms) == 0 {
		return 0
	}
	return ms[len(ms)-1].Version
}

// LatestIn is Latest of the migrations glob names in fsys, 0 when they do
// not load: what each backend's SchemaVersion reports.
func LatestIn(fsys fs.FS, glob string) int {
	ms, err := Load(fsys, glob)
	if err != nil {
		return 0
	}
	return Latest(ms)
}

// Apply brings a database that records version current up to the newest of
// ms: it calls step for each migration the database lacks, oldest first.
// step runs m.SQL and records m.Version; the caller runs Apply inside one
// transaction, so a failed step leaves the database as it was. A database
// newer than ms is refused: it needs a newer binary, not a downgrade.
func Apply(ms []Migration, current int, step func(m Migration) error) error {
	if current < 0 || current > Latest(ms) {
		return fmt.Errorf("database schema version %d is newer than this binary supports (%d); use a newer tokend", current, Latest(ms))
	}
	for _, m := range ms {
		if m.Version <= current {
			continue
		}
		if err := step(m); err != nil {
			return fmt.Errorf("apply migration %s: %w", m.Name, err)
		}
	}
	return nil
}
