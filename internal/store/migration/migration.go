// Package migration reads a backend's embedded, numbered schema migrations.
// Both stores (sqlite, postgres) version their schema the same way, so the
// rules for naming and ordering the files live here once.
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
