package credential

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/tokenctl/tokenctl/internal/atomicfile"

	"go.yaml.in/yaml/v3"
)

// FileStore keeps secrets in a plain YAML file (host -> token), used only for
// hosts logged in with --insecure-storage: being in this file is that choice.
// The file is 0600 in a 0700 directory and always replaced atomically.
type FileStore struct {
	Path string
}

const fileHeader = "# tokenctl credentials, NOT encrypted: written because of --insecure-storage.\n# Prefer the OS keyring; `tokenctl auth logout` removes entries.\n"

// Get returns host's secret or ErrNotFound.
func (f FileStore) Get(host string) (string, error) {
	m, err := f.load()
	if err != nil {
		return "", err
	}
	if s, ok := m[host]; ok && s != "" {
		return s, nil
	}
	return "", ErrNotFound
}

// Has reports whether host has an entry, without returning it.
func (f FileStore) Has(host string) bool {
	_, err := f.Get(host)
	return err == nil
}

// Set stores secret for host.
func (f FileStore) Set(host, secret string) error {
	m, err := f.load()
	if err != nil {
		return err
	}
	m[host] = secret
	return f.save(m)
}

// Delete removes host's entry; ErrNotFound when there was none. The file is
// removed when it becomes empty.
func (f FileStore) Delete(host string) error {
	m, err := f.load()
	if err != nil {
		return err
	}
	if _, ok := m[host]; !ok {
		return ErrNotFound
	}
	delete(m, host)
	if len(m) == 0 {
		if err := os.Remove(f.Path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("remove %s: %w", f.Path, err)
		}
		return nil
	}
	return f.save(m)
}

func (f FileStore) load() (map[string]string, error) {
	m := map[string]string{}
	data, err := os.ReadFile(f.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return m, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read credentials file: %w", err)
	}
	if err := yaml.Unmarshal(data, &m); err != nil {
		// Never quote the content: it holds secrets.
		return nil, fmt.Errorf("credentials file %s is not valid YAML: fix or delete it", f.Path)
	}
	if m == nil {
		m = map[string]string{}
	}
	return m, nil
}

func (f FileStore) save(m map[string]string) error {
	data, err := yaml.Marshal(m)
	if err != nil {
		return fmt.Errorf("encode credentials: %w", err)
	}
	return atomicfile.Write(f.Path, append([]byte(fileHeader), data...), 0o600)
}
