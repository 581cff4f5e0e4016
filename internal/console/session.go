package console

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/tokenctl/tokenctl/internal/server"
	"github.com/tokenctl/tokenctl/internal/store"
	"github.com/tokenctl/tokenctl/internal/websession"
)

// session is a signed-in browser: the cookie's session, checked against
// the store on every request, and its user as the store has them now.
type session struct {
	ws   websession.Session
	user store.User
}

// view fills the parts of a page every signed-in page shares.
func (s *session) view(title, nav string, v view) view {
	v.Title, v.Nav = title, nav
	if s != nil {
		u := s.user
		v.User, v.CSRF = &u, s.ws.CSRF()
	}
	return v
}

// current returns r's signed-in session, or nil. The store ends sessions
// past their idle or absolute limit; a disabled user (or one turned into
// a service account) is signed out at once, here, on their next request.
func (h *handler) current(r *http.Request) (*session, error) {
	ws, ok := h.sessions.Existing(r)
	if !ok {
		return nil, nil
	}
	cs, err := h.cfg.Store.UseConsoleSession(r.Context(), ws.Digest(), h.cfg.Now(), h.cfg.IdleTimeout)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	u, err := h.cfg.Store.UserByID(r.Context(), cs.UserID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	if u.Disabled || u.Kind == store.KindService {
		if err := h.cfg.Store.DeleteConsoleSession(r.Context(), ws.Digest()); err != nil && !errors.Is(err, store.ErrNotFound) {
			h.logFor(r).Warn("console: end a disabled user's session", "error", err.Error())
		}
		return nil, nil
	}
	server.SetPageUser(r, u.Username)
	return &session{ws: ws, user: u}, nil
}

// signed wraps a page that needs a signed-in person. A GET without a
// session goes to the sign-in page; a POST must also carry the session's
// CSRF token (cross-origin posts were refused before, by Origin).
func (h *handler) signed(next func(http.ResponseWriter, *http.Request, *session)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s, err := h.current(r)
		if err != nil {
			h.internal(w, r, nil, "read session", err)
			return
		}
		if s == nil {
			if r.Method == http.MethodGet || r.Method == http.MethodHead {
				http.Redirect(w, r, homePath, http.StatusSeeOther)
				return
			}
			h.sessions.Clear(w)
			h.render(w, r, http.StatusForbidden, "message", view{Title: "Signed out",
				Error: "Your session ended, so nothing was changed. Sign in again and repeat it."})
			return
		}
		if r.Method == http.MethodPost && !s.ws.CheckCSRF(r) {
			h.render(w, r, http.StatusForbidden, "message", s.view("Refused", "", view{
				Error: "This form expired or did not come from this site. Nothing was changed; go back, reload and try again."}))
			return
		}
		next(w, r, s)
	}
}

// start signs u in: a new session id (never one the browser had), its
// digest in the store, the Strict cookie.
func (h *handler) start(w http.ResponseWriter, r *http.Request, u store.User) error {
	if old, ok := h.sessions.Existing(r); ok {
		// Signing in again ends the session the browser had.
		if err := h.cfg.Store.DeleteConsoleSession(r.Context(), old.Digest()); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
	}
	ws := h.sessions.Start(w)
	now := h.cfg.Now().UTC()
	return h.cfg.Store.CreateConsoleSession(r.Context(), store.ConsoleSession{Digest: ws.Digest(), UserID: u.ID,
		CreatedAt: now, LastSeen: now, ExpiresAt: now.Add(h.cfg.SessionLifetime)})
}

// signOut deletes the session's row and the cookie.
func (h *handler) signOut(w http.ResponseWriter, r *http.Request, s *session) {
	if err := h.cfg.Store.DeleteConsoleSession(r.Context(), s.ws.Digest()); err != nil && !errors.Is(err, store.ErrNotFound) {
		h.internal(w, r, s, "sign out", err)
		return
	}
	h.sessions.Clear(w)
	http.Redirect(w, r, homePath, http.StatusSeeOther)
}

// logFor is the logger for every line about r, with its request id.
func (h *handler) logFor(r *http.Request) *slog.Logger { return server.PageLogger(h.log, r) }
