// Package config reads and writes tokenctl's config file
// ($XDG_CONFIG_HOME/tokenctl/config.yaml) with yaml.v3, one way both
// directions (docs/decisions.md says why not viper). The file holds
// profiles — a host and defaults each — and the current profile's name;
// never a secret. Precedence, strongest first: flag, TOKENCTL_* environment,
// the profile in the file, default — written once, in Load and Get.
package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/tokenctl/tokenctl/internal/atomicfile"
	"github.com/tokenctl/tokenctl/internal/client"
	"github.com/tokenctl/tokenctl/internal/text"
	"github.com/tokenctl/tokenctl/internal/timespec"
)

// DefaultProfile is used when neither --profile, TOKENCTL_PROFILE nor
// current_profile names one.
const DefaultProfile = "default"

// Key describes one per-profile setting.
type Key struct {
	Name     string
	Default  string
	Help     string
	validate func(string) (string, error) // returns the normalised value
}

// Keys are the per-profile settings `tokenctl config` knows, in display order.
var Keys = []Key{
	{Name: "host", Help: "base URL of the token API server", validate: func(v string) (string, error) {
		u, err := client.NormalizeHost(v)
		if err != nil {
			return "", err
		}
		return u.String(), nil
	}},
	{Name: "expiry_warning", Default: "7d", Help: "warn when the stored credential expires within this long (0 turns it off)", validate: func(v string) (string, error) {
		if v == "0" {
			return v, nil
		}
		if _, err := timespec.ParseDuration(v); err != nil {
			return "", err
		}
		return v, nil
	}},
	{Name: "ca_file", Help: "PEM file of a private CA to trust for the server's TLS certificate, besides the system's CAs", validate: func(v string) (string, error) {
		abs, err := filepath.Abs(v)
		if err != nil {
			return "", err
		}
		if _, err := client.LoadCAFile(abs); err != nil {
			return "", fmt.Errorf("invalid ca_file: %w", err)
		}
		return abs, nil
	}},
	{Name: "timeout", Default: client.DefaultTimeout.String(), Help: "time limit for all of a command's requests to the server, retries included (Go duration, e.g. 30s, 2m)", validate: func(v string) (string, error) {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return "", fmt.Errorf("invalid timeout %q: want a positive duration like 30s or 2m", v)
		}
		return v, nil
	}},
}

// CurrentProfileKey is the top-level key naming the current profile.
const CurrentProfileKey = "current_profile"

// ValidProfileName checks a profile name: 1-64 of a-z, 0-9, '-' and '_',
// starting with a letter or digit. Names are lower case because the viper
// that wrote earlier files folded keys to lower case. (A loop, not a regexp: compiling one at init would
// tax every start-up, `tokenctl version` included.)
func ValidProfileName(name string) error {
	ok := len(name) > 0 && len(name) <= 64
	for i := 0; ok && i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case (c == '-' || c == '_') && i > 0:
		default:
			ok = false
		}
	}
	if !ok {
		return fmt.Errorf("%w %q: use lower-case letters, digits, '-' and '_' (up to 64)", ErrInvalidProfile, name)
	}
	return nil
}

// ErrInvalidProfile marks a bad profile name, from a flag, the
// environment or the file.
var ErrInvalidProfile = errors.New("invalid profile name")

// Flags are the values given on the command line, by setting: "profile"
// and any key of Keys ("host", "timeout"). An absent or empty value was not
// given.
type Flags map[string]string

// Config is the loaded config file plus the selected profile.
type Config struct {
	path    string
	getenv  func(string) string
	flags   Flags
	doc     document // the file's content only, never env or flags
	profile string
}

// document is config.yaml. Keys tokenctl does not know are kept as they
// are, so a newer tokenctl's settings survive an older one's write.
type document struct {
	CurrentProfile string                       `yaml:"current_profile,omitempty"`
	Profiles       map[string]map[string]string `yaml:"profiles,omitempty"`
	Other          map[string]any               `yaml:",inline"`
}

// Load reads the config file in dir (a missing file is an empty config) and
// selects a profile: flags["profile"], else TOKENCTL_PROFILE, else
// current_profile, else "default".
func Load(dir string, getenv func(string) string, flags Flags) (*Config, error) {
	c := &Config{path: filepath.Join(dir, "config.yaml"), getenv: getenv, flags: flags}
	data, err := os.ReadFile(c.path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("read config: %w", err)
	default:
		if err := yaml.Unmarshal(data, &c.doc); err != nil {
			return nil, fmt.Errorf("config file %s is not valid YAML: fix or delete it (%s)", c.path, text.OneLine(err.Error()))
		}
	}
	c.doc.fold()
	switch {
	case flags["profile"] != "":
		c.profile = flags["profile"]
	case getenv("TOKENCTL_PROFILE") != "":
		c.profile = getenv("TOKENCTL_PROFILE")
	case c.doc.CurrentProfile != "":
		c.profile = c.doc.CurrentProfile
	default:
		c.profile = DefaultProfile
	}
	if err := ValidProfileName(c.profile); err != nil {
		return nil, err
	}
	return c, nil
}

// Path is the config file's path.
func (c *Config) Path() string { return c.path }

// Profile is the selected profile's name.
func (c *Config) Profile() string { return c.profile }

// CurrentProfile is the profile named in the file (or "default").
func (c *Config) CurrentProfile() string {
	if p := c.doc.CurrentProfile; p != "" {
		return p
	}
	return DefaultProfile
}

// Profiles lists the profile names in the file, sorted.
func (c *Config) Profiles() []string {
	names := make([]string, 0, len(c.doc.Profiles))
	for name := range c.doc.Profiles {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// Value is a setting's effective value and where it came from.
type Value struct {
	Key, Value string
	Source     string // "flag --x", "env TOKENCTL_X", "file", "default" or ""
}

// Get returns key's effective value for the selected profile: flag over
// environment over file over default.
func (c *Config) Get(key string) (Value, error) {
	k, err := lookupKey(key)
	if err != nil {
		return Value{}, err
	}
	if v := c.flags[k.Name]; v != "" {
		return Value{Key: k.Name, Value: v, Source: "flag --" + strings.ReplaceAll(k.Name, "_", "-")}, nil
	}
	env := "TOKENCTL_" + strings.ToUpper(k.Name)
	if v := c.getenv(env); v != "" {
		return Value{Key: k.Name, Value: v, Source: "env " + env}, nil
	}
	if v := c.FileValue(k.Name); v != "" {
		return Value{Key: k.Name, Value: v, Source: "file"}, nil
	}
	if k.Default != "" {
		return Value{Key: k.Name, Value: k.Default, Source: "default"}, nil
	}
	return Value{Key: k.Name}, nil
}

// FileValue is key's value in the selected profile of the file, or "".
func (c *Config) FileValue(key string) string {
	return c.doc.Profiles[c.profile][strings.ToLower(key)]
}

// List returns every key's effective value for the selected profile.
func (c *Config) List() []Value {
	out := make([]Value, 0, len(Keys))
	for _, k := range Keys {
		v, _ := c.Get(k.Name)
		out = append(out, v)
	}
	return out
}

// Set validates value, stores it under key in the selected profile and
// writes the file. current_profile is accepted too (same as Use).
func (c *Config) Set(key, value string) error {
	if key == CurrentProfileKey {
		return c.Use(value)
	}
	k, err := lookupKey(key)
	if err != nil {
		return err
	}
	norm, err := k.validate(value)
	if err != nil {
		return err
	}
	c.profileMap(c.profile)[k.Name] = norm
	return c.write()
}

// Unset removes key from the selected profile and writes the file.
func (c *Config) Unset(key string) error {
	k, err := lookupKey(key)
	if err != nil {
		return err
	}
	delete(c.doc.Profiles[c.profile], k.Name)
	return c.write()
}

// Use makes name the current profile (creating it empty if needed) and
// selects it.
func (c *Config) Use(name string) error {
	if err := ValidProfileName(name); err != nil {
		return err
	}
	c.doc.CurrentProfile = name
	c.profileMap(name)
	c.profile = name
	return c.write()
}

// SetHostIfEmpty records host in the selected profile when it has none, so
// the first `auth login --host URL` is remembered. It reports whether it did.
func (c *Config) SetHostIfEmpty(host string) (bool, error) {
	if c.FileValue("host") != "" {
		return false, nil
	}
	if _, err := os.Stat(c.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return false, err
	}
	if err := c.Set("host", host); err != nil {
		return false, err
	}
	return true, nil
}

// profileMap is the named profile's settings, created empty if needed.
func (c *Config) profileMap(name string) map[string]string {
	if c.doc.Profiles == nil {
		c.doc.Profiles = map[string]map[string]string{}
	}
	if c.doc.Profiles[name] == nil {
		c.doc.Profiles[name] = map[string]string{}
	}
	return c.doc.Profiles[name]
}

// write replaces the file with the document as it is in memory, which is
// then what the file holds: nothing is read back.
func (c *Config) write() error {
	data, err := yaml.Marshal(&c.doc)
	if err != nil {
		return fmt.Errorf("encode config: %w", err)
	}
	return atomicfile.Write(c.path, data, 0o600)
}

// fold lower-cases profile names and keys, as viper (which wrote and read
// this file before) did, so a hand-edited "Host:" still counts.
func (d *document) fold() {
	d.CurrentProfile = strings.ToLower(d.CurrentProfile)
	if len(d.Profiles) == 0 {
		return
	}
	folded := make(map[string]map[string]string, len(d.Profiles))
	for name, p := range d.Profiles {
		m := folded[strings.ToLower(name)]
		if m == nil {
			m = map[string]string{}
			folded[strings.ToLower(name)] = m
		}
		for k, v := range p {
			m[strings.ToLower(k)] = v
		}
	}
	d.Profiles = folded
}

func lookupKey(key string) (Key, error) {
	key = strings.ToLower(strings.TrimSpace(key))
	for _, k := range Keys {
		if k.Name == key {
			return k, nil
		}
	}
	for _, bad := range []string{"token", "password", "passwd", "secret", "credential", "key"} {
		if strings.Contains(key, bad) {
			return Key{}, fmt.Errorf("refusing config key %q: the config file never holds secrets; use `tokenctl auth login` to store a credential in the keyring", key)
		}
	}
	names := make([]string, 0, len(Keys)+1)
	for _, k := range Keys {
		names = append(names, k.Name)
	}
	names = append(names, CurrentProfileKey)
	return Key{}, fmt.Errorf("unknown config key %q: known keys are %s", key, strings.Join(names, ", "))
}
