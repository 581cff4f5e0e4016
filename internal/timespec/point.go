package timespec

import (
	"fmt"
	"time"
)

// ParsePoint parses a point in time given as a date (see ParseDate) or as
// a duration relative to now (see ParseDuration). A duration counts back
// from now ("30d" = 30 days ago) unless future is set, when it counts
// forward ("7d" = 7 days from now): flags about the past (created, last
// used, --since) read it as an age, flags about expiry as time left.
func ParsePoint(s string, now time.Time, future bool) (time.Time, error) {
	if t, err := ParseDate(s); err == nil {
		return t, nil
	}
	d, err := ParseDuration(s)
	if err != nil {
		return time.Time{}, fmt.Errorf("invalid date %q: use YYYY-MM-DD, RFC 3339 like 2026-12-31T18:00:00Z, or an age like 30d or 12h", s)
	}
	if future {
		return now.Add(d).UTC(), nil
	}
	return now.Add(-d).UTC(), nil
}
