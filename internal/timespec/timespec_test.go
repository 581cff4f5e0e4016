package timespec

import (
	"fmt"
	"testing"
	"time"
)

func TestParseDuration(t *testing.T) {
	good := map[string]time.Duration{
		"30d": 30 * day, "1d12h": 36 * time.Hour, "90m": 90 * time.Minute,
		"2w": 14 * day, "1w2d3h4m": week + 2*day + 3*time.Hour + 4*time.Minute,
	}
	for in, want := range good {
		got, err := ParseDuration(in)
		if err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "10x", "-5d", "0s", "0d", "d", "5", "1.5d", "99999999999999999999d", "1d 2h"} {
		if _, err := ParseDuration(in); err == nil {
			t.Errorf("ParseDuration(%q) accepted", in)
		}
	}
}

func TestFormatDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{36 * time.Hour: "1d12h", 90 * day: "90d", 15 * time.Minute: "15m"} {
		if got := FormatDuration(d); got != want {
			t.Errorf("FormatDuration(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestParseDate(t *testing.T) {
	if got, err := ParseDate("2026-12-31"); err != nil || !got.Equal(time.Date(2026, 12, 31, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("date-only: %v %v", got, err)
	}
	if got, err := ParseDate("2026-12-31T18:00:00+02:00"); err != nil || got.Hour() != 16 || got.Location() != time.UTC {
		t.Errorf("rfc3339: %v %v", got, err)
	}
	for _, in := range []string{"", "2026-13-01", "31/12/2026", "tomorrow"} {
		if _, err := ParseDate(in); err == nil {
			t.Errorf("ParseDate(%q) accepted", in)
		}
	}
}

func TestRelative(t *testing.T) {
	now := time.Date(2026, 1, 10, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		t      time.Time
		expiry bool
		want   string
	}{
		{now.Add(29*day + time.Hour), true, "in 29d"},
		{now.Add(-3 * day), true, "expired 3d ago"},
		{now.Add(-3 * time.Hour), false, "3h ago"},
		{now.Add(5 * time.Minute), true, "in 5m"},
		// Just after creation a token reads as the lifetime it was given.
		{now.Add(2*time.Hour - time.Second), true, "in 2h"},
		{now.Add(30*day - 3*time.Second), true, "in 30d"},
		{now.Add(30*day + time.Second), true, "in 30d"},
		{now.Add(59*time.Minute + 50*time.Second), true, "in 1h"},
		{now.Add(23*time.Hour + 40*time.Minute), true, "in 1d"},
		{now.Add(89*day + 23*time.Hour), true, "in 90d"},
		{now.Add(45 * time.Second), true, "in 45s"},
		{now.Add(-90 * time.Second), false, "2m ago"},
	}
	for _, tt := range tests {
		if got := Relative(tt.t, now, tt.expiry); got != tt.want {
			t.Errorf("Relative(%v) = %q, want %q", tt.t, got, tt.want)
		}
	}
}

func TestDateAndExpiry(t *testing.T) {
	now := time.Date(2026, 1, 10, 12, 0, 0, 0, time.UTC)
	at := time.Date(2026, 1, 12, 14, 30, 59, 0, time.FixedZone("x", 3600))
	if got, want := Date(at), "2026-01-12 13:30 UTC"; got != want {
		t.Errorf("Date = %q, want %q", got, want)
	}
	if got, want := Stamp(at, now, true), "2026-01-12 13:30 UTC (in 2d)"; got != want {
		t.Errorf("Stamp = %q, want %q", got, want)
	}
	if got, want := Expiry(now.Add(2*day), now), "expires in 2d"; got != want {
		t.Errorf("Expiry = %q, want %q", got, want)
	}
	if got, want := Expiry(now.Add(-3*day), now), "expired 3d ago"; got != want {
		t.Errorf("Expiry = %q, want %q", got, want)
	}
}

func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{"30d", "1d12h", "-5d", "10x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDuration(s)
		if err == nil && d <= 0 {
			t.Fatalf("accepted non-positive %q = %v", s, d)
		}
	})
}

// days_left in `auth status -o json` sits beside "in 90d": the two must be
// one rounding, not a floor beside a nearest (89 next to "in 90d").
func TestDaysLeftAgreesWithRelative(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	for _, d := range []time.Duration{
		89*day + 23*time.Hour, 89*day + 12*time.Hour, 89*day + 11*time.Hour, 90 * day,
		30*day - time.Second, day + 13*time.Hour, 2 * day, 24*time.Hour + time.Minute,
	} {
		rel := Relative(now.Add(d), now, true)
		var n int
		if _, err := fmt.Sscanf(rel, "in %dd", &n); err != nil {
			t.Fatalf("%v: Relative says %q, not days", d, rel)
		}
		if got := DaysLeft(now.Add(d), now); got != n {
			t.Errorf("%v: DaysLeft %d beside %q", d, got, rel)
		}
	}
	if got := DaysLeft(now.Add(89*day+23*time.Hour), now); got != 90 {
		t.Errorf("89d23h: DaysLeft %d, want 90", got)
	}
	if got := DaysLeft(now.Add(-time.Hour), now); got != 0 {
		t.Errorf("expired: DaysLeft %d, want 0", got)
	}
}
