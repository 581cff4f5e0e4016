package console

import (
	"errors"
	"net/http"

	"github.com/tokenctl/tokenctl/internal/api"
	"github.com/tokenctl/tokenctl/internal/loginweb"
	"github.com/tokenctl/tokenctl/internal/store"
)

// SSOStartPath is where the sign-in page's provider buttons post to:
// package loginweb starts the provider round trip there and, at its end,
// calls Console.SignIn.
const SSOStartPath = loginweb.ConsolePath

// signInData is what signin.html shows.
type signInData struct {
	Providers     []string
	PasswordLogin bool
	Username      string
	SSOStart      string
}

// home is the tokens page for a signed-in person and the sign-in page for
// anyone else.
func (h *handler) home(w http.ResponseWriter, r *http.Request) {
	s, err := h.current(r)
	if err != nil {
		h.internal(w, r, nil, "read session", err)
		return
	}
	if s != nil {
		h.tokensPage(w, r, s)
		return
	}
	h.showSignIn(w, r, http.StatusOK, "", "")
}

func (h *handler) showSignIn(w http.ResponseWriter, r *http.Request, status int, username, problem string) {
	provs, err := h.cfg.Store.ListSSOProviders(r.Context())
	if err != nil {
		h.internal(w, r, nil, "list providers", err)
		return
	}
	d := signInData{PasswordLogin: h.cfg.PasswordLogin, Username: username, SSOStart: SSOStartPath}
	for _, p := range provs {
		d.Providers = append(d.Providers, p.Name)
	}
	v := view{Title: "Sign in", CSRF: h.pre.Get(w, r).CSRF(), Error: problem, Data: d}
	if len(provs) == 0 && !h.cfg.PasswordLogin {
		v.Message = "This server has no sign-in provider and takes no passwords; ask its operator."
	}
	h.render(w, r, status, "signin", v)
}

// signInPassword checks a username and password through the API's own
// Basic sign-in (GET /v1/user): the same argon2id check, the same Gate on
// concurrent checks, the same failure budgets per account and address,
// the same auth.failed events.
func (h *handler) signInPassword(w http.ResponseWriter, r *http.Request) {
	pre, ok := h.pre.Existing(r)
	if !ok || !pre.CheckCSRF(r) {
		h.showSignIn(w, r, http.StatusForbidden, "", "This form expired or did not come from this site. Try again.")
		return
	}
	if !h.cfg.PasswordLogin {
		h.showSignIn(w, r, http.StatusForbidden, "", "This server takes no passwords; sign in with your organisation's provider.")
		return
	}
	name, pw := r.PostFormValue("username"), r.PostFormValue("password")
	if name == "" || pw == "" {
		h.showSignIn(w, r, http.StatusBadRequest, name, "Enter your username and your password.")
		return
	}
	var who api.User
	err := h.call(r, nil, http.MethodGet, "/v1/user", nil, nil, &who, func(req *http.Request) { req.SetBasicAuth(name, pw) })
	var ae *apiError
	switch {
	case errors.As(err, &ae) && ae.Status == http.StatusUnauthorized:
		h.showSignIn(w, r, http.StatusUnauthorized, name, "Wrong username or password.")
		return
	case errors.As(err, &ae) && (ae.Status < 500 || ae.Status == http.StatusServiceUnavailable):
		// 429 (the failure budget) and 503 (too many checks at once):
		// the API's words and its Retry-After.
		if ae.RetryAfter != "" {
			w.Header().Set("Retry-After", ae.RetryAfter)
		}
		h.showSignIn(w, r, ae.Status, name, ae.Error())
		return
	case err != nil:
		h.internal(w, r, nil, "password sign-in", err)
		return
	}
	u, err := h.cfg.Store.UserByID(r.Context(), who.ID)
	if err != nil {
		h.internal(w, r, nil, "read user", err)
		return
	}
	if err := h.start(w, r, u); err != nil {
		h.internal(w, r, nil, "start session", err)
		return
	}
	// A redirect after a same-site POST is a same-site navigation: the
	// Strict cookie goes with it.
	http.Redirect(w, r, homePath, http.StatusSeeOther)
}

// SignIn ends an SSO sign-in that began on the console's sign-in page
// (loginweb has verified the provider's answer and applied its policy):
// it starts u's session and shows a page that moves on to the console.
//
// The callback is a navigation from the provider's site, so a browser
// would not send the new SameSite=Strict cookie on a redirect from it;
// the page's own navigation (a meta refresh, and a link) is same-site
// and does carry it.
func (c *Console) SignIn(w http.ResponseWriter, r *http.Request, u store.User) {
	h := c.h
	if err := h.start(w, r, u); err != nil {
		h.internal(w, r, nil, "start session", err)
		return
	}
	h.render(w, r, http.StatusOK, "signedin", view{Title: "Signed in", Message: "Signed in as " + u.Username + "."})
}
