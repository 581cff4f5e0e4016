package configcmd_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tokenctl/tokenctl/internal/cli/root"
	"github.com/tokenctl/tokenctl/internal/iostreams"
)

func TestConfigCommands(t *testing.T) {
	home := t.TempDir()
	vars := map[string]string{"HOME": home, "XDG_CONFIG_HOME": filepath.Join(home, "cfg")}
	steps := []struct {
		args     []string
		wantCode int
		stdout   string
		stderr   string
	}{
		{[]string{"config", "get", "host"}, 0, "\n", ""},
		{[]string{"config", "set", "host", "127.0.0.1:8080"}, 0, "", ""},
		{[]string{"config", "get", "host"}, 0, "http://127.0.0.1:8080\n", ""},
		{[]string{"config", "get", "secret_key"}, 2, "", "never holds secrets"},
		{[]string{"config", "set", "timeout", "never"}, 2, "", "invalid timeout"},
		{[]string{"config", "set", "timeout", "45s"}, 0, "", ""},
		{[]string{"config", "use", "other"}, 0, "", "Current profile is now other"},
		{[]string{"config", "list"}, 0, "profile=other\nhost=\nexpiry_warning=7d\nca_file=\ntimeout=30s\n", ""},
		{[]string{"config", "list", "--profile", "default"}, 0, "profile=default\nhost=http://127.0.0.1:8080\nexpiry_warning=7d\nca_file=\ntimeout=45s\n", ""},
		{[]string{"config", "get", "current_profile"}, 0, "other\n", ""},
		{[]string{"config", "get"}, 2, "", "expected 1 argument, got 0: tokenctl config get KEY"},
		{[]string{"config", "list", "--profile", "UPPER"}, 2, "", "invalid profile name"},
	}
	for _, s := range steps {
		ios, _, out, errOut := iostreams.Test()
		code := root.Run(context.Background(), s.args, ios, func(k string) string { return vars[k] })
		if code != s.wantCode {
			t.Errorf("%v: exit %d, want %d (%s)", s.args, code, s.wantCode, errOut)
		}
		if s.stdout != "" && out.String() != s.stdout {
			t.Errorf("%v: stdout %q, want %q", s.args, out, s.stdout)
		}
		if !strings.Contains(errOut.String(), s.stderr) {
			t.Errorf("%v: stderr %q lacks %q", s.args, errOut, s.stderr)
		}
	}
}
