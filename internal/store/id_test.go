package store

import (
	"testing"
	"time"

	"github.com/tokenctl/tokenctl/internal/api"
)

func TestNewIDSortsByTime(t *testing.T) {
	a := NewID(time.Unix(1000, 0))
	b := NewID(time.Unix(2000, 0))
	if !(a < b) || !api.ValidID(a) || !api.ValidID(b) {
		t.Fatalf("ids %q %q", a, b)
	}
	for _, bad := range []string{"", "x", "01JD", a + "0", "01jd!!!!!!!!!!!!!!!!!!!!!!"} {
		if api.ValidID(bad) {
			t.Errorf("ValidID(%q) = true", bad)
		}
	}
}
