// Package docgen generates what ships beside the binaries from the cobra
// command trees: man pages (docs/man), the markdown command reference
// (docs/reference) and shell completions (completions/). `make generate`
// writes them; docgen_test fails when the committed copies are stale.
package docgen

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"
)

// manDate is fixed so that regenerating gives the same bytes on any day;
// a date that changed daily would make the staleness test fail daily.
var manDate = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

// Files returns every generated file, keyed by its path relative to the
// repository root.
func Files(trees ...*cobra.Command) (map[string][]byte, error) {
	files := map[string][]byte{}
	tmp, err := os.MkdirTemp("", "docgen")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	for _, root := range trees {
		disableAutoGenTag(root)
		name := root.Name()
		manDir := filepath.Join(tmp, name, "man")
		mdDir := filepath.Join(tmp, name, "md")
		for _, d := range []string{manDir, mdDir} {
			if err := os.MkdirAll(d, 0o755); err != nil {
				return nil, err
			}
		}
		header := &doc.GenManHeader{Title: strings.ToUpper(name), Section: "1", Source: name, Manual: name + " manual", Date: &manDate}
		if err := doc.GenManTree(root, header, manDir); err != nil {
			return nil, fmt.Errorf("man pages for %s: %w", name, err)
		}
		if err := doc.GenMarkdownTree(root, mdDir); err != nil {
			return nil, fmt.Errorf("markdown for %s: %w", name, err)
		}
		if err := collect(files, manDir, "docs/man"); err != nil {
			return nil, err
		}
		if err := collect(files, mdDir, "docs/reference"); err != nil {
			return nil, err
		}
	}
	// Completions are for tokenctl, the first tree: people type it, and the
	// scripts must equal what `tokenctl completion SHELL` prints.
	root := trees[0]
	var b bytes.Buffer
	gens := []struct {
		file string
		gen  func() error
	}{
		{"completions/tokenctl.bash", func() error { return root.GenBashCompletionV2(&b, true) }},
		{"completions/_tokenctl", func() error { return root.GenZshCompletion(&b) }},
		{"completions/tokenctl.fish", func() error { return root.GenFishCompletion(&b, true) }},
		{"completions/tokenctl.ps1", func() error { return root.GenPowerShellCompletionWithDesc(&b) }},
	}
	for _, g := range gens {
		b.Reset()
		if err := g.gen(); err != nil {
			return nil, fmt.Errorf("%s: %w", g.file, err)
		}
		files[g.file] = bytes.Clone(b.Bytes())
	}
	return files, nil
}

// Write writes Files into the repository at repoDir and removes generated
// files that no longer correspond to a command.
func Write(repoDir string, files map[string][]byte) error {
	for _, dir := range []string{"docs/man", "docs/reference", "completions"} {
		old, _ := filepath.Glob(filepath.Join(repoDir, dir, "*"))
		for _, p := range old {
			rel, _ := filepath.Rel(repoDir, p)
			if _, keep := files[filepath.ToSlash(rel)]; !keep && isGenerated(rel) {
				if err := os.Remove(p); err != nil {
					return err
				}
			}
		}
	}
	for rel, data := range files {
		p := filepath.Join(repoDir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// isGenerated spares hand-written files that may sit in the same folders.
func isGenerated(rel string) bool {
	base := filepath.Base(rel)
	return strings.HasSuffix(base, ".1") || strings.HasSuffix(base, ".md") && strings.HasPrefix(base, "tok") ||
		strings.HasPrefix(filepath.ToSlash(rel), "completions/")
}

func collect(files map[string][]byte, dir, dest string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return err
		}
		files[dest+"/"+e.Name()] = data
	}
	return nil
}

func disableAutoGenTag(c *cobra.Command) {
	c.DisableAutoGenTag = true
	for _, sub := range c.Commands() {
		disableAutoGenTag(sub)
	}
}
