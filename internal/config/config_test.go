package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func load(t *testing.T, dir string, vars map[string]string, profile string) *Config {
	t.Helper()
	c, err := Load(dir, env(vars), Flags{"profile": profile})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestMissingFileIsEmptyConfigWithDefaults(t *testing.T) {
	c := load(t, t.TempDir(), nil, "")
	if c.Profile() != DefaultProfile {
		t.Errorf("profile = %q", c.Profile())
	}
	got := map[string]string{}
	for _, v := range c.List() {
		got[v.Key] = v.Value
	}
	if got["host"] != "" || got["expiry_warning"] != "7d" || got["timeout"] != "30s" {
		t.Errorf("defaults = %v", got)
	}
}

func TestProfileSelection(t *testing.T) {
	dir := t.TempDir()
	c := load(t, dir, nil, "")
	if err := c.Set("host", "https://prod.example"); err != nil {
		t.Fatal(err)
	}
	if err := c.Use("staging"); err != nil {
		t.Fatal(err)
	}
	if err := c.Set("host", "https://staging.example"); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		vars     map[string]string
		flag     string
		wantProf string
		wantHost string
	}{
		{"current_profile from the file", nil, "", "staging", "https://staging.example"},
		{"TOKENCTL_PROFILE beats the file", map[string]string{"TOKENCTL_PROFILE": "default"}, "", "default", "https://prod.example"},
		{"--profile beats TOKENCTL_PROFILE", map[string]string{"TOKENCTL_PROFILE": "staging"}, "default", "default", "https://prod.example"},
		{"TOKENCTL_HOST beats the profile's host", map[string]string{"TOKENCTL_HOST": "https://env.example"}, "", "staging", "https://env.example"},
		{"unknown profile has no host", nil, "fresh", "fresh", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := load(t, dir, tt.vars, tt.flag)
			v, err := c.Get("host")
			if err != nil {
				t.Fatal(err)
			}
			if c.Profile() != tt.wantProf || v.Value != tt.wantHost {
				t.Errorf("profile %q host %q, want %q %q", c.Profile(), v.Value, tt.wantProf, tt.wantHost)
			}
		})
	}
}

func TestSetValidatesAndNormalises(t *testing.T) {
	tests := []struct {
		key, value string
		want       string // stored value, "" when refused
		errHas     string
	}{
		{"host", "localhost:8080", "http://localhost:8080", ""},
		{"host", "tokens.example.com/", "https://tokens.example.com", ""},
		{"host", "http://tokens.example.com", "", "refusing plain http"},
		{"expiry_warning", "14d", "14d", ""},
		{"expiry_warning", "0", "0", ""},
		{"expiry_warning", "soon", "", "invalid"},
		{"timeout", "2m", "2m", ""},
		{"timeout", "-1s", "", "invalid timeout"},
		{"HOST", "localhost", "http://localhost", ""},
		{"colour", "blue", "", "unknown config key"},
		{"token", "tkn_x", "", "never holds secrets"},
		{"password", "pw", "", "never holds secrets"},
		{"api_secret", "x", "", "never holds secrets"},
	}
	for _, tt := range tests {
		t.Run(tt.key+"="+tt.value, func(t *testing.T) {
			c := load(t, t.TempDir(), nil, "")
			err := c.Set(tt.key, tt.value)
			if tt.errHas != "" {
				if err == nil || !strings.Contains(err.Error(), tt.errHas) {
					t.Fatalf("err = %v, want one containing %q", err, tt.errHas)
				}
				if _, statErr := os.Stat(c.Path()); !os.IsNotExist(statErr) {
					t.Error("a refused value still wrote the file")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := c.FileValue(strings.ToLower(tt.key)); got != tt.want {
				t.Errorf("stored %q, want %q", got, tt.want)
			}
		})
	}
}

func TestSetSurvivesReload(t *testing.T) {
	dir := t.TempDir()
	c := load(t, dir, nil, "ci")
	if err := c.Set("expiry_warning", "3d"); err != nil {
		t.Fatal(err)
	}
	if err := c.Set("host", "https://ci.example"); err != nil {
		t.Fatal(err)
	}
	c2 := load(t, dir, nil, "ci")
	if v, _ := c2.Get("expiry_warning"); v.Value != "3d" || v.Source != "file" {
		t.Errorf("expiry_warning = %+v", v)
	}
	if err := c2.Unset("expiry_warning"); err != nil {
		t.Fatal(err)
	}
	c3 := load(t, dir, nil, "ci")
	if v, _ := c3.Get("expiry_warning"); v.Value != "7d" || v.Source != "default" {
		t.Errorf("after unset expiry_warning = %+v", v)
	}
	if v, _ := c3.Get("host"); v.Value != "https://ci.example" {
		t.Errorf("unset took the host with it: %+v", v)
	}
	if got := c3.Profiles(); strings.Join(got, ",") != "ci" {
		t.Errorf("profiles = %v", got)
	}
	fi, _ := os.Stat(filepath.Join(dir, "config.yaml"))
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("config mode %v", fi.Mode().Perm())
	}
}

func TestSetHostIfEmpty(t *testing.T) {
	c := load(t, t.TempDir(), nil, "")
	if did, err := c.SetHostIfEmpty("http://127.0.0.1:1"); err != nil || !did {
		t.Fatalf("first: %v %v", did, err)
	}
	if did, err := c.SetHostIfEmpty("http://127.0.0.1:2"); err != nil || did {
		t.Fatalf("second overwrote: %v %v", did, err)
	}
	if got := c.FileValue("host"); got != "http://127.0.0.1:1" {
		t.Errorf("host = %q", got)
	}
}

func TestBadInputs(t *testing.T) {
	dir := t.TempDir()
	if _, err := Load(dir, env(nil), Flags{"profile": "Bad Name"}); err == nil || !strings.Contains(err.Error(), "invalid profile name") {
		t.Errorf("bad profile name: err = %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "config.yaml"), []byte("profiles: [unclosed"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Load(dir, env(nil), nil)
	if err == nil || !strings.Contains(err.Error(), "not valid YAML") || strings.Contains(err.Error(), "\n") {
		t.Errorf("corrupt file: err = %v", err)
	}
}

func TestDir(t *testing.T) {
	if got := Dir(env(map[string]string{"XDG_CONFIG_HOME": "/x/cfg", "HOME": "/home/a"})); got != "/x/cfg/tokenctl" {
		t.Errorf("with XDG: %s", got)
	}
	if got := Dir(env(map[string]string{"XDG_CONFIG_HOME": "relative", "HOME": "/home/a"})); got != "/home/a/.config/tokenctl" {
		t.Errorf("relative XDG must be ignored: %s", got)
	}
}

func TestValidProfileName(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
	}{
		{"default", true}, {"ci-2", true}, {"a_b", true}, {"0", true}, {strings.Repeat("a", 64), true},
		{"", false}, {"-x", false}, {"_x", false}, {"Work", false}, {"a b", false}, {"a.b", false}, {strings.Repeat("a", 65), false},
	}
	for _, tt := range tests {
		if err := ValidProfileName(tt.name); (err == nil) != tt.ok {
			t.Errorf("ValidProfileName(%q) = %v, want ok %v", tt.name, err, tt.ok)
		}
	}
}

// One precedence for every setting, flags included: flag over environment
// over the profile over the default, and the source is named.
func TestPrecedenceIncludesFlags(t *testing.T) {
	dir := t.TempDir()
	c := load(t, dir, nil, "")
	if err := c.Set("timeout", "45s"); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		vars       map[string]string
		flags      Flags
		want, from string
	}{
		{"default", nil, nil, "30s", "default"},
		{"file", nil, nil, "45s", "file"},
		{"environment over file", map[string]string{"TOKENCTL_TIMEOUT": "1m"}, nil, "1m", "env TOKENCTL_TIMEOUT"},
		{"flag over environment", map[string]string{"TOKENCTL_TIMEOUT": "1m"}, Flags{"timeout": "2s"}, "2s", "flag --timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := dir
			if tt.name == "default" {
				d = t.TempDir()
			}
			c, err := Load(d, env(tt.vars), tt.flags)
			if err != nil {
				t.Fatal(err)
			}
			v, _ := c.Get("timeout")
			if v.Value != tt.want || v.Source != tt.from {
				t.Errorf("timeout = %q from %q, want %q from %q", v.Value, v.Source, tt.want, tt.from)
			}
		})
	}
}

// The file is read and written one way (yaml.v3): what a person or an
// older tokenctl wrote reads the same, unknown keys survive a write, and
// Unset removes the key from the file itself.
func TestFileRoundTrip(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config.yaml")
	hand := "# mine\ncurrent_profile: Prod\nfuture_setting: {a: 1}\nprofiles:\n  PROD:\n    Host: https://prod.example\n    expiry_warning: 0\n    timeout: 45s\n    later_key: kept\n  empty:\n"
	if err := os.WriteFile(path, []byte(hand), 0o600); err != nil {
		t.Fatal(err)
	}
	c := load(t, dir, nil, "")
	if c.Profile() != "prod" || c.FileValue("host") != "https://prod.example" || c.FileValue("expiry_warning") != "0" {
		t.Fatalf("profile %q host %q expiry_warning %q", c.Profile(), c.FileValue("host"), c.FileValue("expiry_warning"))
	}
	if got := strings.Join(c.Profiles(), ","); got != "empty,prod" {
		t.Errorf("profiles %q", got)
	}
	if err := c.Unset("timeout"); err != nil {
		t.Fatal(err)
	}
	if err := c.Set("timeout", "1m"); err != nil {
		t.Fatal(err)
	}
	if err := c.Unset("timeout"); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"future_setting:", "later_key: kept", "host: https://prod.example", "current_profile: prod"} {
		if !strings.Contains(string(data), want) {
			t.Errorf("file lacks %q:\n%s", want, data)
		}
	}
	if strings.Contains(string(data), "timeout") {
		t.Errorf("unset timeout is still in the file:\n%s", data)
	}
	// What is in memory after a write is what a fresh load reads.
	fresh := load(t, dir, nil, "")
	if fresh.FileValue("host") != c.FileValue("host") || fresh.FileValue("timeout") != "" || fresh.CurrentProfile() != "prod" {
		t.Errorf("reloaded: host %q timeout %q current %q", fresh.FileValue("host"), fresh.FileValue("timeout"), fresh.CurrentProfile())
	}
}
