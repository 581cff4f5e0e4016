package browsertest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/chromedp"
)

// Violation is one axe-core rule a page breaks, with the elements that
// break it.
type Violation struct {
	ID      string `json:"id"`
	Impact  string `json:"impact"` // minor, moderate, serious or critical
	Help    string `json:"help"`
	HelpURL string `json:"helpUrl"`
	Nodes   []struct {
		Target  []string `json:"target"`  // CSS selectors, outermost first
		HTML    string   `json:"html"`    // the element's opening tag and some content
		Summary string   `json:"summary"` // axe's "Fix any of the following: ..."
	} `json:"nodes"`
}

// Serious reports whether v blocks a release: axe's serious and critical.
func (v Violation) Serious() bool { return v.Impact == "serious" || v.Impact == "critical" }

// FormatViolations is the failure message for vs: per rule its id, impact,
// help and link, then each offending element with what to fix.
func FormatViolations(vs []Violation) string {
	var b strings.Builder
	for _, v := range vs {
		fmt.Fprintf(&b, "  %s (%s): %s\n    %s\n", v.ID, v.Impact, v.Help, v.HelpURL)
		for _, n := range v.Nodes {
			html := n.HTML
			if len(html) > 200 {
				html = html[:200] + "…"
			}
			fmt.Fprintf(&b, "    at %s: %s\n", strings.Join(n.Target, " "), html)
			for _, line := range strings.Split(strings.TrimSpace(n.Summary), "\n") {
				fmt.Fprintf(&b, "      %s\n", strings.TrimSpace(line))
			}
		}
	}
	return b.String()
}

// axeRun runs every rule axe enables by default (WCAG 2.x A and AA, and
// best practices) on the whole document and returns the violations.
const axeRun = `axe.run(document, {resultTypes: ['violations']}).then(r => r.violations.map(v => ({
	id: v.id, impact: v.impact || '', help: v.help, helpUrl: v.helpUrl,
	nodes: v.nodes.map(n => ({target: n.target.map(String), html: n.html, summary: n.failureSummary || ''}))
})))`

// Axe checks the tab's current page with axe-core and returns the
// violations of impact serious or critical.
//
// axe is evaluated through the DevTools protocol (Runtime.evaluate), which
// the page's Content-Security-Policy does not govern: tokend's pages allow
// no script at all (websession.CSP), and the check still runs, with the
// page's CSP left in force for everything else.
func Axe(t testing.TB, ctx context.Context) ([]Violation, error) {
	t.Helper()
	src := axeSource(t)
	loaded, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`typeof window.axe === "object"`))
	if err != nil {
		return nil, fmt.Errorf("look for axe: %w", err)
	}
	if !loaded {
		if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](src)); err != nil {
			return nil, fmt.Errorf("inject axe-core: %w", err)
		}
	}
	all, err := chromedp.Run(ctx, chromedp.Evaluate[[]Violation](axeRun, chromedp.EvalAwaitPromise))
	if err != nil {
		return nil, fmt.Errorf("run axe-core: %w", err)
	}
	var serious []Violation
	for _, v := range all {
		if v.Serious() {
			serious = append(serious, v)
		}
	}
	return serious, nil
}

// The pinned axe-core, read once per test binary.
var axe struct {
	once sync.Once
	src  string
	err  error
	// missing: npm is not installed, so axe-core cannot be
	missing bool
	// offline: npm is there but npm ci failed (no registry, say)
	offline bool
}

// axeSource returns axe.min.js, installing the pinned axe-core with npm ci
// first when node_modules is missing (a fresh checkout). Without npm it
// skips t, or fails it with CI=true.
func axeSource(t testing.TB) string {
	t.Helper()
	axe.once.Do(func() {
		dir, err := AxeDir()
		if err != nil {
			axe.err = err
			return
		}
		file := filepath.Join(dir, "node_modules", "axe-core", "axe.min.js")
		if _, err := os.Stat(file); errors.Is(err, os.ErrNotExist) {
			if _, err := exec.LookPath("npm"); err != nil {
				axe.missing = true
				return
			}
			if err := npmCI(dir); err != nil {
				axe.err, axe.offline = err, true
				return
			}
		}
		b, err := os.ReadFile(file)
		axe.src, axe.err = string(b), err
	})
	switch {
	case axe.missing && os.Getenv("CI") == "true":
		t.Fatal("browsertest: npm is not installed, so axe-core cannot be (apt-get install nodejs npm); CI must run the accessibility checks")
	case axe.missing:
		t.Skip("browsertest: npm is not installed (apt-get install nodejs npm); the accessibility checks need axe-core from it")
	case axe.offline && os.Getenv("CI") != "true":
		// A developer's machine without the npm registry skips, as one
		// without npm does; CI must reach it.
		t.Skipf("browsertest: could not install axe-core (is the npm registry reachable?): %v", axe.err)
	case axe.err != nil:
		t.Fatalf("browsertest: axe-core: %v", axe.err)
	}
	return axe.src
}

// AxeDir is the directory of the package.json and package-lock.json that
// pin axe-core: internal/browsertest/axe in the module's source tree,
// found from the test's working directory (its package's directory).
func AxeDir() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "internal", "browsertest", "axe"), nil
		}
		up := filepath.Dir(dir)
		if up == dir {
			return "", errors.New("no go.mod above the test's directory, so no internal/browsertest/axe")
		}
		dir = up
	}
}

// npmCI installs the locked axe-core into dir/node_modules. Test binaries
// of several packages may do it at once (go test runs packages in
// parallel), so each installs into a directory of its own and renames it
// into place; the first rename wins and the others use its result.
func npmCI(dir string) error {
	tmp, err := os.MkdirTemp(dir, ".install-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	for _, f := range []string{"package.json", "package-lock.json"} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(tmp, f), b, 0o644); err != nil {
			return err
		}
	}
	cmd := exec.Command("npm", "ci", "--no-audit", "--no-fund")
	cmd.Dir = tmp
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("npm ci in %s: %v\n%s", dir, err, out)
	}
	err = os.Rename(filepath.Join(tmp, "node_modules"), filepath.Join(dir, "node_modules"))
	if err != nil {
		if _, statErr := os.Stat(filepath.Join(dir, "node_modules", "axe-core", "axe.min.js")); statErr == nil {
			return nil // another test binary installed it first
		}
		return fmt.Errorf("install axe-core: %w", err)
	}
	return nil
}
