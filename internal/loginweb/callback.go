package loginweb

import (
	"context"
	"crypto/sha256"
	"errors"
	"net/http"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/tokenctl/tokenctl/internal/claimmatch"
	"github.com/tokenctl/tokenctl/internal/store"
)

// Reasons of auth.failed events for SSO sign-ins.
const (
	reasonNotAllowed    = "not allowed"
	reasonUnknownUser   = "unknown user"
	reasonProviderError = "provider error"
	reasonDisabled      = "disabled user"
)

const maxUsernameLen = 100

// startAgain is the way back when the callback cannot tell a device
// approval from a console sign-in.
const startAgain = "Run tokenctl auth login --web again, or sign in again from tokend's sign-in page."

// callback is where the provider sends the browser back.
func (h *handler) callback(w http.ResponseWriter, r *http.Request) {
	if wait := h.cfg.Limiter.Blocked(r); wait > 0 {
		h.tooMany(w, r, wait)
		return
	}
	q := r.URL.Query()
	state := q.Get("state")
	if state == "" || len(state) > 256 {
		h.render(w, r, http.StatusBadRequest, view{Title: "Start again", Error: "This sign-in link is incomplete. " + startAgain})
		return
	}
	// Taken once: a replayed callback, or a forged state, finds nothing.
	login, err := h.cfg.Store.TakeSSOLogin(r.Context(), sha256.Sum256([]byte(state)), h.cfg.Now())
	if errors.Is(err, store.ErrNotFound) {
		h.cfg.Limiter.Fail(r)
		h.logFor(r).Warn("sso callback with an unknown, used or expired state", "client", h.cfg.Limiter.ClientAddress(r))
		h.render(w, r, http.StatusBadRequest, view{Title: "Start again",
			Error: "This sign-in was already completed, has expired, or was not started here. " + startAgain})
		return
	} else if err != nil {
		h.internal(w, r, "take sso login", err)
		return
	}
	// The round trip must end in the browser that started it, or someone
	// could have a victim's browser finish their sign-in.
	sess, ok := h.sessions.Existing(r)
	if !ok || sess.Digest() != login.SessionDigest {
		again := "Open the link your terminal shows in this one."
		if login.UserCode == "" {
			again = "Sign in again from tokend's sign-in page in this one."
		}
		h.render(w, r, http.StatusBadRequest, view{Title: "Start again", Error: "This sign-in was started in another browser. " + again})
		return
	}
	deny := func() {
		if login.UserCode == "" {
			return // a console sign-in: no device code waits for an answer
		}
		if err := h.cfg.Store.DecideDeviceCode(r.Context(), login.UserCode, false, "", h.cfg.Now()); err != nil &&
			!errors.Is(err, store.ErrConflict) && !errors.Is(err, store.ErrExpired) && !errors.Is(err, store.ErrNotFound) {
			h.logFor(r).Warn("deny device code", "error", err.Error())
		}
	}
	p, err := h.cfg.Store.SSOProviderByName(r.Context(), login.Provider)
	if errors.Is(err, store.ErrNotFound) {
		deny()
		h.render(w, r, http.StatusBadRequest, view{Title: "Provider removed", Error: "The sign-in provider " + login.Provider + " was removed meanwhile."})
		return
	} else if err != nil {
		h.internal(w, r, "read provider", err)
		return
	}
	if e := q.Get("error"); e != "" {
		deny()
		h.logFor(r).Info("sso provider refused", "provider", p.Name, "error", e)
		h.failed(r, p, "", nil, reasonProviderError, "refused: "+oneWord(e))
		h.render(w, r, http.StatusForbidden, view{Title: "Not signed in", Error: "The sign-in provider " + p.Name + " did not sign you in (" + oneWord(e) + "). Nothing was signed in."})
		return
	}
	op, ok := h.discover(w, r, p)
	if !ok {
		return
	}
	ctx, cancel := h.providerCtx(r)
	defer cancel()
	tok, err := h.oauth(r, p, op).Exchange(ctx, q.Get("code"), oauth2.VerifierOption(login.Verifier))
	if err != nil {
		deny()
		h.providerError(w, r, p, "code exchange", err)
		return
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		deny()
		h.providerError(w, r, p, "code exchange", errors.New("no id_token in the token response"))
		return
	}
	// go-oidc checks the signature against the provider's published keys,
	// iss, that aud holds our client id, and expiry.
	idt, err := op.Verifier(&oidc.Config{ClientID: p.ClientID, Now: h.cfg.Now}).Verify(ctx, raw)
	if err != nil {
		deny()
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			h.providerError(w, r, p, "keys", err)
			return
		}
		h.logFor(r).Warn("sso id token refused", "provider", p.Name, "error", err.Error())
		h.failed(r, p, "", nil, reasonProviderError, "id token")
		h.render(w, r, http.StatusForbidden, view{Title: "Not signed in", Error: "The sign-in provider's answer did not verify for this server. Nothing was signed in."})
		return
	}
	if idt.Nonce != login.Nonce {
		deny()
		h.logFor(r).Warn("sso id token with the wrong nonce", "provider", p.Name)
		h.failed(r, p, "", map[string]string{"sub": idt.Subject}, reasonProviderError, "nonce")
		h.render(w, r, http.StatusForbidden, view{Title: "Not signed in", Error: "The sign-in provider's answer belongs to another sign-in. Nothing was signed in."})
		return
	}
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		deny()
		h.providerError(w, r, p, "claims", err)
		return
	}
	h.signIn(w, r, p, login, idt.Subject, claims, deny)
}

// signIn applies the provider's policy to who the ID token says it is and
// approves the device code for them.
func (h *handler) signIn(w http.ResponseWriter, r *http.Request, p store.SSOProvider, login store.SSOLogin, subject string, claims map[string]any, deny func()) {
	ctx := r.Context()
	username, _ := claimmatch.Text(claims[p.UsernameClaim])
	if username == "" || len(username) > maxUsernameLen || strings.ContainsFunc(username, unicode.IsControl) {
		deny()
		h.logFor(r).Warn("sso sign-in without a usable username", "provider", p.Name, "claim", p.UsernameClaim, "sub", subject)
		h.failed(r, p, "", map[string]string{"sub": subject}, reasonProviderError, "no usable "+p.UsernameClaim+" claim")
		h.render(w, r, http.StatusForbidden, view{Title: "Not signed in",
			Error: "The sign-in provider did not say who you are (no usable " + p.UsernameClaim + " claim). Ask the server's operator."})
		return
	}
	u, uerr := h.cfg.Store.UserByName(ctx, username)
	if uerr != nil && !errors.Is(uerr, store.ErrNotFound) {
		h.internal(w, r, "look up user", uerr)
		return
	}
	known := uerr == nil
	if failed, ok := claimmatch.All(p.Allow, claims); !ok {
		deny()
		h.logFor(r).Info("sso sign-in not allowed", "provider", p.Name, "user", username, "claim", failed)
		// In the user's trail when there is one, else in no one's (admins
		// see it), with who the provider said it was.
		h.failed(r, p, u.ID, matchedClaims(p, subject, claims), reasonNotAllowed, "")
		h.render(w, r, http.StatusForbidden, view{Title: "Not allowed", Error: "Your account at " + p.Name + " is not allowed to sign in here. Nothing was signed in."})
		return
	}
	if !known {
		if !p.CreateUsers {
			deny()
			h.logFor(r).Info("sso sign-in of an unknown user", "provider", p.Name, "user", username, "reason", reasonUnknownUser)
			h.failed(r, p, "", matchedClaims(p, subject, claims), reasonUnknownUser, "")
			h.render(w, r, http.StatusForbidden, view{Title: "No account", Error: "There is no account " + username + " on this server. Ask its operator to add one."})
			return
		}
		u = store.User{ID: store.NewID(h.cfg.Now()), Username: username, CreatedAt: h.cfg.Now().UTC().Truncate(time.Microsecond)}
		if err := h.cfg.Store.CreateSSOUser(ctx, u, p.Name); errors.Is(err, store.ErrConflict) {
			if u, err = h.cfg.Store.UserByName(ctx, username); err != nil { // made by a concurrent sign-in
				h.internal(w, r, "look up user", err)
				return
			}
		} else if err != nil {
			h.internal(w, r, "create user", err)
			return
		}
	}
	if userDisabled(u) {
		deny()
		h.failed(r, p, u.ID, matchedClaims(p, subject, claims), reasonDisabled, "")
		h.render(w, r, http.StatusForbidden, view{Title: "Account disabled", Error: "The account " + username + " is disabled on this server."})
		return
	}
	if adminMatches(p, claims) {
		if err := makeAdmin(ctx, h.cfg.Store, u); err != nil {
			h.internal(w, r, "make admin", err)
			return
		}
	}
	if login.UserCode == "" {
		// One OIDC flow, two outcomes: this one began on the console's
		// sign-in page and ends in a console session.
		if h.cfg.ConsoleSignIn == nil {
			h.render(w, r, http.StatusNotFound, view{Title: "Not found", Error: "This server has no token console."})
			return
		}
		h.record(r, store.Event{UserID: u.ID, Type: store.EventSSOLogin, Claims: matchedClaims(p, subject, claims)}, p)
		h.logFor(r).Info("sso sign-in to the console", "provider", p.Name, "user", u.Username, "sub", subject)
		h.cfg.ConsoleSignIn(w, r, u)
		return
	}
	err := h.cfg.Store.DecideDeviceCode(ctx, login.UserCode, true, u.ID, h.cfg.Now())
	switch {
	case errors.Is(err, store.ErrExpired):
		h.render(w, r, http.StatusGone, view{Title: "Code expired", Error: "The code expired while you signed in. Run tokenctl auth login --web again."})
		return
	case errors.Is(err, store.ErrConflict), errors.Is(err, store.ErrNotFound):
		h.render(w, r, http.StatusConflict, view{Title: "Code already used", Error: "This code was already used. Run tokenctl auth login --web again."})
		return
	case err != nil:
		h.internal(w, r, "approve device code", err)
		return
	}
	h.record(r, store.Event{UserID: u.ID, Type: store.EventSSOLogin, Claims: matchedClaims(p, subject, claims)}, p)
	h.logFor(r).Info("sso sign-in", "provider", p.Name, "user", u.Username, "sub", subject)
	h.render(w, r, http.StatusOK, view{Title: "Signed in", Message: "Signed in as " + u.Username + ". Return to your terminal: tokenctl finishes on its own. You can close this tab."})
}

// matchedClaims is what the audit trail keeps of a sign-in: the subject
// and the claims the policy looked at, as text.
func matchedClaims(p store.SSOProvider, subject string, claims map[string]any) map[string]string {
	out := map[string]string{"sub": subject}
	if iss, ok := claimmatch.Text(claims["iss"]); ok {
		out["iss"] = iss
	}
	keys := []string{p.UsernameClaim}
	for _, c := range append(append([]store.ClaimMatch{}, p.Allow...), p.AdminIf...) {
		keys = append(keys, c.Claim)
	}
	for _, k := range keys {
		if s, ok := claimmatch.Text(claims[k]); ok {
			out[k] = s
		} else if arr, ok := claims[k].([]any); ok {
			var parts []string
			for _, e := range arr {
				if s, ok := claimmatch.Text(e); ok {
					parts = append(parts, s)
				}
			}
			out[k] = strings.Join(parts, " ")
		}
	}
	return out
}

// failed records auth.failed through p for reason, in userID's trail or,
// with no userID, in no user's (seen by admins): claims say who the
// provider said it was (never a token), detail which step failed.
func (h *handler) failed(r *http.Request, p store.SSOProvider, userID string, claims map[string]string, reason, detail string) {
	// A failure spends the address's budget, as a wrong code does, so no
	// one can write failure events (and webhook deliveries) without end.
	h.cfg.Limiter.Fail(r)
	h.record(r, store.Event{UserID: userID, Type: store.EventAuthFailed, Reason: reason, Claims: claims, Detail: detail}, p)
}

// record adds one event to the user's trail (or no user's, for a failure
// of someone unknown); a failure to record is logged (the page is the
// answer either way).
func (h *handler) record(r *http.Request, e store.Event, p store.SSOProvider) {
	at := h.cfg.Now().UTC().Truncate(time.Millisecond)
	e.ID, e.Time, e.ActorKind, e.TrustPolicy = store.NewEventID(at), at, store.ActorSSO, p.Name
	e.ClientAddress = h.cfg.Limiter.ClientAddress(r)
	e.UserAgent = truncate(r.UserAgent(), 200)
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 5*time.Second)
	defer cancel()
	if err := h.cfg.Store.AddEvents(ctx, []store.Event{e}); err != nil {
		h.logFor(r).Warn("record sso event", "error", err.Error())
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}

// oneWord keeps a provider's error code readable and harmless on the page.
func oneWord(s string) string {
	s = strings.Map(func(r rune) rune {
		if r == '_' || r == '-' || (r < 128 && (unicode.IsLetter(r) || unicode.IsDigit(r))) {
			return r
		}
		return -1
	}, s)
	return truncate(s, 40)
}
