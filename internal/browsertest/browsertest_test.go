package browsertest_test

import (
	"bytes"
	"fmt"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/tokenctl/tokenctl/internal/browsertest"
	"github.com/tokenctl/tokenctl/internal/websession"
)

func TestMain(m *testing.M) { os.Exit(browsertest.Main(m)) }

const head = `<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>%s</title><link rel="stylesheet" href="/style.css"></head><body><main>`

// pages are served with tokend's security headers, the strict CSP among
// them, so the harness is tried against what the real pages send.
var pages = map[string]string{
	"/good": fmt.Sprintf(head, "Good") + `<h1>Fine</h1><p>Readable in both schemes.</p>
<form><label for="c">Code</label><input id="c" name="c"><button>Go</button></form></main></body></html>`,
	// No lang, no viewport meta, an image with no text, an input with no
	// label, grey on white; and an inline script that the CSP must block.
	"/bad": `<!doctype html><html><head><meta charset="utf-8"><title>Bad</title>
<link rel="stylesheet" href="/style.css"><script>document.title = "script ran"</script></head>
<body><main><h1>Bad</h1><img src="/style.css"><input name="q"><p class="faint">hard to read</p></main></body></html>`,
	"/wide": fmt.Sprintf(head, "Wide") + `<h1>Wide</h1><div class="wide">a table 600 px wide</div></main></body></html>`,
}

const style = `body { background: #fff; color: #111; margin: 0; }
@media (prefers-color-scheme: dark) { body { background: #000; color: #eee; } }
.faint { color: #ccc; }
.wide { width: 600px; }`

func serve(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(websession.Headers(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/style.css" {
			w.Header().Set("Content-Type", "text/css")
			w.Write([]byte(style))
			return
		}
		page, ok := pages[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte(page))
	})))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestAxeReportsViolationsDespiteTheCSP(t *testing.T) {
	base := serve(t)
	ctx := browsertest.Tab(t)
	browsertest.Step(t, "open /bad", chromedp.Do(ctx, chromedp.Navigate(base+"/bad")))
	title, err := chromedp.Run(ctx, chromedp.Title())
	browsertest.Step(t, "read the title", err)
	if title != "Bad" {
		t.Fatalf("title %q: the page's CSP did not block its inline script, so this test does not show axe runs under it", title)
	}
	vs, err := browsertest.Axe(t, ctx)
	browsertest.Step(t, "axe", err)
	var ids []string
	for _, v := range vs {
		if !v.Serious() {
			t.Errorf("Axe returned %s of impact %s", v.ID, v.Impact)
		}
		ids = append(ids, v.ID)
	}
	for _, want := range []string{"html-has-lang", "image-alt", "label", "color-contrast"} {
		if !slices.Contains(ids, want) {
			t.Errorf("axe did not report %s; it reported %v", want, ids)
		}
	}
	// The message names the rule, says what it wants, and shows the element.
	msg := browsertest.FormatViolations(vs)
	for _, want := range []string{"image-alt (critical): Images must have alternative text", "https://dequeuniversity.com/rules/axe/",
		`at img: <img src="/style.css">`, "color-contrast (serious)", `at p: <p class="faint">hard to read</p>`, "Fix any of the following"} {
		if !strings.Contains(msg, want) {
			t.Errorf("the failure message lacks %q:\n%s", want, msg)
		}
	}

	browsertest.Step(t, "open /good", chromedp.Do(ctx, chromedp.Navigate(base+"/good")))
	vs, err = browsertest.Axe(t, ctx)
	browsertest.Step(t, "axe", err)
	if len(vs) > 0 {
		t.Errorf("an accessible page has violations:\n%s", browsertest.FormatViolations(vs))
	}
}

func TestScreenshotsInBothSchemesAndWidths(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(browsertest.ScreenshotDirEnv, filepath.Join(dir, "shots"))
	base := serve(t)
	ctx := browsertest.Tab(t)
	browsertest.Step(t, "open /good", chromedp.Do(ctx, chromedp.Navigate(base+"/good")))
	files := browsertest.Screenshots(t, ctx, "Good page")
	var names []string
	for _, f := range files {
		names = append(names, filepath.Base(f))
		if filepath.Dir(f) != filepath.Join(dir, "shots") {
			t.Errorf("%s is not in $%s", f, browsertest.ScreenshotDirEnv)
		}
	}
	want := []string{"good-page-light-1280.png", "good-page-light-390.png", "good-page-dark-1280.png", "good-page-dark-390.png"}
	if !slices.Equal(names, want) {
		t.Fatalf("screenshots %v, want %v", names, want)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		width := 1280
		if strings.HasSuffix(f, "-390.png") {
			width = 390
		}
		if got := img.Bounds().Dx(); got != width {
			t.Errorf("%s is %d px wide", f, got)
		}
		// The page's background, from its colour scheme's CSS.
		r, g, bl, _ := img.At(img.Bounds().Dx()-1, img.Bounds().Dy()-1).RGBA()
		dark := strings.Contains(f, "-dark-")
		if got := r>>8 + g>>8 + bl>>8; dark != (got < 3*128) {
			t.Errorf("%s: background rgb(%d,%d,%d) is not the %s scheme's", f, r>>8, g>>8, bl>>8, map[bool]string{true: "dark", false: "light"}[dark])
		}
	}
	// Screenshots leaves the tab as it found it.
	w, err := chromedp.Run(ctx, chromedp.Evaluate[int](`window.innerWidth`))
	browsertest.Step(t, "read the width", err)
	darkNow, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`matchMedia("(prefers-color-scheme: dark)").matches`))
	browsertest.Step(t, "read the scheme", err)
	if w != 1280 || darkNow {
		t.Errorf("after Screenshots the tab is %d px wide, dark=%v", w, darkNow)
	}
}

// recorder keeps the errors Check reports instead of failing the test.
type recorder struct {
	testing.TB
	mu   sync.Mutex
	errs []string
}

func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

func TestCheckReportsEachViewsFindings(t *testing.T) {
	base := serve(t)
	ctx := browsertest.Tab(t)
	check := func(path string) []string {
		t.Helper()
		browsertest.Step(t, "open "+path, chromedp.Do(ctx, chromedp.Navigate(base+path)))
		rec := &recorder{TB: t}
		if files := browsertest.Check(rec, ctx, path[1:]); len(files) != 4 {
			t.Errorf("Check %s wrote %d screenshots", path, len(files))
		}
		return rec.errs
	}
	if errs := check("/good"); len(errs) > 0 {
		t.Errorf("Check reports an accessible page:\n%s", strings.Join(errs, "\n"))
	}

	errs := check("/wide")
	if len(errs) != 2 || !strings.HasPrefix(errs[0], "wide (light, 390 px): 600 px of content on a 390 px screen") ||
		!strings.HasPrefix(errs[1], "wide (dark, 390 px): 600 px of content on a 390 px screen") {
		t.Errorf("Check of a page wider than a phone reported:\n%s", strings.Join(errs, "\n"))
	}

	all := strings.Join(check("/bad"), "\n")
	for _, want := range []string{"bad (light, 1280 px): 4 serious or critical accessibility violations", "bad (dark, 390 px): ",
		"image-alt (critical)", "bad (light, 390 px): laid out 980 px wide on a 390 px screen"} {
		if !strings.Contains(all, want) {
			t.Errorf("Check of /bad does not report %q:\n%s", want, all)
		}
	}
}
