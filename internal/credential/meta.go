package credential

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"github.com/tokenctl/tokenctl/internal/api"
	"github.com/tokenctl/tokenctl/internal/atomicfile"
	"github.com/tokenctl/tokenctl/internal/secret"

	"go.yaml.in/yaml/v3"
)

// Meta is what tokenctl remembers about a stored credential besides the
// secret, so the expiry warning costs no request. It holds nothing secret:
// KeyHint is the same short hint `token list` shows, and ties the record to
// the secret it describes (a rotated secret no longer matches).
type Meta struct {
	Username  string    `yaml:"username"`
	TokenID   string    `yaml:"token_id"`
	TokenName string    `yaml:"token_name"`
	KeyHint   string    `yaml:"key_hint"`
	ExpiresAt time.Time `yaml:"expires_at"`
}

// MetaStore keeps Meta per host in a YAML file (state.yaml beside the config).
type MetaStore struct {
	Path string
}

// Get returns host's record, or nil when there is none or the file is
// unreadable (metadata is a convenience; it never fails a command).
func (s MetaStore) Get(host string) *Meta {
	m, err := s.load()
	if err != nil {
		return nil
	}
	if v, ok := m[host]; ok {
		return &v
	}
	return nil
}

// Put records meta for host.
func (s MetaStore) Put(host string, meta Meta) error {
	m, err := s.load()
	if err != nil {
		m = map[string]Meta{}
	}
	m[host] = meta
	return s.save(m)
}

// Delete forgets host.
func (s MetaStore) Delete(host string) error {
	m, err := s.load()
	if err != nil {
		return nil
	}
	if _, ok := m[host]; !ok {
		return nil
	}
	delete(m, host)
	return s.save(m)
}

func (s MetaStore) load() (map[string]Meta, error) {
	m := map[string]Meta{}
	data, err := os.ReadFile(s.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return m, nil
	}
	if err != nil {
		return nil, err
	}
	if err := yaml.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", s.Path, err)
	}
	if m == nil {
		m = map[string]Meta{}
	}
	return m, nil
}

func (s MetaStore) save(m map[string]Meta) error {
	data, err := yaml.Marshal(m)
	if err != nil {
		return err
	}
	return atomicfile.Write(s.Path, append([]byte("# tokenctl state: non-secret facts about stored credentials (no secrets here)\n"), data...), 0o600)
}

// Record stores what GET /v1/user said about the token secret for host.
// It does nothing when the answer does not describe a token.
func (s MetaStore) Record(host, tok string, u *api.User) error {
	if u == nil || u.Token == nil {
		return nil
	}
	t, err := secret.Parse(tok)
	if err != nil {
		return nil
	}
	return s.Put(host, Meta{
		Username:  u.Username,
		TokenID:   u.Token.ID,
		TokenName: u.Token.Name,
		KeyHint:   t.Hint(),
		ExpiresAt: u.Token.ExpiresAt.UTC(),
	})
}
