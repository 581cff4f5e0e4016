package store

import (
	"testing"
	"time"
)

func TestNewEventIDSortsInOrderMadeAndNeverPanics(t *testing.T) {
	at := time.Date(2026, 12, 2, 5, 0, 0, 0, time.UTC)
	prev := ""
	for i := range 1000 {
		id := NewEventID(at) // all in the same millisecond
		if id <= prev || len(id) != 26 {
			t.Fatalf("id %d = %q after %q", i, id, prev)
		}
		prev = id
	}
	for _, odd := range []time.Time{{}, time.Date(1000, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(20000, 1, 1, 0, 0, 0, 0, time.UTC)} {
		if id := NewEventID(odd); len(id) != 26 {
			t.Errorf("NewEventID(%s) = %q", odd, id)
		}
	}
}
