package console_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/tokenctl/tokenctl/internal/browsertest"
	"github.com/tokenctl/tokenctl/internal/ssotest"
)

// TestPagesAreAccessible goes through every console page a person sees —
// sign-in (and its error), the tokens table with tokens, the add form (and
// its errors), the secret shown once, the rotate and delete confirmations,
// the delete summary, activity, admin and its confirmation, not found —
// and checks each with axe-core in the light and dark colour schemes at
// 1280 and 390 px: no serious or critical violation, nothing wider than a
// phone. It writes a screenshot of each view (TOKENCTL_SCREENSHOT_DIR
// keeps them: see README, "Development").
func TestPagesAreAccessible(t *testing.T) {
	// A sign-in provider, so the sign-in page shows both of its forms.
	idp := ssotest.Start(t)
	e := newEnv(t, func(db string) {
		secretFile := filepath.Join(filepath.Dir(db), "client-secret")
		if err := os.WriteFile(secretFile, []byte(idp.ClientSecret+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		tokendRun(t, "", "sso", "add", "corp", "--issuer", idp.Issuer, "--client-id", idp.ClientID,
			"--client-secret-file", secretFile, "--database", db)
	})
	for _, name := range []string{"deploy", "laptop", "ci-nightly"} {
		e.create(name)
	}
	ctx := browsertest.Tab(t)
	check := func(name, sel string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		browsertest.Step(t, "open "+name, chromedp.Do(ctx, append(actions, chromedp.WaitVisible(chromedp.CSS(sel)))...))
		browsertest.Check(t, ctx, name)
	}

	check("console-signin", "#sso-corp", chromedp.Navigate(e.url+"/"))
	check("console-signin-error", "#error",
		chromedp.SendKeys(chromedp.CSS("#username"), "ada"),
		chromedp.SendKeys(chromedp.CSS("#password"), "not-the-password"),
		chromedp.Click(chromedp.CSS("#signin")))

	signIn(t, ctx, e, "ada", adaPassword)
	check("console-tokens", "#tokens", chromedp.Navigate(e.url+"/"))
	check("console-add", "#add-form", chromedp.Click(chromedp.CSS("#add-token")))
	check("console-add-errors", "#name-error", chromedp.Click(chromedp.CSS("#create")))
	check("console-secret", "#secret",
		chromedp.SendKeys(chromedp.CSS("#name"), "release"),
		chromedp.SendKeys(chromedp.CSS("#description"), "signs the release artefacts"),
		chromedp.Click(chromedp.CSS("#create")))

	ids := e.tokens("ada", adaPassword)
	check("console-rotate-confirm", "#confirm", chromedp.Navigate(e.url+"/"), chromedp.WaitVisible(chromedp.CSS("#tokens")),
		chromedp.Click(chromedp.CSS("#rotate-"+ids["deploy"].ID)))
	check("console-delete-confirm", "#confirm-names", chromedp.Navigate(e.url+"/"), chromedp.WaitVisible(chromedp.CSS("#tokens")),
		chromedp.Click(chromedp.CSS("#select-"+ids["laptop"].ID)),
		chromedp.Click(chromedp.CSS("#select-"+ids["ci-nightly"].ID)),
		chromedp.Click(chromedp.CSS("#delete-selected")))
	check("console-deleted", "#summary", chromedp.Click(chromedp.CSS("#confirm")))
	check("console-activity", "#events", chromedp.Navigate(e.url+"/activity"))
	check("console-not-found", "#error", chromedp.Navigate(e.url+"/tokens/nowhere/else"))

	admin := browsertest.Tab(t)
	signIn(t, admin, e, "root", rootPassword)
	ctx = admin
	check("console-admin", "#admin-tokens", chromedp.Navigate(e.url+"/admin"))
	check("console-admin-disable-confirm", "#confirm", chromedp.Click(chromedp.CSS("#disable-ada")))

	if t.Failed() {
		t.Logf("screenshots of each view: set %s to keep them", browsertest.ScreenshotDirEnv)
	}
}
