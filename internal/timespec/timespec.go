// Package timespec parses the durations and dates people type on the command
// line ("90d", "1d12h", "2026-12-31") and formats relative times ("in 29d").
package timespec

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

const (
	day  = 24 * time.Hour
	week = 7 * day
)

// ParseDuration parses a positive duration made of numbers with units
// m (minutes), h (hours), d (days) and w (weeks), e.g. "30d", "1d12h", "90m".
func ParseDuration(s string) (time.Duration, error) {
	orig := s
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, errors.New("empty duration: use a number with a unit m, h, d or w, e.g. 30d or 1d12h")
	}
	if strings.HasPrefix(s, "-") {
		return 0, fmt.Errorf("invalid duration %q: must be positive", orig)
	}
	var total time.Duration
	for s != "" {
		i := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == 0 {
			return 0, fmt.Errorf("invalid duration %q: expected a number before %q (e.g. 30d or 1d12h)", orig, s)
		}
		n, err := strconv.ParseInt(s[:i], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("invalid duration %q: number too large", orig)
		}
		if i == len(s) {
			return 0, fmt.Errorf("invalid duration %q: missing unit after %d (use m, h, d or w)", orig, n)
		}
		var unit time.Duration
		switch s[i] {
		case 'm':
			unit = time.Minute
		case 'h':
			unit = time.Hour
		case 'd':
			unit = day
		case 'w':
			unit = week
		default:
			return 0, fmt.Errorf("invalid duration %q: unknown unit %q (use m, h, d or w)", orig, s[i:i+1])
		}
		if n > int64(math.MaxInt64/unit) || total > math.MaxInt64-time.Duration(n)*unit {
			return 0, fmt.Errorf("invalid duration %q: too long", orig)
		}
		total += time.Duration(n) * unit
		s = s[i+1:]
	}
	if total <= 0 {
		return 0, fmt.Errorf("invalid duration %q: must be more than zero", orig)
	}
	return total, nil
}

// FormatDuration renders d in the units ParseDuration takes, largest first:
// 36h -> "1d12h". Seconds are dropped.
func FormatDuration(d time.Duration) string {
	if d < time.Minute {
		return "0m"
	}
	var b strings.Builder
	for _, u := range []struct {
		d time.Duration
		s string
	}{{day, "d"}, {time.Hour, "h"}, {time.Minute, "m"}} {
		if n := d / u.d; n > 0 {
			fmt.Fprintf(&b, "%d%s", n, u.s)
			d -= n * u.d
		}
	}
	return b.String()
}

// ParseDate parses RFC 3339 ("2026-12-31T18:00:00Z") or a calendar date
// ("2026-12-31", meaning 00:00 UTC that day).
func ParseDate(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t.UTC(), nil
	}
	return time.Time{}, fmt.Errorf("invalid date %q: use YYYY-MM-DD or RFC 3339 like 2026-12-31T18:00:00Z", s)
}

// DateLayout is how every human-facing time reads: UTC, to the minute.
// JSON and CSV output keep RFC 3339.
const DateLayout = "2006-01-02 15:04 UTC"

// Date formats t in DateLayout.
func Date(t time.Time) string { return t.UTC().Format(DateLayout) }

// Relative describes t against now for people: "in 29d", "in 5h",
// "expired 3d ago" (when expiry is true and t is past) or "3d ago".
//
// It rounds to the nearest unit rather than down, so a time just given
// reads as given: a 30-day token a second after creation is "in 30d" (not
// "in 29d"), a 2-hour one "in 2h". Under a minute it counts seconds.
func Relative(t, now time.Time, expiry bool) string {
	d := t.Sub(now)
	if d >= 0 {
		return "in " + coarse(d)
	}
	if expiry {
		return "expired " + coarse(-d) + " ago"
	}
	return coarse(-d) + " ago"
}

// Expiry is a sentence fragment about an expiry time: "expires in 2d" or
// "expired 3d ago".
func Expiry(t, now time.Time) string {
	if t.Before(now) {
		return Relative(t, now, true)
	}
	return "expires " + Relative(t, now, true)
}

// DaysLeft is the whole days from now until t, rounded to the nearest day
// exactly as Relative rounds them (89d23h is 90, "in 90d"), never below 0:
// a count printed beside a relative time must not disagree with it.
func DaysLeft(t, now time.Time) int {
	d := t.Sub(now)
	if d <= 0 {
		return 0
	}
	return int((d + day/2) / day)
}

// Stamp is Date and Relative together, the way a single time is shown
// next to a label: "2026-12-23 15:04 UTC (in 30d)".
func Stamp(t, now time.Time, expiry bool) string {
	return Date(t) + " (" + Relative(t, now, expiry) + ")"
}

// coarse rounds d to the nearest whole unit people read at a glance; a
// value that rounds up to the next unit is shown in it (59m50s is "1h").
func coarse(d time.Duration) string {
	if d < time.Minute {
		return fmt.Sprintf("%ds", int(d.Seconds()))
	}
	for _, u := range []struct {
		size, next time.Duration
		name       string
	}{{time.Minute, time.Hour, "m"}, {time.Hour, day, "h"}, {day, 0, "d"}} {
		n := (d + u.size/2) / u.size
		if u.next == 0 || n*u.size < u.next {
			return fmt.Sprintf("%d%s", n, u.name)
		}
	}
	panic("unreachable")
}
