package config

import (
	"path/filepath"
)

// Dir is tokenctl's configuration directory: $XDG_CONFIG_HOME/tokenctl, or
// $HOME/.config/tokenctl. getenv is passed in so tests and in-process e2e
// runs never read the real environment.
func Dir(getenv func(string) string) string {
	if d := getenv("XDG_CONFIG_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "tokenctl")
	}
	home := getenv("HOME")
	if home == "" {
		home = "."
	}
	return filepath.Join(home, ".config", "tokenctl")
}
