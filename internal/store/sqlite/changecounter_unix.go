//go:build linux || darwin || freebsd

package sqlite

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"syscall"
	"unsafe"
)

// walIndex is a read-only mapping of the first page of one -shm file,
// shared by every Store of this process on that file.
//
// Why one per file and why it is never closed early: SQLite locks the -shm
// with POSIX fcntl locks, which belong to the process and inode, and
// closing any descriptor of the file drops all of them, SQLite's included.
// Dropping the lock that tells other processes "this -shm is in use" would
// let the next process to open the database truncate and rebuild it under
// us. So the descriptor opened here stays open until the last Store of
// this process on the file has closed its SQLite connections
// (releaseWALIndex), which is when SQLite's own locks are gone anyway.
type walIndex struct {
	key  shmKey
	path string
	f    *os.File
	mem  []byte
	refs int // Stores using it; guarded by walIndexes.mu

	// faulted is set when a read faulted (the file was truncated under
	// the mapping, which SQLite never does while any connection of ours
	// is open): from then on the mapping is not trusted.
	faulted atomic.Bool
}

type shmKey struct{ dev, ino uint64 }

var walIndexes = struct {
	mu sync.Mutex
	m  map[shmKey]*walIndex
}{m: map[shmKey]*walIndex{}}

// shmPath is the -shm file SQLite uses for the database at dbPath: SQLite
// resolves symbolic links in the database's path before appending -shm.
func shmPath(dbPath string) (string, error) {
	real, err := filepath.EvalSymlinks(dbPath)
	if err != nil {
		return "", err
	}
	return real + "-shm", nil
}

// openWALIndex maps the header of the -shm file at path. The caller must
// hold a SQLite connection to the database open (in WAL mode, past one
// read) for as long as it uses the mapping: that connection's locks are
// what keep every other process from truncating or deleting the file.
func openWALIndex(path string) (*walIndex, error) {
	walIndexes.mu.Lock()
	defer walIndexes.mu.Unlock()
	// By name first: opening (and so later closing) a second descriptor
	// of a file already mapped here is what must not happen.
	if fi, err := os.Stat(path); err == nil {
		if w := walIndexes.m[keyOf(fi)]; w != nil {
			w.refs++
			return w, nil
		}
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		keepOpen(f)
		return nil, err
	}
	key := keyOf(fi)
	if w := walIndexes.m[key]; w != nil { // replaced between the stat and the open
		keepOpen(f)
		w.refs++
		return w, nil
	}
	if fi.Size() < shmHeaderSize {
		keepOpen(f)
		return nil, fmt.Errorf("%s holds %d bytes, less than a WAL-index header", path, fi.Size())
	}
	mem, err := syscall.Mmap(int(f.Fd()), 0, os.Getpagesize(), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		keepOpen(f)
		return nil, fmt.Errorf("map %s: %w", path, err)
	}
	w := &walIndex{key: key, path: path, f: f, mem: mem, refs: 1}
	walIndexes.m[key] = w
	return w, nil
}

// keepOpen keeps a descriptor of a -shm file that is not used from being
// closed, by hand or by its finalizer, while SQLite may hold locks on the
// file (see walIndex). It happens only on failure paths, so the leak is
// small and rare.
func keepOpen(f *os.File) {
	keptOpen = append(keptOpen, f) // walIndexes.mu is held
}

var keptOpen []*os.File

func keyOf(fi os.FileInfo) shmKey {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return shmKey{}
	}
	return shmKey{dev: uint64(st.Dev), ino: uint64(st.Ino)}
}

// release gives w back; the last Store to release it (after closing its
// SQLite connections) unmaps it and closes the descriptor.
func (w *walIndex) release() error {
	walIndexes.mu.Lock()
	defer walIndexes.mu.Unlock()
	w.refs--
	if w.refs > 0 {
		return nil
	}
	delete(walIndexes.m, w.key)
	return errors.Join(syscall.Munmap(w.mem), w.f.Close())
}

// version returns the header as it stands, or false when no consistent,
// initialised header could be read (a writer was mid-way through both
// copies four times running, or the mapping faulted): the caller then
// reads the store.
func (w *walIndex) version() (v walVersion, ok bool) {
	if w.faulted.Load() {
		return v, false
	}
	// A read of a truncated mapping is SIGBUS; with PanicOnFault it is a
	// panic recovered here, and the cache falls back to the store.
	defer func() {
		if recover() != nil {
			w.faulted.Store(true)
			ok = false
		}
	}()
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	p := unsafe.Pointer(unsafe.SliceData(w.mem))
	for range 4 {
		var a, b walVersion
		for i := range a {
			a[i] = atomic.LoadUint64((*uint64)(unsafe.Add(p, 8*i)))
		}
		for i := range b {
			b[i] = atomic.LoadUint64((*uint64)(unsafe.Add(p, 48+8*i)))
		}
		if a == b {
			return a, a.initialised()
		}
	}
	return v, false
}

func (v *walVersion) initialised() bool {
	b := (*[48]byte)(unsafe.Pointer(v))
	return binary.NativeEndian.Uint32(b[0:4]) == walIndexHeaderVersion && b[12] == 1
}

// changeCounter is iChange, for tests and measurements.
func (v *walVersion) changeCounter() uint32 {
	b := (*[48]byte)(unsafe.Pointer(v))
	return binary.NativeEndian.Uint32(b[8:12])
}
