package browsertest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestWithoutChromiumOrNPM runs this test binary again with an empty PATH
// in a module with no node_modules: a developer's run skips the browser
// and accessibility tests, CI's (CI=true) fails them, saying what to
// install.
func TestWithoutChromiumOrNPM(t *testing.T) {
	switch os.Getenv("BROWSERTEST_CHILD") {
	case "chromium":
		Chromium(t)
		return
	case "axe":
		axeSource(t)
		return
	}
	module := t.TempDir()
	if err := os.WriteFile(filepath.Join(module, "go.mod"), []byte("module example.com/m\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		child, ci, want string
	}{
		{"chromium", "", "--- SKIP: TestWithoutChromiumOrNPM"},
		{"chromium", "true", "--- FAIL: TestWithoutChromiumOrNPM"},
		{"axe", "", "--- SKIP: TestWithoutChromiumOrNPM"},
		{"axe", "true", "--- FAIL: TestWithoutChromiumOrNPM"},
	} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestWithoutChromiumOrNPM$", "-test.v")
		cmd.Dir = module
		cmd.Env = []string{"PATH=" + t.TempDir(), "BROWSERTEST_CHILD=" + c.child, "CI=" + c.ci, "HOME=" + module}
		out, _ := cmd.CombinedOutput()
		install := map[string]string{"chromium": "apt-get install chromium", "axe": "apt-get install nodejs npm"}[c.child]
		if !strings.Contains(string(out), c.want) || !strings.Contains(string(out), install) {
			t.Errorf("without %s, CI=%q: want %q and the hint %q; got\n%s", c.child, c.ci, c.want, install, out)
		}
	}
	if _, err := os.Stat(filepath.Join(module, "internal")); err == nil {
		t.Errorf("the runs without npm created files in the module")
	}
}
