package server

import (
	"github.com/tokenctl/tokenctl/internal/api"
	"github.com/tokenctl/tokenctl/internal/scope"
	"net/http"
	"path"
	"slices"
	"strings"
)

type handlerFunc func(s *server, w http.ResponseWriter, r *http.Request, p *principal)

type route struct {
	pattern string
	auth    bool   // needs an authenticated principal
	scope   string // a token needs this scope; "" for none
	handle  handlerFunc
}

// routeTable is every route tokend serves, in one place. docs/openapi.yaml
// documents exactly these; TestOpenAPIMatchesRoutes fails when they drift.
var routeTable = []route{
	{"GET /healthz", false, "", (*server).handleHealthz},
	{"GET /readyz", false, "", (*server).handleReadyz},
	// server describes limits a client needs before it has a credential.
	{"GET /v1/server", false, "", (*server).handleServerInfo},
	{"GET /v1/user", true, "", (*server).handleUser},
	{"POST /v1/tokens", true, scope.TokensWrite, (*server).handleCreateToken},
	{"GET /v1/tokens", true, scope.TokensRead, (*server).handleListTokens},
	{"GET /v1/tokens/current", true, "", (*server).handleCurrentToken},
	// A token may always revoke itself: giving up power needs no scope.
	{"DELETE /v1/tokens/current", true, "", (*server).handleDeleteCurrentToken},
	{"GET /v1/tokens/{id}", true, scope.TokensRead, (*server).handleGetToken},
	{"DELETE /v1/tokens/{id}", true, scope.TokensWrite, (*server).handleDeleteToken},
	{"POST /v1/tokens/delete", true, scope.TokensWrite, (*server).handleBulkDelete},
	{"POST /v1/tokens/{id}/rotate", true, scope.TokensWrite, (*server).handleRotateToken},
	{"GET /v1/scopes", true, "", (*server).handleListScopes},
	// auth/check authenticates itself: tokens only, and its own 403.
	{"GET /v1/auth/check", false, "", (*server).handleAuthCheck},
	{"GET /v1/events", true, scope.TokensRead, (*server).handleListEvents},
	// revoke needs no credential: the leaked secret is the proof.
	{"POST /v1/tokens/revoke", false, "", (*server).handleRevoke},
	// exchange needs no credential: the CI identity token is the proof.
	{"POST /v1/tokens/exchange", false, "", (*server).handleExchange},

	// The admin API: an admin scope makes a route admin-only (bind).
	{"GET /v1/admin/tokens", true, scope.AdminRead, (*server).handleAdminListTokens},
	{"GET /v1/admin/tokens/{id}", true, scope.AdminRead, (*server).handleAdminGetToken},
	{"DELETE /v1/admin/tokens/{id}", true, scope.AdminWrite, (*server).handleAdminDeleteToken},
	{"POST /v1/admin/tokens/delete", true, scope.AdminWrite, (*server).handleAdminBulkDelete},
	{"GET /v1/admin/events", true, scope.AdminRead, (*server).handleAdminListEvents},
	{"GET /v1/admin/users", true, scope.AdminRead, (*server).handleAdminListUsers},
	{"POST /v1/admin/users", true, scope.AdminWrite, (*server).handleAdminCreateUser},
	{"PATCH /v1/admin/users/{name}", true, scope.AdminWrite, (*server).handleAdminUpdateUser},
	{"DELETE /v1/admin/users/{name}", true, scope.AdminWrite, (*server).handleAdminDeleteUser},
	{"POST /v1/admin/users/{name}/tokens", true, scope.AdminWrite, (*server).handleAdminCreateToken},
	// The device grant needs no credential: the device code is the proof,
	// and a person approves it in the browser (package loginweb).
	{"POST /v1/auth/device", false, "", (*server).handleDeviceStart},
	{"POST /v1/auth/device/token", false, "", (*server).handleDeviceToken},

	// RFC 7662 for gateways: introspect.go authenticates, as OAuth clients
	// send their token as a Basic password, and checks tokens:introspect.
	{"POST /v1/introspect", false, "", (*server).handleIntrospect},
	// GitHub's signature is the proof (github.go).
	{"POST /v1/secret-scanning/github", false, "", (*server).handleGitHubReport},
}

// Routes returns the "METHOD /path" patterns the server registers.
func Routes() []string {
	out := make([]string, len(routeTable))
	for i, rt := range routeTable {
		out[i] = rt.pattern
	}
	return out
}

func (s *server) addRoutes() {
	for _, rt := range routeTable {
		s.mux.Handle(rt.pattern, s.bind(rt))
		method, _, _ := strings.Cut(rt.pattern, " ")
		if !slices.Contains(s.methods, method) {
			s.methods = append(s.methods, method)
		}
	}
}

func (s *server) bind(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if info := infoFrom(r.Context()); info != nil {
			info.route = rt.pattern
		}
		var p *principal
		if rt.auth {
			var ok bool
			if p, ok = s.authenticate(w, r); !ok {
				return
			}
			// The role is read with the credential on every request, so a
			// demoted admin's tokens lose admin power at once.
			if scope.IsAdmin(rt.scope) && !p.user.IsAdmin() {
				s.fail(w, r, newProblem(http.StatusForbidden, api.CodeAdminRequired,
					"this needs an admin's token; "+p.user.Username+" is not an admin"))
				return
			}
			if rt.scope != "" && p.token != nil && !hasScopes(p.token.Scopes, rt.scope) {
				s.insufficientScope(w, r, []string{rt.scope}, p.token.Scopes)
				return
			}
		}
		rt.handle(s, w, r, p)
	})
}

// dispatch sends a request to the mux, answering unknown paths and methods
// with problem+json instead of the mux's plain-text pages.
func (s *server) dispatch(w http.ResponseWriter, r *http.Request) {
	// ServeMux would answer an unclean path ("/v1//tokens", "/v1/./user")
	// with a 301 that the contract does not know; no route needs one. Like
	// the mux, judge the escaped path: an id holding %2F..%2F is one
	// segment, and answers "no token", not "no such endpoint".
	if p := r.URL.EscapedPath(); p == "" || path.Clean(p) != p {
		writeProblem(w, r, http.StatusNotFound, api.CodeNotFound, "no such endpoint: "+r.URL.Path)
		return
	}
	if _, pattern := s.mux.Handler(r); pattern != "" {
		s.mux.ServeHTTP(w, r)
		return
	}
	var allowed []string
	for _, m := range s.methods {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := s.mux.Handler(probe); pattern != "" {
			allowed = append(allowed, m)
		}
	}
	if len(allowed) > 0 {
		if slices.Contains(allowed, http.MethodGet) {
			allowed = append(allowed, http.MethodHead)
		}
		w.Header().Set("Allow", strings.Join(allowed, ", "))
		writeProblem(w, r, http.StatusMethodNotAllowed, api.CodeMethodNotAllowed,
			r.Method+" is not allowed on "+r.URL.Path+"; use "+strings.Join(allowed, ", "))
		return
	}
	writeProblem(w, r, http.StatusNotFound, api.CodeNotFound, "no such endpoint: "+r.URL.Path)
}
