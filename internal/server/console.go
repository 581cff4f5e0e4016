package server

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/tokenctl/tokenctl/internal/store"
)

// The token console (package console) is a client of this API inside the
// same process: it signs people in with its own session, then sends each
// operation here with AsConsoleUser, so the console and the API share
// every rule — names, lifetimes and scope caps, grants, the token limit,
// bulk-delete reports, audit events and the admin checks — by running the
// same handlers, not copies of them.

type consoleUserKey struct{}

// AsConsoleUser returns r acting as u, whom a console session vouches
// for: routes that need a credential accept it in place of an
// Authorization header, with the rights of a password sign-in (no token
// scopes narrow them), and audit events name the console as the actor.
// Only code in this process can set it: no header or cookie reaches it.
// The caller has read u from the store for this request, so a disabled
// or demoted user is seen at once; a disabled one is refused here too.
func AsConsoleUser(r *http.Request, u store.User) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), consoleUserKey{}, u))
}

// consoleUser returns the user AsConsoleUser put on ctx.
func consoleUser(ctx context.Context) (store.User, bool) {
	u, ok := ctx.Value(consoleUserKey{}).(store.User)
	return u, ok
}

// PageRequestID is the request id Pages gave r ("" outside Pages). The
// console sends it with the API calls a page makes, so the page's log
// line and theirs share one id.
func PageRequestID(r *http.Request) string { return requestID(r) }

// PageLogger is l for lines about r: with the request id Pages gave r and
// echoed in X-Request-Id, so an operator can tie a page's warning to its
// access log line. The sign-in pages and the console both log through it.
func PageLogger(l *slog.Logger, r *http.Request) *slog.Logger {
	return l.With("request_id", requestID(r))
}

// SetPageUser names the signed-in user of a page request r in its access
// log line (Pages), as authentication does for an API request.
func SetPageUser(r *http.Request, username string) {
	if info := infoFrom(r.Context()); info != nil {
		info.user = username
	}
}
