//go:build !darwin && !windows

package credential

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// sessionBus reports why no D-Bus session bus can be found, or nil when
// one can. godbus, under go-keyring, would otherwise "autolaunch" a new bus
// with dbus-launch when none is set: on a headless machine every tokenctl
// run would leave a dbus-daemon (and a keyring daemon) running forever.
// This looks where godbus looks, minus the autolaunch.
func sessionBus() error {
	if a := os.Getenv("DBUS_SESSION_BUS_ADDRESS"); a != "" && a != "autolaunch:" {
		return nil
	}
	runtimeDir := os.Getenv("XDG_RUNTIME_DIR")
	if runtimeDir == "" {
		runtimeDir = filepath.Join("/run/user", strconv.Itoa(os.Getuid()))
	}
	if _, err := os.Stat(filepath.Join(runtimeDir, "bus")); err == nil {
		return nil
	}
	if b, err := os.ReadFile(filepath.Join(runtimeDir, "dbus-session")); err == nil && strings.HasPrefix(string(b), "DBUS_SESSION_BUS_ADDRESS=") {
		return nil
	}
	return errors.New("no D-Bus session bus: DBUS_SESSION_BUS_ADDRESS is not set")
}
