package console_test

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/tokenctl/tokenctl/internal/browsertest"
	"github.com/tokenctl/tokenctl/internal/ssotest"
)

func TestMain(m *testing.M) { os.Exit(browsertest.Main(m)) }

// signIn signs user in on the console's password form.
func signIn(t *testing.T, ctx context.Context, e *env, user, pw string) {
	t.Helper()
	browsertest.Step(t, "sign in as "+user, chromedp.Do(ctx,
		chromedp.Navigate(e.url+"/"),
		chromedp.WaitVisible(chromedp.CSS("#username")),
		chromedp.SendKeys(chromedp.CSS("#username"), user),
		chromedp.SendKeys(chromedp.CSS("#password"), pw),
		chromedp.Click(chromedp.CSS("#signin")),
		chromedp.WaitVisible(chromedp.CSS("#nav-tokens")),
	))
}

func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	browsertest.Step(t, "read "+sel, err)
	return s
}

func eval[T any](t *testing.T, ctx context.Context, js string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	browsertest.Step(t, "evaluate "+js, err)
	return v
}

// TestTokensInTheBrowser is the console's whole round in Chromium: sign in
// with a password, add a token and read its secret back from the page (and
// it works against the API), see it in the table, rotate it (the old
// secret dies, the new one works), select three tokens and delete them
// after a confirmation that names them, and sign out.
func TestTokensInTheBrowser(t *testing.T) {
	e := newEnv(t, nil)
	ctx := browsertest.Tab(t)
	signIn(t, ctx, e, "ada", adaPassword)
	if got := text(t, ctx, "#whoami"); got != "ada" {
		t.Errorf("signed in as %q", got)
	}

	browsertest.Step(t, "add a token", chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS("#add-token")),
		chromedp.WaitVisible(chromedp.CSS("#name")),
		chromedp.SendKeys(chromedp.CSS("#name"), "deploy"),
		chromedp.SendKeys(chromedp.CSS("#description"), "ships the site"),
		chromedp.SendKeys(chromedp.CSS("#expires_in_days"), "7"),
		chromedp.Click(chromedp.CSS("#create")),
		chromedp.WaitVisible(chromedp.CSS("#secret")),
	))
	secret, err := chromedp.Run(ctx, chromedp.Value(chromedp.CSS("#secret")))
	browsertest.Step(t, "read the secret", err)
	if !strings.HasPrefix(secret, "tkn_") || e.works(secret) != http.StatusOK {
		t.Fatalf("the page showed %q, which does not work against the API", secret)
	}
	if w := text(t, ctx, "#warning"); !strings.Contains(w, "shown only once") {
		t.Errorf("the warning says %q", w)
	}
	// The copy button is there with the script, and copies.
	if hidden := eval[bool](t, ctx, `document.getElementById("copy").hidden`); hidden {
		t.Error("the copy button stayed hidden with the script loaded")
	}
	// A click copies, or (where the browser keeps the clipboard to itself)
	// selects the secret and says how to copy it.
	browsertest.Step(t, "copy", chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#copy")),
		chromedp.Poll[chromedp.Void](`document.getElementById("copied").textContent !== ""`)))
	if said := text(t, ctx, "#copied"); said != "Copied." && !strings.Contains(said, "Ctrl+C") {
		t.Errorf("after the copy button the page says %q", said)
	}

	browsertest.Step(t, "done", chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#done")), chromedp.WaitVisible(chromedp.CSS("#tokens"))))
	tok := e.tokens("ada", adaPassword)["deploy"]
	row := text(t, ctx, "#row-"+tok.ID)
	for _, want := range []string{"deploy", "ships the site", tok.KeyHint, "tokens:read", "in 7d"} {
		if !strings.Contains(row, want) {
			t.Errorf("the table row %q lacks %q", row, want)
		}
	}
	if strings.Contains(text(t, ctx, "main"), secret) {
		t.Error("the table shows the secret")
	}

	browsertest.Step(t, "rotate", chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS("#rotate-"+tok.ID)),
		chromedp.WaitVisible(chromedp.CSS("#confirm")),
		chromedp.Click(chromedp.CSS("#confirm")),
		chromedp.WaitVisible(chromedp.CSS("#secret")),
	))
	rotated, err := chromedp.Run(ctx, chromedp.Value(chromedp.CSS("#secret")))
	browsertest.Step(t, "read the new secret", err)
	if rotated == secret || e.works(rotated) != http.StatusOK || e.works(secret) != http.StatusUnauthorized {
		t.Errorf("after rotating: the new secret gets %d, the old one %d", e.works(rotated), e.works(secret))
	}

	ids := []string{e.create("batch-1").ID, e.create("batch-2").ID, e.create("batch-3").ID}
	e.create("keep")
	// The script's select-all box ticks every row, and unticks them.
	browsertest.Step(t, "select all", chromedp.Do(ctx, chromedp.Navigate(e.url+"/"), chromedp.Click(chromedp.CSS("#select-all"))))
	if n := eval[int](t, ctx, `document.querySelectorAll("#tokens tbody input[name=id]:checked").length`); n != 5 {
		t.Errorf("select all ticked %d of 5 rows", n)
	}
	browsertest.Step(t, "select none", chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#select-all"))))
	if n := eval[int](t, ctx, `document.querySelectorAll("#tokens tbody input[name=id]:checked").length`); n != 0 {
		t.Errorf("%d rows still ticked", n)
	}
	browsertest.Step(t, "select three", chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS("#select-"+ids[0])),
		chromedp.Click(chromedp.CSS("#select-"+ids[1])),
		chromedp.Click(chromedp.CSS("#select-"+ids[2])),
		chromedp.Click(chromedp.CSS("#delete-selected")),
		chromedp.WaitVisible(chromedp.CSS("#confirm-names")),
	))
	if got := text(t, ctx, "#title"); got != "Delete 3 tokens?" {
		t.Errorf("the confirmation asks %q", got)
	}
	names := text(t, ctx, "#confirm-names")
	for _, n := range []string{"batch-1", "batch-2", "batch-3"} {
		if !strings.Contains(names, n) {
			t.Errorf("the confirmation %q does not name %s", names, n)
		}
	}
	if strings.Contains(names, "keep") || strings.Contains(names, "deploy") {
		t.Errorf("the confirmation %q names tokens not selected", names)
	}
	if left := e.tokens("ada", adaPassword); len(left) != 5 {
		t.Fatalf("the confirmation page deleted something: %d tokens left", len(left))
	}
	browsertest.Step(t, "confirm", chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#confirm")), chromedp.WaitVisible(chromedp.CSS("#summary"))))
	if got := text(t, ctx, "#summary"); !strings.Contains(got, "Deleted: 3.") {
		t.Errorf("the summary says %q", got)
	}
	left := e.tokens("ada", adaPassword)
	if len(left) != 2 || left["deploy"].ID == "" || left["keep"].ID == "" {
		t.Errorf("after the delete ada has %v, want deploy and keep", left)
	}

	browsertest.Step(t, "sign out", chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#signout")), chromedp.WaitVisible(chromedp.CSS("#signin"))))
	browsertest.Step(t, "come back signed out", chromedp.Do(ctx, chromedp.Navigate(e.url+"/activity"), chromedp.WaitVisible(chromedp.CSS("#signin"))))
}

// TestHostileNameIsInert adds tokens whose name and description are
// markup through the form: the table shows them as text, and no script
// runs (no dialog opens, no element is made of them).
func TestHostileNameIsInert(t *testing.T) {
	e := newEnv(t, nil)
	ctx := browsertest.Tab(t)
	var dialogs atomic.Int32
	browsertest.Step(t, "listen for dialogs", chromedp.Listen(ctx, func(ev any) {
		if _, ok := ev.(*page.EventJavascriptDialogOpening); ok {
			dialogs.Add(1)
			go chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: false})
		}
	}))
	signIn(t, ctx, e, "ada", adaPassword)
	const name, desc = `<script>alert(1)</script>`, `"><img src=x onerror=alert(2)>`
	browsertest.Step(t, "add a hostile token", chromedp.Do(ctx,
		chromedp.Navigate(e.url+"/tokens/new"),
		chromedp.WaitVisible(chromedp.CSS("#name")),
		chromedp.SendKeys(chromedp.CSS("#name"), name),
		chromedp.SendKeys(chromedp.CSS("#description"), desc),
		chromedp.Click(chromedp.CSS("#create")),
		chromedp.WaitVisible(chromedp.CSS("#secret")),
	))
	if got := text(t, ctx, "#token-name"); got != name {
		t.Errorf("the secret page names the token %q, want the text %q", got, name)
	}
	browsertest.Step(t, "open the table", chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#done")), chromedp.WaitVisible(chromedp.CSS("#tokens"))))
	cell := text(t, ctx, "#tokens tbody th.name")
	if !strings.Contains(cell, name) || !strings.Contains(cell, desc) {
		t.Errorf("the table shows %q, want the name and description as text", cell)
	}
	if n := eval[int](t, ctx, `document.querySelectorAll("main script, main img").length`); n != 0 {
		t.Errorf("the page made %d elements of the token's name", n)
	}
	if n := dialogs.Load(); n != 0 {
		t.Errorf("%d dialogs opened", n)
	}
}

// attacker serves page (an HTML body) from another origin; crossSite
// names it localhost where tokend is 127.0.0.1, so the browser treats it
// as another site too.
func attacker(t *testing.T, body string, crossSite bool) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, "<!doctype html><html lang=en><head><title>elsewhere</title></head><body>"+body+"</body></html>")
	}))
	t.Cleanup(srv.Close)
	if !crossSite {
		return srv.URL
	}
	return strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)
}

// TestCrossSiteFormPostIsRefused has a page of another site, and one of
// another origin on the same site (where the SameSite=Strict cookie does
// go along), post a form to the console in a signed-in browser: both are
// refused, and nothing is created.
func TestCrossSiteFormPostIsRefused(t *testing.T) {
	e := newEnv(t, nil)
	ctx := browsertest.Tab(t)
	signIn(t, ctx, e, "ada", adaPassword)
	for _, crossSite := range []bool{true, false} {
		evil := attacker(t, `<form method="post" action="`+html.EscapeString(e.url)+`/tokens/new">
<input name="name" value="planted"><input name="expires_in_days" value="1"><input name="csrf" value="guess">
</form><script>document.forms[0].submit()</script>`, crossSite)
		browsertest.Step(t, "visit "+evil, chromedp.Do(ctx, chromedp.Navigate(evil), chromedp.WaitVisible(chromedp.CSS("#error"))))
		if got := text(t, ctx, "#title"); got != "Refused" {
			t.Errorf("cross-site %v: the console answered the post with %q", crossSite, got)
		}
		if _, ok := e.tokens("ada", adaPassword)["planted"]; ok {
			t.Fatalf("cross-site %v: the post created a token", crossSite)
		}
	}
}

// TestFramingIsRefused has a page of another origin frame the console:
// the browser refuses to show it (frame-ancestors 'none',
// X-Frame-Options). The other origin is on the same site, so the frame
// stays in the page's process and its frame tree (another site's frame
// would be a target of its own).
func TestFramingIsRefused(t *testing.T) {
	e := newEnv(t, nil)
	ctx := browsertest.Tab(t)
	signIn(t, ctx, e, "ada", adaPassword)
	evil := attacker(t, `<iframe id="f" title="console" src="`+html.EscapeString(e.url)+`/" onload="document.body.dataset.loaded = 1"></iframe>`, false)
	browsertest.Step(t, "visit the framing page", chromedp.Do(ctx, chromedp.Navigate(evil), chromedp.WaitVisible(chromedp.CSS("body[data-loaded]"))))
	tree, err := chromedp.Call(ctx, page.GetFrameTree, struct{}{})
	browsertest.Step(t, "read the frames", err)
	if len(tree.FrameTree.ChildFrames) != 1 {
		t.Fatalf("%d child frames", len(tree.FrameTree.ChildFrames))
	}
	f := tree.FrameTree.ChildFrames[0].Frame
	t.Logf("framed: url %q unreachable %q", f.URL, f.UnreachableURL)
	if strings.HasPrefix(f.URL, e.url) {
		t.Errorf("the console loaded in another site's frame (%s)", f.URL)
	}
}

// TestSSOSignInToTheConsole signs in through an OpenID provider (zitadel's
// op) from the console's sign-in page: loginweb's one OIDC flow ends in a
// console session, and the SameSite=Strict cookie set on the callback —
// a navigation from the provider's site — is sent by the next, same-site
// navigation, so the person lands signed in on their tokens. A disabled
// account is then signed out at its next request.
func TestSSOSignInToTheConsole(t *testing.T) {
	idp := ssotest.Start(t, ssotest.User{ID: "u-grace", Username: "grace", Password: "grace-pw-4711", Email: "grace@example.com", Groups: []string{"eng"}})
	e := newEnv(t, func(db string) {
		secretFile := filepath.Join(filepath.Dir(db), "client-secret")
		if err := os.WriteFile(secretFile, []byte(idp.ClientSecret+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		tokendRun(t, "", "sso", "add", "corp", "--issuer", idp.Issuer, "--client-id", idp.ClientID,
			"--client-secret-file", secretFile, "--username-claim", "email", "--allow", "groups=eng", "--create-users", "--database", db)
	})
	// The provider is at 127.0.0.1; the browser reaches tokend as
	// localhost, so the provider is another site.
	site := strings.Replace(e.url, "127.0.0.1", "localhost", 1)
	idp.AllowRedirect(site + "/login/callback")
	ctx := browsertest.Tab(t)
	browsertest.Step(t, "sign in at the provider", chromedp.Do(ctx,
		chromedp.Navigate(site+"/"),
		chromedp.Click(chromedp.CSS("#sso-corp")),
		chromedp.WaitVisible(chromedp.CSS("#username")),
		chromedp.SendKeys(chromedp.CSS("#username"), "grace"),
		chromedp.SendKeys(chromedp.CSS("#password"), "grace-pw-4711"),
		chromedp.Click(chromedp.CSS(`button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS("#nav-tokens")),
	))
	if got := text(t, ctx, "#whoami"); got != "grace@example.com" {
		t.Errorf("signed in as %q", got)
	}
	if got := text(t, ctx, "#title"); got != "Access tokens" {
		t.Errorf("landed on %q", got)
	}
	// The session's cookie is Strict and HttpOnly.
	cookies, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{site + "/"}})
	browsertest.Step(t, "read the cookies", err)
	found := false
	for _, c := range cookies.Cookies {
		if c.Name == "tokend_console" {
			found = true
			if c.SameSite != network.CookieSameSiteStrict || !c.HTTPOnly {
				t.Errorf("the console cookie is SameSite=%s, HttpOnly=%v", c.SameSite, c.HTTPOnly)
			}
		}
	}
	if !found {
		t.Error("no tokend_console cookie")
	}

	tokendRun(t, "", "user", "disable", "grace@example.com", "--database", e.db)
	browsertest.Step(t, "come back disabled", chromedp.Do(ctx, chromedp.Navigate(site+"/"), chromedp.WaitVisible(chromedp.CSS("#sso-corp"))))
	if n := eval[int](t, ctx, `document.querySelectorAll("#nav-tokens").length`); n != 0 {
		t.Error("a disabled user still sees the console")
	}
}

// TestAdminView: a member has no admin link and /admin does not exist for
// them; an admin sees every user's tokens, filters them by user, revokes
// a selection after a confirmation, and disables an account, whose tokens
// then stop working.
func TestAdminView(t *testing.T) {
	e := newEnv(t, nil)
	revoked, kept := e.create("ada-ci"), e.create("ada-laptop")

	member := browsertest.Tab(t)
	signIn(t, member, e, "ada", adaPassword)
	if n := eval[int](t, member, `document.querySelectorAll("#nav-admin").length`); n != 0 {
		t.Error("a member sees the admin link")
	}
	browsertest.Step(t, "open /admin as a member", chromedp.Do(member, chromedp.Navigate(e.url+"/admin"), chromedp.WaitVisible(chromedp.CSS("#error"))))
	if got := text(t, member, "#title"); got != "Not found" || eval[int](t, member, `document.querySelectorAll("#admin-tokens, #users").length`) != 0 {
		t.Errorf("a member's /admin shows %q", got)
	}

	ctx := browsertest.Tab(t)
	signIn(t, ctx, e, "root", rootPassword)
	browsertest.Step(t, "open admin", chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS("#nav-admin")),
		chromedp.WaitVisible(chromedp.CSS("#admin-tokens")),
		chromedp.SendKeys(chromedp.CSS("#f-user"), "ada"),
		chromedp.Click(chromedp.CSS("#apply-admin-filter")),
		// The filtered page: its field carries the filter as an attribute.
		chromedp.WaitVisible(chromedp.CSS(`#f-user[value="ada"]`)),
	))
	table := text(t, ctx, "#admin-tokens")
	if !strings.Contains(table, "ada-ci") || !strings.Contains(table, "ada-laptop") {
		t.Errorf("the admin table shows %q", table)
	}
	browsertest.Step(t, "revoke one", chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS("#admin-select-"+revoked.ID)),
		chromedp.Click(chromedp.CSS("#revoke-selected")),
		chromedp.WaitVisible(chromedp.CSS("#confirm-names")),
	))
	if got := text(t, ctx, "#confirm-names"); !strings.Contains(got, "ada-ci (ada)") || strings.Contains(got, "ada-laptop") {
		t.Errorf("the confirmation names %q", got)
	}
	browsertest.Step(t, "confirm", chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#confirm")), chromedp.WaitVisible(chromedp.CSS("#summary"))))
	if e.works(revoked.Secret) != http.StatusUnauthorized || e.works(kept.Secret) != http.StatusOK {
		t.Errorf("after the revoke: revoked %d, kept %d", e.works(revoked.Secret), e.works(kept.Secret))
	}

	browsertest.Step(t, "disable ada", chromedp.Do(ctx,
		chromedp.Navigate(e.url+"/admin"),
		chromedp.Click(chromedp.CSS("#disable-ada")),
		chromedp.WaitVisible(chromedp.CSS("#confirm")),
		chromedp.Click(chromedp.CSS("#confirm")),
		chromedp.WaitVisible(chromedp.CSS("#message")),
	))
	if e.works(kept.Secret) != http.StatusUnauthorized {
		t.Error("a disabled user's token still works")
	}
	browsertest.Step(t, "ada's session ends", chromedp.Do(member, chromedp.Navigate(e.url+"/"), chromedp.WaitVisible(chromedp.CSS("#signin"))))
}
