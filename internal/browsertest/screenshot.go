package browsertest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// Scheme is a value of the prefers-color-scheme media feature.
type Scheme string

const (
	Light Scheme = "light"
	Dark  Scheme = "dark"
)

// Schemes and Widths are what Screenshots and Check go through.
var (
	Schemes = []Scheme{Light, Dark}
	Widths  = []int64{Desktop, Phone}
)

// Widths in CSS pixels: a laptop's window, and a phone held upright.
const (
	Desktop int64 = 1280
	Phone   int64 = 390
)

// ScreenshotDirEnv names the directory Screenshots writes to; without it
// the PNGs go to the test's temp dir (written, checked, then removed), so
// the code that writes them runs in every test run.
const ScreenshotDirEnv = "TOKENCTL_SCREENSHOT_DIR"

// SetScheme makes the tab's pages see prefers-color-scheme: s.
func SetScheme(s Scheme) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: string(s)}}})
		return err
	})
}

// SetWidth sizes the tab's viewport: a desktop window, or below 600 px a
// phone (mobile emulation, so the page's viewport meta tag counts as on a
// real phone).
func SetWidth(w int64) chromedp.Action[chromedp.Void] {
	if w < 600 {
		return chromedp.EmulateViewport(w, 844, chromedp.EmulateMobile, chromedp.EmulatePortrait)
	}
	return chromedp.EmulateViewport(w, 800)
}

// ScreenshotDir is where Screenshots writes: $TOKENCTL_SCREENSHOT_DIR, or
// t's temp dir.
func ScreenshotDir(t testing.TB) string {
	t.Helper()
	dir := os.Getenv(ScreenshotDirEnv)
	if dir == "" {
		return t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("browsertest: %s: %v", ScreenshotDirEnv, err)
	}
	return dir
}

// Screenshots captures the current page, full length, in both colour
// schemes at both widths, as NAME-SCHEME-WIDTH.png (say
// login-entry-dark-390.png) in ScreenshotDir, and returns the files'
// paths. It leaves the tab light and 1280 px wide.
func Screenshots(t testing.TB, ctx context.Context, name string) []string {
	t.Helper()
	var files []string
	eachView(t, ctx, func(s Scheme, w int64) {
		t.Helper()
		files = append(files, screenshot(t, ctx, name, s, w))
	})
	return files
}

// Check checks the current page in both colour schemes at both widths: no
// serious or critical accessibility violation (axe-core), nothing wider
// than the phone's screen, and a screenshot of each (see Screenshots).
// Each finding is a test error naming the page and the view; it returns
// the screenshots' paths.
func Check(t testing.TB, ctx context.Context, name string) []string {
	t.Helper()
	var files []string
	eachView(t, ctx, func(s Scheme, w int64) {
		t.Helper()
		view := fmt.Sprintf("%s (%s, %d px)", name, s, w)
		vs, err := Axe(t, ctx)
		Step(t, "axe on "+view, err)
		if len(vs) > 0 {
			t.Errorf("%s: %d serious or critical accessibility violations:\n%s", view, len(vs), FormatViolations(vs))
		}
		if msg := overflow(t, ctx, w); msg != "" {
			t.Errorf("%s: %s", view, msg)
		}
		files = append(files, screenshot(t, ctx, name, s, w))
	})
	return files
}

// eachView runs f with the tab in each scheme and width, then puts the tab
// back to light and 1280 px.
func eachView(t testing.TB, ctx context.Context, f func(Scheme, int64)) {
	t.Helper()
	for _, s := range Schemes {
		for _, w := range Widths {
			Step(t, fmt.Sprintf("switch to %s, %d px", s, w), chromedp.Do(ctx, SetScheme(s), SetWidth(w)))
			f(s, w)
		}
	}
	Step(t, "switch back to light, 1280 px", chromedp.Do(ctx, SetScheme(Light), SetWidth(Desktop)))
}

func screenshot(t testing.TB, ctx context.Context, name string, s Scheme, w int64) string {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	Step(t, fmt.Sprintf("screenshot %s (%s, %d px)", name, s, w), err)
	path := filepath.Join(ScreenshotDir(t), fmt.Sprintf("%s-%s-%d.png", fileName(name), s, w))
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatalf("browsertest: %v", err)
	}
	return path
}

// fileName keeps letters, digits and dashes of name, so a page's name
// cannot write outside the directory.
func fileName(name string) string {
	name = strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-':
			return r
		case r >= 'A' && r <= 'Z':
			return r + 'a' - 'A'
		}
		return '-'
	}, name)
	if name == "" {
		return "page"
	}
	return name
}

// overflow says what is wrong when the page is laid out wider than the
// viewport: at a phone's width that means reading sideways. (The layout
// viewport, clientWidth: a phone zooms out to show content that is too
// wide, so innerWidth would grow with it.)
func overflow(t testing.TB, ctx context.Context, w int64) string {
	t.Helper()
	type layout struct{ Inner, Content int64 }
	l, err := chromedp.Run(ctx, chromedp.Evaluate[layout](
		`({Inner: document.documentElement.clientWidth, Content: document.documentElement.scrollWidth})`))
	Step(t, "measure the layout", err)
	switch {
	case l.Inner != w:
		return fmt.Sprintf("laid out %d px wide on a %d px screen: the page needs <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">", l.Inner, w)
	case l.Content > l.Inner:
		return fmt.Sprintf("%d px of content on a %d px screen: the page scrolls sideways", l.Content, l.Inner)
	}
	return ""
}
