package loginweb_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/tokenctl/tokenctl/internal/browsertest"
	"github.com/tokenctl/tokenctl/internal/loginweb"
)

func TestMain(m *testing.M) { os.Exit(browsertest.Main(m)) }

// TestPagesAreAccessible opens every kind of sign-in page in Chromium —
// code entry, a wrong code, the confirmation, denied, signed in, not found —
// and checks each with axe-core in the light and dark colour schemes at
// 1280 and 390 px (nothing serious or critical, nothing wider than a
// phone), writing their screenshots (TOKENCTL_SCREENSHOT_DIR keeps them).
func TestPagesAreAccessible(t *testing.T) {
	e := newEnv(t, nil)
	ctx := browsertest.Tab(t)
	open := func(name, url, text string) {
		t.Helper()
		browsertest.Step(t, "open "+name, chromedp.Do(ctx, chromedp.Navigate(url)))
		page(t, ctx, name, text)
	}

	open("login-entry", e.url+loginweb.DevicePath, "Enter the code that tokenctl auth login --web shows")
	open("login-unknown-code", e.url+loginweb.DevicePath+"?user_code=BCDF-GHJK", "No such code.")
	// A screen reader reads the error with the field it is about.
	described, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("user_code").getAttribute("aria-describedby") + " " + document.getElementById("user_code").getAttribute("aria-invalid")`))
	browsertest.Step(t, "read the code field", err)
	if described != "error true" {
		t.Errorf("the code field's aria-describedby and aria-invalid are %q, want the error's id and true", described)
	}
	looks(t, ctx)
	open("login-not-found", e.url+"/login/nowhere", "There is no such page.")

	denied := e.start()
	open("login-confirm", denied.VerificationURIComplete, "You are about to sign in tokenctl on laptop")
	browsertest.Step(t, "deny", chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#deny")), chromedp.WaitVisible(chromedp.CSS("#message"))))
	page(t, ctx, "login-denied", "Nothing was signed in.")

	da := e.start()
	browsertest.Step(t, "sign in at the provider", chromedp.Do(ctx,
		chromedp.Navigate(da.VerificationURIComplete),
		chromedp.Click(chromedp.CSS("#approve-corp")),
		chromedp.WaitVisible(chromedp.CSS("#username")),
		chromedp.SendKeys(chromedp.CSS("#username"), users[0].Username),
		chromedp.SendKeys(chromedp.CSS("#password"), users[0].Password),
		chromedp.Click(chromedp.CSS(`button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS("#message")),
	))
	page(t, ctx, "login-signed-in", "Signed in as alice@example.com.")
}

// page checks that the tab shows text (so the check below is of the page
// meant), then runs browsertest.Check on it.
func page(t *testing.T, ctx context.Context, name, text string) {
	t.Helper()
	body, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("main")))
	browsertest.Step(t, "read "+name, err)
	if !strings.Contains(body, text) {
		t.Fatalf("%s shows %q, not %q", name, body, text)
	}
	browsertest.Check(t, ctx, name)
}

// looks checks the styles axe cannot judge: the dark scheme is dark (the
// pages follow prefers-color-scheme), and on a phone the card keeps a
// margin and the buttons span it.
func looks(t *testing.T, ctx context.Context) {
	t.Helper()
	type style struct {
		Body, Card, Text                 string
		CardLeft, CardWidth, ButtonWidth float64
	}
	read := func(s browsertest.Scheme, w int64) style {
		t.Helper()
		browsertest.Step(t, fmt.Sprintf("switch to %s, %d px", s, w), chromedp.Do(ctx, browsertest.SetScheme(s), browsertest.SetWidth(w)))
		st, err := chromedp.Run(ctx, chromedp.Evaluate[style](`(() => {
				const main = document.querySelector("main"), b = document.querySelector("button").getBoundingClientRect();
				const r = main.getBoundingClientRect(), cs = getComputedStyle(main);
				return {Body: getComputedStyle(document.body).backgroundColor, Card: cs.backgroundColor, Text: cs.color,
					CardLeft: r.left, CardWidth: r.width - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight), ButtonWidth: b.width};
			})()`))
		browsertest.Step(t, fmt.Sprintf("read the styles (%s, %d px)", s, w), err)
		return st
	}
	light, dark, phone := read(browsertest.Light, browsertest.Desktop), read(browsertest.Dark, browsertest.Desktop), read(browsertest.Light, browsertest.Phone)
	browsertest.Step(t, "back to light, 1280 px", chromedp.Do(ctx, browsertest.SetScheme(browsertest.Light), browsertest.SetWidth(browsertest.Desktop)))
	if bright(dark.Body) || bright(dark.Card) || !bright(dark.Text) {
		t.Errorf("dark scheme: page %s, card %s, text %s; want dark backgrounds and light text", dark.Body, dark.Card, dark.Text)
	}
	if !bright(light.Body) || !bright(light.Card) || bright(light.Text) {
		t.Errorf("light scheme: page %s, card %s, text %s; want light backgrounds and dark text", light.Body, light.Card, light.Text)
	}
	if phone.CardLeft < 8 || phone.ButtonWidth < phone.CardWidth-1 {
		t.Errorf("at 390 px the card starts %.0f px from the edge and its button is %.0f of %.0f px wide; want a margin and a full-width button", phone.CardLeft, phone.ButtonWidth, phone.CardWidth)
	}
}

// bright reports whether a computed rgb(r, g, b) colour is on the light
// side.
func bright(rgb string) bool {
	var r, g, b int
	if _, err := fmt.Sscanf(rgb, "rgb(%d, %d, %d)", &r, &g, &b); err != nil {
		return false
	}
	return r+g+b > 3*128
}
