package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/tokenctl/tokenctl/internal/api"
	"github.com/tokenctl/tokenctl/internal/scope"
	"github.com/tokenctl/tokenctl/internal/store"
	"github.com/tokenctl/tokenctl/internal/timespec"
)

// What a scope is (grammar, limits, the built-in ones, the sorted Set a
// token carries) is package scope's; this file is how the API uses them.

// hasScopes reports whether have holds every scope of want.
func hasScopes(have scope.Set, want ...string) bool { return have.HasAll(want...) }

// adminScopesFor refuses admin scopes in scopes unless u is an admin.
func adminScopesFor(u store.User, scopes []string) *problem {
	if u.IsAdmin() {
		return nil
	}
	var asked []string
	for _, sc := range scopes {
		if scope.IsAdmin(sc) {
			asked = append(asked, sc)
		}
	}
	if len(asked) == 0 {
		return nil
	}
	return newProblem(http.StatusForbidden, api.CodeAdminRequired,
		fmt.Sprintf("%s may be carried only by an admin's token; %s is a %s", strings.Join(asked, " "), u.Username, u.Role))
}

// scopeProblem is a problem with RFC 6750's insufficient_scope members;
// both lists are always present, [] when empty.
type scopeProblem struct {
	api.Problem
	RequiredScopes []string `json:"required_scopes"`
	TokenScopes    []string `json:"token_scopes"`
}

// insufficientScope answers 403 insufficient_scope with the RFC 6750
// challenge naming the scopes the operation needs.
func (s *server) insufficientScope(w http.ResponseWriter, r *http.Request, required, have []string) {
	if have == nil {
		have = []string{}
	}
	missing := scope.Set(have).Missing(required...)
	held := "no scopes"
	if len(have) > 0 {
		held = strings.Join(have, " ")
	}
	status := http.StatusForbidden
	body := scopeProblem{
		Problem: api.Problem{
			Type:   ProblemTypeBase + api.CodeInsufficientScope,
			Title:  http.StatusText(status),
			Status: status,
			Detail: fmt.Sprintf("this token lacks %s (it was made with: %s); use a token that has it, or create one with that scope",
				strings.Join(missing, " "), held),
			Code: api.CodeInsufficientScope,
		},
		RequiredScopes: required,
		TokenScopes:    have,
	}
	if info := infoFrom(r.Context()); info != nil {
		body.RequestID = info.id
		info.problemCode = api.CodeInsufficientScope
	}
	h := w.Header()
	h.Set("WWW-Authenticate", fmt.Sprintf(`Bearer error="insufficient_scope", scope=%q`, strings.Join(required, " ")))
	h.Set("Content-Type", api.ProblemContentType)
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

func (s *server) handleListScopes(w http.ResponseWriter, r *http.Request, _ *principal) {
	app, err := s.store.ListScopes(r.Context())
	if err != nil {
		s.internalError(w, r, "list scopes", err)
		return
	}
	var out api.ScopeList
	for _, b := range scope.Builtins() {
		out.Items = append(out.Items, api.Scope{Name: b.Name, Description: b.Description, Builtin: true})
	}
	for _, sc := range app {
		out.Items = append(out.Items, api.Scope{Name: sc.Name, Description: sc.Description})
	}
	slices.SortFunc(out.Items, func(a, b api.Scope) int { return strings.Compare(a.Name, b.Name) })
	encode(w, http.StatusOK, out)
}

// createScopes decides the scopes and checks the expiry of a new token.
// asked is the request's scopes (nil: the default), sorted as decoded;
// explicit says whether the request named its expiry. A token may create
// only within its own scopes and lifetime: a default expiry is cut to the
// parent's, an explicit one past it is refused.
// err is a store failure (answer 500); prob a refusal.
func (s *server) createScopes(ctx context.Context, p *principal, asked scope.Set, expires time.Time, explicit bool) (_ scope.Set, _ time.Time, prob *problem, err error) {
	var scopes scope.Set
	switch {
	case asked == nil && p.token != nil:
		scopes = p.token.Scopes
	case asked == nil:
		// A password acts with all of the user's power: written out, so
		// the token does not grow when scopes are added later.
		app, err := s.store.ListScopes(ctx)
		if err != nil {
			return nil, time.Time{}, nil, err
		}
		names := []string{scope.TokensRead, scope.TokensWrite}
		if p.user.IsAdmin() {
			names = append(names, scope.AdminRead, scope.AdminWrite)
		}
		for _, sc := range app {
			names = append(names, sc.Name)
		}
		scopes = scope.NewSet(names...)
	default:
		scopes = asked
		if prob, err := s.checkKnownScopes(ctx, scopes); prob != nil || err != nil {
			return nil, time.Time{}, prob, err
		}
	}
	// A token made while its user was an admin keeps its admin scopes
	// after a demotion, but the routes check the role on every request.
	if prob := adminScopesFor(p.user, scopes); prob != nil {
		return nil, time.Time{}, prob, nil
	}
	if p.token == nil {
		return scopes, expires, nil, nil
	}
	if extra := p.token.Scopes.Missing(scopes...); len(extra) > 0 {
		return nil, time.Time{}, newProblem(http.StatusForbidden, api.CodeExceedsParent,
			fmt.Sprintf("a token can only create tokens within its own scopes; this one lacks %s (it has: %s)",
				strings.Join(extra, " "), scopeList(p.token.Scopes))), nil
	}
	if limit := p.token.ExpiresAt.UTC(); expires.After(limit) {
		if explicit {
			return nil, time.Time{}, newProblem(http.StatusForbidden, api.CodeExceedsParent,
				fmt.Sprintf("a token can only create tokens that expire no later than itself, %s; ask for an earlier expiry",
					limit.Format(time.RFC3339))), nil
		}
		expires = limit
	}
	return scopes, expires, nil, nil
}

// checkKnownScopes refuses malformed or undefined scope names, naming them.
func (s *server) checkKnownScopes(ctx context.Context, scopes scope.Set) (*problem, error) {
	var app map[string]bool
	var unknown []string
	for _, sc := range scopes {
		if err := scope.Valid(sc); err != nil {
			return newProblem(http.StatusBadRequest, api.CodeValidation, err.Error()), nil
		}
		if scope.IsBuiltin(sc) {
			continue
		}
		if app == nil {
			list, err := s.store.ListScopes(ctx)
			if err != nil {
				return nil, err
			}
			app = make(map[string]bool, len(list))
			for _, d := range list {
				app[d.Name] = true
			}
		}
		if !app[sc] {
			unknown = append(unknown, sc)
		}
	}
	if len(unknown) > 0 {
		p := newProblem(http.StatusBadRequest, api.CodeValidation,
			fmt.Sprintf("unknown scope(s): %s; GET /v1/scopes lists the ones this server defines", strings.Join(unknown, " ")))
		p.unknownScopes = unknown
		return p, nil
	}
	return nil, nil
}

func scopeList(scopes []string) string {
	if len(scopes) == 0 {
		return "no scopes"
	}
	return strings.Join(scopes, " ")
}

// queryScopes reads every scope= parameter, each one scope or a
// space-separated list, and checks the names.
func queryScopes(values []string) (scope.Set, *problem) {
	var out []string
	for _, v := range values {
		for _, sc := range strings.Fields(v) {
			if err := scope.Valid(sc); err != nil {
				return nil, newProblem(http.StatusBadRequest, api.CodeBadRequest, err.Error())
			}
			out = append(out, sc)
		}
	}
	if len(out) > scope.MaxAsked {
		return nil, newProblem(http.StatusBadRequest, api.CodeBadRequest,
			fmt.Sprintf("ask for at most %d scopes", scope.MaxAsked))
	}
	return scope.NewSet(out...), nil
}

// scopeCap returns the shortest lifetime cap among the application scopes
// in scopes (0 when none has one) and the scope that sets it.
func scopeCap(app []store.Scope, scopes scope.Set) (time.Duration, string) {
	var limit time.Duration
	var which string
	for _, d := range app {
		if d.MaxLifetime > 0 && scopes.Has(d.Name) && (limit == 0 || d.MaxLifetime < limit) {
			limit, which = d.MaxLifetime, d.Name
		}
	}
	return limit, which
}

// lifetimeCapped is the 400 for a token asked to live longer than a scope
// it carries allows.
func lifetimeCapped(name string, limit, asked time.Duration) *problem {
	return newProblem(http.StatusBadRequest, api.CodeLifetimeCapped,
		fmt.Sprintf("scope %s caps a token's lifetime at %s (%d seconds); asked for %s; ask for less or leave the expiry out",
			name, timespec.FormatDuration(limit), seconds(limit), timespec.FormatDuration(asked)))
}

// capExpiry applies the scopes' lifetime caps to a new token: a default
// expiry is cut to the cap, an explicit one past it is refused.
func (s *server) capExpiry(ctx context.Context, scopes scope.Set, now, expires time.Time, explicit bool) (time.Time, *problem, error) {
	app, err := s.store.ListScopes(ctx)
	if err != nil {
		return time.Time{}, nil, err
	}
	limit, sc := scopeCap(app, scopes)
	if limit == 0 || !expires.After(now.Add(limit)) {
		return expires, nil, nil
	}
	if explicit {
		return time.Time{}, lifetimeCapped(sc, limit, expires.Sub(now)), nil
	}
	return now.Add(limit), nil, nil
}
