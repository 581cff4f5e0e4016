// Package browsertest drives Debian's Chromium headless (chromedp) for the
// tests of tokend's web pages: one Chromium per test binary, a fresh tab
// with its own cookies per test, axe-core's accessibility check (Axe) and
// screenshots in both colour schemes at a desktop and a phone width
// (Screenshots, Check).
//
// A package that uses it starts its tests through Main, which stops the
// browser when the tests are done:
//
//	func TestMain(m *testing.M) { os.Exit(browsertest.Main(m)) }
//
// (testscript.Main takes browsertest.M(m) instead of m.)
//
// Without chromium the tests skip, and without npm (to install axe-core)
// the accessibility checks skip; with CI=true both fail instead: CI must
// install them (.ci/run does).
package browsertest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Chromium returns the path of Debian's Chromium, skipping the test without
// it (and failing it with CI=true, where it must be installed).
func Chromium(t testing.TB) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium is not installed (apt-get install chromium); CI must run the browser tests")
	}
	t.Skip("chromium is not installed; apt-get install chromium to run the browser tests")
	return ""
}

// The test binary's one browser, started by the first Tab.
var shared struct {
	mu      sync.Mutex
	managed bool // Main runs the tests, so the browser is stopped at the end
	ctx     context.Context
	stop    context.CancelFunc
	err     error
}

// M wraps m so that the browser stops when m.Run returns; for a TestMain
// that hands m to another runner (testscript.Main).
func M(m *testing.M) interface{ Run() int } {
	return mainRunner{m}
}

type mainRunner struct{ m *testing.M }

func (r mainRunner) Run() int { return Main(r.m) }

// Main runs the tests, then stops the browser if one was started.
func Main(m *testing.M) int {
	shared.mu.Lock()
	shared.managed = true
	shared.mu.Unlock()
	code := m.Run()
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.stop != nil {
		shared.stop() // waits for Chromium to exit and removes its profile
		shared.stop, shared.ctx = nil, nil
	}
	return code
}

// allocatorOptions are the flags Chromium needs here: headless on a
// machine with no display and no GPU, quiet (no update, sync or other
// traffic of its own, which would also slow a shared 2-core machine), and
// --no-sandbox as root (containers, CI), where Chromium refuses to start
// with its sandbox. Without a user-data-dir flag chromedp gives each
// browser a fresh temporary profile and removes it when the browser stops.
func allocatorOptions(exe string) []chromedp.ExecAllocatorOption {
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.Flag("headless", "new"),
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
	)
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox)
	}
	return opts
}

// browser returns the binary's browser, starting it on first use.
func browser(t *testing.T) context.Context {
	t.Helper()
	exe := Chromium(t)
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if !shared.managed {
		t.Fatal("browsertest: the package's TestMain must run the tests through browsertest.Main (or testscript.Main(browsertest.M(m), ...)), which stops Chromium at the end")
	}
	if shared.ctx == nil && shared.err == nil {
		// The browser outlives every test, so no test's context is its parent.
		alloc, stopAlloc := chromedp.NewExecAllocator(context.Background(), allocatorOptions(exe)...)
		ctx, stopBrowser := chromedp.NewContext(alloc)
		if err := chromedp.Do(ctx); err != nil {
			stopBrowser()
			stopAlloc()
			shared.err = fmt.Errorf("start %s: %w", exe, err)
		} else {
			shared.ctx = ctx
			shared.stop = func() { stopBrowser(); stopAlloc() }
		}
	}
	if shared.err != nil {
		t.Fatalf("browsertest: %v", shared.err)
	}
	return shared.ctx
}

// Timeout bounds all the actions of one tab, so a page that never loads
// fails its test instead of hanging the suite. It is not a measure of
// speed: a loaded 2-core machine stays far inside it.
const Timeout = 3 * time.Minute

// Tab opens a tab in the binary's Chromium, in a browser context of its
// own (no cookies or storage shared with other tests), light colour scheme
// and 1280 px wide; it closes when t ends.
func Tab(t *testing.T) context.Context {
	t.Helper()
	b := browser(t)
	tab, closeTab := chromedp.NewContext(b, chromedp.WithNewBrowserContext())
	ctx, cancel := context.WithTimeout(tab, Timeout)
	t.Cleanup(func() { cancel(); closeTab() })
	if err := chromedp.Do(ctx, SetScheme(Light), SetWidth(Desktop)); err != nil {
		t.Fatalf("browsertest: open a tab: %v", err)
	}
	return ctx
}

// Step fails t with what the test was doing when err is not nil.
func Step(t testing.TB, what string, err error) {
	t.Helper()
	if err == nil {
		return
	}
	if errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("browser: %s: no answer within %v", what, Timeout)
	}
	t.Fatalf("browser: %s: %v", what, err)
}
