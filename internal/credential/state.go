package credential

import (
	"sort"
	"time"
)

// Account is what tokenctl remembers about one stored credential besides
// the secret: which user it is, where the secret lives, and facts about its
// token so the expiry warning costs no request. Nothing here is secret:
// KeyHint is the short hint `token list` shows, and ties the record to the
// secret it describes (a rotated secret no longer matches).
type Account struct {
	Host     string `yaml:"-"`
	Username string `yaml:"-"`
	Active   bool   `yaml:"-"`
	// Storage is SourceKeyring or SourceFile. It is empty for an account
	// carried over from the single-account format, whose secret still sits
	// under the bare host until it is next read.
	Storage   string    `yaml:"storage,omitempty"`
	TokenID   string    `yaml:"token_id,omitempty"`
	TokenName string    `yaml:"token_name,omitempty"`
	KeyHint   string    `yaml:"key_hint,omitempty"`
	ExpiresAt time.Time `yaml:"expires_at,omitempty"`
	// LoginToken is set when `auth login` minted the token with a password:
	// nobody else holds it, so logging in again revokes it.
	LoginToken bool `yaml:"login_token,omitempty"`
}

type hostState struct {
	Active   string              `yaml:"active"`
	Accounts map[string]*Account `yaml:"accounts"`
}

type stateDoc struct {
	Version int                   `yaml:"version"`
	Hosts   map[string]*hostState `yaml:"hosts"`
}

const stateVersion = 2

// legacyMeta is a host's record in the single-account state.yaml (version
// 1, a map of host to record), read and converted on load.
type legacyMeta struct {
	Username  string    `yaml:"username"`
	TokenID   string    `yaml:"token_id"`
	TokenName string    `yaml:"token_name"`
	KeyHint   string    `yaml:"key_hint"`
	ExpiresAt time.Time `yaml:"expires_at"`
}

const stateHeader = "# tokenctl state: accounts per host and non-secret facts about their credentials (no secrets here)\n"

// StateStore is state.yaml: the accounts per host, which one is active, and
// their metadata. The Service is its only writer.
type StateStore struct {
	Path string
}

func (s StateStore) load() (*stateDoc, error) {
	doc, err := yamlFile[stateDoc]{Path: s.Path}.load()
	if err != nil {
		return nil, err
	}
	if doc.Version == 0 {
		old, err := yamlFile[map[string]legacyMeta]{Path: s.Path}.load()
		if err != nil {
			return nil, err
		}
		doc = stateDoc{}
		for host, m := range old {
			if m.Username == "" {
				continue
			}
			doc.host(host).Accounts[m.Username] = &Account{TokenID: m.TokenID, TokenName: m.TokenName, KeyHint: m.KeyHint, ExpiresAt: m.ExpiresAt}
			doc.Hosts[host].Active = m.Username
		}
	}
	doc.Version = stateVersion
	return &doc, nil
}

// host returns host's entry, creating it.
func (d *stateDoc) host(host string) *hostState {
	if d.Hosts == nil {
		d.Hosts = map[string]*hostState{}
	}
	h := d.Hosts[host]
	if h == nil {
		h = &hostState{}
		d.Hosts[host] = h
	}
	if h.Accounts == nil {
		h.Accounts = map[string]*Account{}
	}
	return h
}

// update loads, changes and saves the document. A file that cannot be read
// is started afresh: the state is a convenience, never a reason to fail.
func (s StateStore) update(fn func(*stateDoc)) error {
	doc, err := s.load()
	if err != nil {
		doc = &stateDoc{Version: stateVersion}
	}
	fn(doc)
	for host, h := range doc.Hosts {
		if len(h.Accounts) == 0 {
			delete(doc.Hosts, host)
		}
	}
	return yamlFile[stateDoc]{Path: s.Path, Header: stateHeader}.save(*doc)
}

// Accounts returns host's accounts sorted by user name, the active one
// marked. An unreadable file reads as no accounts.
func (s StateStore) Accounts(host string) []Account {
	doc, err := s.load()
	if err != nil || doc.Hosts[host] == nil {
		return nil
	}
	h := doc.Hosts[host]
	out := make([]Account, 0, len(h.Accounts))
	for user, a := range h.Accounts {
		c := *a
		c.Host, c.Username, c.Active = host, user, user == h.Active
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Username < out[j].Username })
	return out
}

// Account returns host's record for user, or nil.
func (s StateStore) Account(host, user string) *Account {
	for _, a := range s.Accounts(host) {
		if a.Username == user {
			return &a
		}
	}
	return nil
}

// Active returns host's active account, or nil.
func (s StateStore) Active(host string) *Account {
	for _, a := range s.Accounts(host) {
		if a.Active {
			return &a
		}
	}
	return nil
}
