// Package version holds build information stamped in through -ldflags by
// the Makefile and goreleaser.
package version

import "runtime/debug"

// Set with -ldflags "-X github.com/tokenctl/tokenctl/internal/version.Version=...".
var (
	Version = ""
	Commit  = ""
	Date    = ""
)

// String returns "VERSION (COMMIT, DATE)", filling gaps from the module's
// build info so `go install` builds still say something useful.
func String() string {
	v, c, d := Version, Commit, Date
	if bi, ok := debug.ReadBuildInfo(); ok {
		if v == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			v = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch {
			case s.Key == "vcs.revision" && c == "":
				c = s.Value
				if len(c) > 12 {
					c = c[:12]
				}
			case s.Key == "vcs.time" && d == "":
				d = s.Value
			}
		}
	}
	if v == "" {
		v = "dev"
	}
	out := v
	switch {
	case c != "" && d != "":
		out += " (" + c + ", " + d + ")"
	case c != "":
		out += " (" + c + ")"
	}
	return out
}
