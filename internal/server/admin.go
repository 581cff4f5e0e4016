package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/tokenctl/tokenctl/internal/api"
	"github.com/tokenctl/tokenctl/internal/password"
	"github.com/tokenctl/tokenctl/internal/store"
)

// The admin API (issue 23). bind lets only an admin in (admin_required
// otherwise) and, for a token, only one carrying the route's admin scope.
// An admin acts on others' rows through store.AnyUser; every change is
// recorded in the affected user's trail with the admin as Actor.User.

// adminAudited is audited with the admin named as the actor, so the
// affected user's trail says who did it.
func (s *server) adminAudited(r *http.Request, p *principal) context.Context {
	ctx := s.audited(r, p)
	a, _ := store.AuditFrom(ctx)
	a.ActorUser = p.user.Username
	return store.WithAudit(ctx, a)
}

// usernames resolves user ids to usernames for one answer, each id once.
type usernames struct {
	s     *server
	ctx   context.Context
	names map[string]string
}

func (s *server) usernames(ctx context.Context) *usernames {
	return &usernames{s: s, ctx: ctx, names: map[string]string{}}
}

func (u *usernames) of(id string) (string, error) {
	if id == "" {
		return "", nil // an event in no user's trail
	}
	if n, ok := u.names[id]; ok {
		return n, nil
	}
	user, err := u.s.store.UserByID(u.ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return "", nil // deleted while we read: the row goes with it
	}
	if err != nil {
		return "", err
	}
	u.names[id] = user.Username
	return user.Username, nil
}

// userFilter reads ?user= into a user id: store.AnyUser when absent. An
// unknown user answers 404 and reports false.
func (s *server) userFilter(w http.ResponseWriter, r *http.Request) (string, bool) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return store.AnyUser, true // pageQuery answers the malformed query
	}
	name := q.Get("user")
	if name == "" {
		return store.AnyUser, true
	}
	u, err := s.store.UserByName(r.Context(), name)
	if err != nil {
		s.userError(w, r, "look up user", name, err)
		return "", false
	}
	return u.ID, true
}

// userError answers a store error about the user named name.
func (s *server) userError(w http.ResponseWriter, r *http.Request, op, name string, err error) {
	if errors.Is(err, store.ErrNotFound) {
		s.fail(w, r, newProblem(http.StatusNotFound, api.CodeNotFound, "no user named "+quote(name, 64)))
		return
	}
	s.storeError(w, r, op, "", err)
}

func (s *server) handleAdminListTokens(w http.ResponseWriter, r *http.Request, p *principal) {
	userID, ok := s.userFilter(w, r)
	if !ok {
		return
	}
	opts, prob := s.tokenListOptions(r, userID)
	if prob != nil {
		s.fail(w, r, prob)
		return
	}
	if v := r.URL.Query().Get("expiring_within"); v != "" {
		secs, err := strconv.ParseInt(v, 10, 64)
		if err != nil || secs < 1 || secs > seconds(100*365*24*time.Hour) {
			s.fail(w, r, newProblem(http.StatusBadRequest, api.CodeBadRequest,
				"expiring_within must be a whole number of seconds, such as 604800 for a week"))
			return
		}
		opts.ExpiresBefore = opts.Now.Add(time.Duration(secs) * time.Second)
		if opts.Status == store.StatusAll && r.URL.Query().Get("status") == "" {
			opts.Status = store.StatusActive // "expiring", not "expired"
		}
	}
	toks, next, err := s.store.ScanTokens(r.Context(), opts)
	if err != nil {
		s.storeError(w, r, "list tokens", "", err)
		return
	}
	names := s.usernames(r.Context())
	page := api.AdminTokenPage{Items: make([]api.AdminToken, 0, len(toks))}
	for _, t := range toks {
		name, err := names.of(t.UserID)
		if err != nil {
			s.internalError(w, r, "list tokens", err)
			return
		}
		page.Items = append(page.Items, api.AdminToken{Token: s.wireToken(t), User: name})
	}
	if next != "" {
		c := encodeCursor(next)
		page.NextCursor = &c
	}
	encode(w, http.StatusOK, page)
}

func (s *server) handleAdminGetToken(w http.ResponseWriter, r *http.Request, p *principal) {
	id, ok := s.pathID(w, r)
	if !ok {
		return
	}
	t, err := s.store.GetToken(r.Context(), store.AnyUser, id)
	if err != nil {
		s.storeError(w, r, "get token", id, err)
		return
	}
	name, err := s.usernames(r.Context()).of(t.UserID)
	if err != nil {
		s.internalError(w, r, "get token", err)
		return
	}
	encode(w, http.StatusOK, api.AdminToken{Token: s.wireToken(t), User: name})
}

func (s *server) handleAdminDeleteToken(w http.ResponseWriter, r *http.Request, p *principal) {
	id, ok := s.pathID(w, r)
	if !ok {
		return
	}
	if err := s.store.DeleteToken(s.adminAudited(r, p), store.AnyUser, id); err != nil {
		s.storeError(w, r, "delete token", id, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *server) handleAdminBulkDelete(w http.ResponseWriter, r *http.Request, p *principal) {
	s.bulkDelete(w, r, s.adminAudited(r, p), store.AnyUser)
}

func (s *server) handleAdminListEvents(w http.ResponseWriter, r *http.Request, p *principal) {
	userID, ok := s.userFilter(w, r)
	if !ok {
		return
	}
	names := s.usernames(r.Context())
	s.listEvents(w, r, userID, func(e store.Event) (api.Event, error) {
		we := store.WireEvent(e)
		var err error
		we.User, err = names.of(e.UserID)
		return we, err
	})
}

func wireUser(u store.User) api.AdminUser {
	out := api.AdminUser{ID: u.ID, Username: u.Username, Role: u.Role, Kind: u.Kind, Disabled: u.Disabled, CreatedAt: u.CreatedAt.UTC()}
	if u.Disabled {
		at := u.DisabledAt.UTC()
		out.DisabledAt = &at
	}
	return out
}

func (s *server) handleAdminListUsers(w http.ResponseWriter, r *http.Request, _ *principal) {
	users, err := s.store.ListUsers(r.Context())
	if err != nil {
		s.internalError(w, r, "list users", err)
		return
	}
	out := api.AdminUserList{Items: make([]api.AdminUser, 0, len(users))}
	for _, u := range users {
		out.Items = append(out.Items, wireUser(u))
	}
	encode(w, http.StatusOK, out)
}

func (s *server) handleAdminCreateUser(w http.ResponseWriter, r *http.Request, p *principal) {
	req, prob := decode[api.CreateUserRequest](r)
	if prob != nil {
		s.fail(w, r, prob)
		return
	}
	invalid := func(format string, a ...any) {
		s.fail(w, r, newProblem(http.StatusBadRequest, api.CodeValidation, fmt.Sprintf(format, a...)))
	}
	if err := api.ValidUsername(req.Username); err != nil {
		invalid("%s", err)
		return
	}
	u := store.User{ID: store.NewID(s.cfg.Now()), Username: req.Username, CreatedAt: s.cfg.Now().UTC().Truncate(time.Second),
		Role: req.Role, Kind: req.Kind}
	if u.Role == "" {
		u.Role = store.RoleMember
	}
	if u.Kind == "" {
		u.Kind = store.KindPerson
	}
	if !store.ValidRole(u.Role) {
		invalid("role must be %s or %s, got %s", store.RoleMember, store.RoleAdmin, quote(u.Role, 20))
		return
	}
	switch u.Kind {
	case store.KindPerson:
	case store.KindService:
		if req.Password != "" {
			invalid("a service account has no password: it cannot sign in; mint its tokens with tokenctl admin token create --for %s", req.Username)
			return
		}
	default:
		invalid("kind must be %s or %s, got %s", store.KindPerson, store.KindService, quote(u.Kind, 20))
		return
	}
	if req.Password != "" {
		if len(req.Password) > password.MaxLen {
			invalid("password is longer than %d bytes", password.MaxLen)
			return
		}
		hash, err := password.Hash(req.Password)
		if err != nil {
			s.internalError(w, r, "hash password", err)
			return
		}
		u.PasswordHash = hash
	}
	if err := s.store.CreateUser(s.adminAudited(r, p), u); err != nil {
		if errors.Is(err, store.ErrConflict) {
			s.fail(w, r, newProblem(http.StatusConflict, api.CodeUserExists, "a user named "+quote(u.Username, 64)+" already exists"))
			return
		}
		s.internalError(w, r, "create user", err)
		return
	}
	w.Header().Set("Location", "/v1/admin/users/"+url.PathEscape(u.Username))
	encode(w, http.StatusCreated, wireUser(u))
}

func (s *server) handleAdminUpdateUser(w http.ResponseWriter, r *http.Request, p *principal) {
	name := r.PathValue("name")
	req, prob := decode[api.UpdateUserRequest](r)
	if prob != nil {
		s.fail(w, r, prob)
		return
	}
	invalid := func(format string, a ...any) {
		s.fail(w, r, newProblem(http.StatusBadRequest, api.CodeValidation, fmt.Sprintf(format, a...)))
	}
	if req.Role == nil && req.Disabled == nil {
		invalid("give role or disabled (or both) to change")
		return
	}
	if req.Role != nil && !store.ValidRole(*req.Role) {
		invalid("role must be %s or %s, got %s", store.RoleMember, store.RoleAdmin, quote(*req.Role, 20))
		return
	}
	// An admin cannot lock themselves out; another admin can.
	if name == p.user.Username && ((req.Role != nil && *req.Role != store.RoleAdmin) || (req.Disabled != nil && *req.Disabled)) {
		invalid("you cannot demote or disable your own account; ask another admin")
		return
	}
	ctx := s.adminAudited(r, p)
	if req.Role != nil {
		if err := s.store.SetUserRole(ctx, name, *req.Role); err != nil {
			s.userError(w, r, "set role", name, err)
			return
		}
	}
	if req.Disabled != nil {
		if err := s.store.SetUserDisabled(ctx, name, *req.Disabled, s.cfg.Now().UTC().Truncate(time.Second)); err != nil {
			s.userError(w, r, "disable user", name, err)
			return
		}
	}
	u, err := s.store.UserByName(r.Context(), name)
	if err != nil {
		s.userError(w, r, "get user", name, err)
		return
	}
	encode(w, http.StatusOK, wireUser(u))
}

func (s *server) handleAdminDeleteUser(w http.ResponseWriter, r *http.Request, p *principal) {
	name := r.PathValue("name")
	if name == p.user.Username {
		s.fail(w, r, newProblem(http.StatusBadRequest, api.CodeValidation, "you cannot delete your own account; ask another admin"))
		return
	}
	if err := s.store.DeleteUser(r.Context(), name); err != nil {
		s.userError(w, r, "delete user", name, err)
		return
	}
	// The user's trail went with them; the deletion is recorded in the
	// admin's own.
	a, _ := store.AuditFrom(s.adminAudited(r, p))
	if err := s.store.AddEvents(r.Context(), []store.Event{a.UserEvent(store.EventUserDeleted, p.user.ID, "user "+name)}); err != nil {
		s.log.WarnContext(r.Context(), "record user deletion", "request_id", requestID(r), "error", err.Error())
	}
	w.WriteHeader(http.StatusNoContent)
}

// handleAdminCreateToken mints a token for a service account "on behalf
// of" it: bounded by the account's own power, not by the admin's token, so
// it outlives any person's departure; recorded in the account's trail with
// the admin as actor.
func (s *server) handleAdminCreateToken(w http.ResponseWriter, r *http.Request, p *principal) {
	name := r.PathValue("name")
	owner, err := s.store.UserByName(r.Context(), name)
	if err != nil {
		s.userError(w, r, "get user", name, err)
		return
	}
	if owner.Kind != store.KindService {
		s.fail(w, r, newProblem(http.StatusBadRequest, api.CodeValidation,
			quote(name, 64)+" is a person; admins mint tokens only for service accounts, people make their own"))
		return
	}
	if owner.Disabled {
		s.fail(w, r, newProblem(http.StatusBadRequest, api.CodeValidation,
			"service account "+quote(name, 64)+" is disabled; enable it first"))
		return
	}
	s.createToken(w, r, s.adminAudited(r, p), &principal{user: owner}, "/v1/admin/tokens/")
}
