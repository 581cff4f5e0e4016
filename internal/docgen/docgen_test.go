package docgen

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/tokenctl/tokenctl/internal/cli/root"
	"github.com/tokenctl/tokenctl/internal/iostreams"
)

const repo = "../.."

// TestGeneratedFilesAreFresh fails when a command, flag or help text changed
// without `make generate`.
func TestGeneratedFilesAreFresh(t *testing.T) {
	files, err := Files(Trees()...)
	if err != nil {
		t.Fatal(err)
	}
	var stale []string
	for rel, want := range files {
		got, err := os.ReadFile(filepath.Join(repo, rel))
		if err != nil || !bytes.Equal(got, want) {
			stale = append(stale, rel)
		}
	}
	for _, dir := range []string{"docs/man", "docs/reference", "completions"} {
		paths, _ := filepath.Glob(filepath.Join(repo, dir, "*"))
		for _, p := range paths {
			rel, _ := filepath.Rel(repo, p)
			rel = filepath.ToSlash(rel)
			if _, ok := files[rel]; !ok && isGenerated(rel) {
				stale = append(stale, rel+" (no longer generated)")
			}
		}
	}
	sort.Strings(stale)
	if len(stale) > 0 {
		t.Fatalf("generated files are stale; run `make generate`:\n  %s", strings.Join(stale, "\n  "))
	}
}

func TestEveryCommandHasAManPageAndHelp(t *testing.T) {
	files, err := Files(Trees()...)
	if err != nil {
		t.Fatal(err)
	}
	for _, tree := range Trees() {
		for _, c := range allCommands(tree) {
			page := "docs/man/" + strings.ReplaceAll(c.CommandPath(), " ", "-") + ".1"
			if _, ok := files[page]; !ok {
				t.Errorf("%s: no man page %s", c.CommandPath(), page)
			}
			if c.Short == "" || c.Long == "" {
				t.Errorf("%s: needs both a one-line Short and a Long description", c.CommandPath())
			}
			if c.Runnable() && c.HasParent() && c.Example == "" && c.Name() != "help" && !strings.HasPrefix(c.CommandPath(), tree.Name()+" completion ") {
				t.Errorf("%s: needs an Example", c.CommandPath())
			}
		}
	}
	if _, ok := files["docs/reference/tokenctl_token_delete.md"]; !ok {
		t.Error("no markdown reference for `tokenctl token delete`")
	}
}

// TestCompletionScriptsParse runs the shells' own syntax checks where the
// shells are installed (bash always is; zsh when present, required in CI).
func TestCompletionScriptsParse(t *testing.T) {
	for _, c := range []struct{ shell, file string }{{"bash", "tokenctl.bash"}, {"zsh", "_tokenctl"}} {
		path, err := exec.LookPath(c.shell)
		if err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s is not installed; CI must install it to check completions/%s", c.shell, c.file)
			}
			t.Logf("skipping %s syntax check: %s not installed", c.file, c.shell)
			continue
		}
		out, err := exec.Command(path, "-n", filepath.Join(repo, "completions", c.file)).CombinedOutput()
		if err != nil {
			t.Errorf("%s -n completions/%s: %v\n%s", c.shell, c.file, err, out)
		}
	}
}

// TestCompletionFilesEqualTheCommand runs the real `tokenctl completion
// SHELL` and compares its output with what completions/ ships.
func TestCompletionFilesEqualTheCommand(t *testing.T) {
	for shell, file := range map[string]string{"bash": "tokenctl.bash", "zsh": "_tokenctl", "fish": "tokenctl.fish", "powershell": "tokenctl.ps1"} {
		ios, _, out, errOut := iostreams.Test()
		if code := root.Run(context.Background(), []string{"completion", shell}, ios, func(string) string { return "" }); code != 0 {
			t.Fatalf("tokenctl completion %s: exit %d: %s", shell, code, errOut)
		}
		want, err := os.ReadFile(filepath.Join(repo, "completions", file))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(out.Bytes(), want) {
			t.Errorf("completions/%s differs from `tokenctl completion %s`; run `make generate`", file, shell)
		}
	}
}
