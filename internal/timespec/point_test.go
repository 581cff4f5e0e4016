package timespec

import (
	"testing"
	"time"
)

func TestParsePoint(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in     string
		future bool
		want   time.Time
	}{
		{"30d", false, now.AddDate(0, 0, -30)},
		{"7d", true, now.AddDate(0, 0, 7)},
		{"1d12h", false, now.Add(-36 * time.Hour)},
		{"2026-11-01", false, time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)},
		{"2026-11-01", true, time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)},
		{"2026-11-01T10:00:00+02:00", false, time.Date(2026, 11, 1, 8, 0, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		got, err := ParsePoint(tt.in, now, tt.future)
		if err != nil || !got.Equal(tt.want) {
			t.Errorf("ParsePoint(%q, %v) = %v, %v; want %v", tt.in, tt.future, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "soon", "-3d", "0d", "2026-13-01"} {
		if _, err := ParsePoint(bad, now, false); err == nil {
			t.Errorf("ParsePoint(%q) succeeded", bad)
		}
	}
}
