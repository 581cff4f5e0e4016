package migration

import (
	"strings"
	"testing"
	"testing/fstest"
)

func TestLoadOrdersAndChecksVersions(t *testing.T) {
	good := fstest.MapFS{
		"m/0002_b.sql": {Data: []byte("B")},
		"m/0001_a.sql": {Data: []byte("A")},
	}
	ms, err := Load(good, "m/*.sql")
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 2 || ms[0].Name != "0001_a.sql" || ms[1].SQL != "B" || ms[1].Version != 2 {
		t.Fatalf("Load = %+v", ms)
	}
	for name, fsys := range map[string]fstest.MapFS{
		"a gap":       {"m/0001_a.sql": {}, "m/0003_c.sql": {}},
		"no number":   {"m/init.sql": {}},
		"zero":        {"m/0000_a.sql": {}},
		"a duplicate": {"m/0001_a.sql": {}, "m/0001_b.sql": {}},
	} {
		if _, err := Load(fsys, "m/*.sql"); err == nil || !strings.Contains(err.Error(), "migration") {
			t.Errorf("%s: err = %v, want a migration error", name, err)
		}
	}
}
