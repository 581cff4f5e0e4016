package e2e

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tokenctl/tokenctl/internal/browsertest"
	"github.com/tokenctl/tokenctl/internal/cli/root"
	"github.com/tokenctl/tokenctl/internal/iostreams"
	"github.com/tokenctl/tokenctl/internal/ssotest"
	"github.com/tokenctl/tokenctl/internal/tokend"
)

// TestBrowserSignIn is the whole tokenctl auth login --web flow with real
// parts: tokend serving a SQLite file, an OpenID provider (zitadel's op),
// tokenctl, and a headless Chromium that opens the URL tokenctl hands to
// $BROWSER, confirms the code, and signs in at the provider's login form.
func TestBrowserSignIn(t *testing.T) {
	browser := browsertest.Tab(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	work := t.TempDir()
	idp := ssotest.Start(t, ssotest.User{ID: "u-ada", Username: "ada", Password: "ada-pw-4711", Email: "ada@example.com", Groups: []string{"eng"}})

	// tokend: a provider from a secret file, then serve.
	db := filepath.Join(work, "tokend.db")
	secretFile := filepath.Join(work, "client-secret")
	os.WriteFile(secretFile, []byte(idp.ClientSecret+"\n"), 0o600)
	none := func(string) string { return "" }
	if err := tokend.Run(ctx, []string{"sso", "add", "corp", "--issuer", idp.Issuer, "--client-id", idp.ClientID,
		"--client-secret-file", secretFile, "--username-claim", "email", "--allow", "email=*@example.com", "--allow", "groups=eng",
		"--create-users", "--database", db}, none, strings.NewReader(""), io.Discard, io.Discard); err != nil {
		t.Fatalf("tokend sso add: %v", err)
	}
	addrFile := filepath.Join(work, "url")
	sctx, stop := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() {
		served <- tokend.Run(sctx, []string{"serve", "--addr", "127.0.0.1:0", "--addr-file", addrFile, "--database", db},
			none, strings.NewReader(""), io.Discard, io.Discard)
	}()
	t.Cleanup(func() { stop(); <-served })
	base := strings.TrimSpace(string(waitFile(t, addrFile)))
	idp.AllowRedirect(base + "/login/callback")

	// tokenctl, with a $BROWSER that hands the URL to this test.
	home := filepath.Join(work, "home")
	urlFile := filepath.Join(work, "browser-url")
	opener := filepath.Join(work, "browser")
	os.WriteFile(opener, []byte("#!/bin/sh\nprintf '%s' \"$1\" > "+urlFile+".tmp && mv "+urlFile+".tmp "+urlFile+"\n"), 0o700)
	vars := map[string]string{"HOME": home, "XDG_CONFIG_HOME": filepath.Join(home, ".config"), "BROWSER": opener}
	getenv := func(k string) string { return vars[k] }
	type result struct {
		code   int
		stderr string
	}
	run := func(args ...string) result {
		ios, _, _, errOut := iostreams.Test()
		return result{root.Run(ctx, args, ios, getenv), errOut.String()}
	}
	// The OS keyring, as a password login uses, where there is one (under
	// .ci/keyring-session; with CI=true it must be there).
	useKeyring, err := keyringCondition()
	if err != nil {
		t.Fatal(err)
	}
	login := []string{"auth", "login", "--host", base, "--web"}
	if !useKeyring {
		login = append(login, "--insecure-storage")
	}
	started := time.Now()
	done := make(chan result, 1)
	go func() { done <- run(login...) }()
	verify := string(waitFile(t, urlFile))
	opened := time.Now()

	// The browser.
	browsertest.Step(t, "open the URL", chromedp.Do(browser, chromedp.Navigate(verify)))
	what, err := chromedp.Run(browser, chromedp.Text(chromedp.CSS("#what")))
	browsertest.Step(t, "read what is authorised", err)
	browsertest.Step(t, "confirm and go to the provider", chromedp.Do(browser,
		chromedp.Click(chromedp.CSS("#approve-corp")),
		chromedp.WaitVisible(chromedp.CSS("#username")),
		chromedp.SendKeys(chromedp.CSS("#username"), "ada"),
		chromedp.SendKeys(chromedp.CSS("#password"), "ada-pw-4711"),
		chromedp.Click(chromedp.CSS(`button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS("#message")),
	))
	signedIn, err := chromedp.Run(browser, chromedp.Text(chromedp.CSS("#message")))
	browsertest.Step(t, "read the last page", err)
	approved := time.Now()
	if !strings.HasPrefix(what, "tokenctl on ") || !strings.Contains(what, ", from 127.0.0.1, asked at ") {
		t.Errorf("the page says it authorises %q", what)
	}
	if !strings.Contains(signedIn, "Signed in as ada@example.com") {
		t.Errorf("the last page says %q", signedIn)
	}

	var r result
	select {
	case r = <-done:
	case <-ctx.Done():
		t.Fatal("tokenctl did not finish after the sign-in")
	}
	stored := time.Now()
	if r.code != 0 || !strings.Contains(r.stderr, "Logged in to "+base+" as ada@example.com") {
		t.Fatalf("tokenctl auth login --web: exit %d\n%s", r.code, r.stderr)
	}
	if useKeyring && !strings.Contains(r.stderr, "keyring") {
		t.Errorf("not stored in the keyring:\n%s", r.stderr)
	}
	// The stored token works; logout takes it out of the keyring again.
	if r := run("token", "list"); r.code != 0 {
		t.Fatalf("token list with the login token: exit %d\n%s", r.code, r.stderr)
	}
	if r := run("auth", "logout"); r.code != 0 {
		t.Errorf("logout: exit %d\n%s", r.code, r.stderr)
	}
	t.Logf("timings: device start → browser given the URL %v; → signed in at the provider and approved %v; → token stored %v; total %v",
		opened.Sub(started).Round(time.Millisecond), approved.Sub(opened).Round(time.Millisecond),
		stored.Sub(approved).Round(time.Millisecond), stored.Sub(started).Round(time.Millisecond))
}

// waitFile waits for path to appear (written atomically) and returns it.
func waitFile(t *testing.T, path string) []byte {
	t.Helper()
	for range 1200 {
		b, err := os.ReadFile(path)
		if err == nil && len(b) > 0 {
			return b
		}
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s never appeared", path)
	return nil
}
