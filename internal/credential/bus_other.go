//go:build darwin || windows

package credential

// sessionBus is a Secret Service concern; the Keychain and the Credential
// Manager need no bus.
func sessionBus() error { return nil }
