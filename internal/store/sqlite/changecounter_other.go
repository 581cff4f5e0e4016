//go:build !(linux || darwin || freebsd)

package sqlite

import "errors"

// walIndex is not implemented here (Windows maps the -shm differently):
// the token cache is off and every lookup reads the store.
type walIndex struct{}

func shmPath(dbPath string) (string, error) { return dbPath + "-shm", nil }

func openWALIndex(string) (*walIndex, error) {
	return nil, errors.New("the WAL-index is not read on this platform")
}

func (*walIndex) release() error { return nil }

func (*walIndex) version() (walVersion, bool) { return walVersion{}, false }
