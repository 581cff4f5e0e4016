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
		"no number":   {"m/init.sql": {}},
		"zero":        {"m/0000_a.sql": {}},
		"a duplicate": {"m/0001_a.sql": {}, "m/0001_b.sql": {}},
	} {
		if _, err := Load(fsys, "m/*.sql"); err == nil || !strings.Contains(err.Error(), "migration") {
			t.Errorf("%s: err = %v, want a migration error", name, err)
		}
	}
}

// Issue 22 lands 0007 while issue 23's 0006 may still be in review: a gap
// loads, and a database already at a version skips what it has.
func TestLoadAcceptsAGapAndPendingSkipsApplied(t *testing.T) {
	ms, err := Load(fstest.MapFS{"m/0001_a.sql": {}, "m/0002_b.sql": {}, "m/0007_g.sql": {}}, "m/*.sql")
	if err != nil {
		t.Fatal(err)
	}
	if Latest(ms) != 7 || Latest(nil) != 0 {
		t.Fatalf("Latest = %d, want 7", Latest(ms))
	}
	for current, want := range map[int][]int{0: {1, 2, 7}, 1: {2, 7}, 2: {7}, 5: {7}, 7: nil} {
		var got []int
		for _, m := range Pending(ms, current) {
			got = append(got, m.Version)
		}
		if len(got) != len(want) || (len(want) > 0 && got[0] != want[0]) {
			t.Errorf("Pending(%d) = %v, want %v", current, got, want)
		}
	}
}
