package console

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/tokenctl/tokenctl/internal/api"
)

const adminPath = "/admin"

func (h *handler) adminRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET "+adminPath, h.signed(h.admin(h.adminPage)))
	mux.HandleFunc("POST "+adminPath+"/tokens/select", h.signed(h.admin(h.adminConfirmRevoke)))
	mux.HandleFunc("POST "+adminPath+"/tokens/delete", h.signed(h.admin(h.adminRevoke)))
	mux.HandleFunc("POST "+adminPath+"/users/{name}/disable", h.signed(h.admin(h.adminSetDisabled(true))))
	mux.HandleFunc("POST "+adminPath+"/users/{name}/enable", h.signed(h.admin(h.adminSetDisabled(false))))
}

// admin wraps an admin page: to anyone else it does not exist. The role
// is the store's as of this request, so a demoted admin loses the pages
// at once (and the API checks it again on every call).
func (h *handler) admin(next func(http.ResponseWriter, *http.Request, *session)) func(http.ResponseWriter, *http.Request, *session) {
	return func(w http.ResponseWriter, r *http.Request, s *session) {
		if !s.user.IsAdmin() {
			h.render(w, r, http.StatusNotFound, "message", s.view("Not found", "", view{Error: "There is no such page."}))
			return
		}
		next(w, r, s)
	}
}

// adminFilters are GET /v1/admin/tokens's filters, as the form has them.
type adminFilters struct {
	User, Name, Status, Scope, ExpiringDays string
}

func readAdminFilters(q url.Values) adminFilters {
	return adminFilters{User: strings.TrimSpace(q.Get("user")), Name: strings.TrimSpace(q.Get("name")),
		Status: q.Get("status"), Scope: strings.TrimSpace(q.Get("scope")), ExpiringDays: strings.TrimSpace(q.Get("expiring_days"))}
}

// query is the API query of f, or why the days the form asks for are not
// a number (the one unit the console converts; the API judges the rest).
func (f adminFilters) query() (url.Values, string) {
	q := url.Values{}
	if f.User != "" {
		q.Set("user", f.User)
	}
	if f.Name != "" {
		q.Set("name", nameGlob(f.Name))
	}
	if f.Status != "" {
		q.Set("status", f.Status)
	}
	if f.Scope != "" {
		q.Set("scope", f.Scope)
	}
	if f.ExpiringDays != "" {
		n, err := strconv.ParseInt(f.ExpiringDays, 10, 32)
		if err != nil || n < 1 {
			return nil, "Expiring within takes a whole number of days, such as 7."
		}
		q.Set("expiring_within", strconv.FormatInt(n*86400, 10))
	}
	return q, ""
}

// values is f as the console's own query, for links that keep it.
func (f adminFilters) values() url.Values {
	q := url.Values{}
	for k, v := range map[string]string{"user": f.User, "name": f.Name, "status": f.Status, "scope": f.Scope, "expiring_days": f.ExpiringDays} {
		if v != "" {
			q.Set(k, v)
		}
	}
	return q
}

// adminData is what admin.html shows.
type adminData struct {
	Filters     adminFilters
	FilterError string
	Items       []api.AdminToken
	Next, First string // links that keep the filters
	Paged       bool
	Users       []api.AdminUser
}

// adminPage shows every user's tokens (with the admin filters) and the
// accounts, with bulk revoke and disable.
func (h *handler) adminPage(w http.ResponseWriter, r *http.Request, s *session) {
	f := readAdminFilters(r.URL.Query())
	cursor := r.URL.Query().Get("cursor")
	q, bad := f.query()
	d := adminData{Filters: f, Paged: cursor != "", FilterError: bad, First: adminPath}
	if v := f.values(); len(v) > 0 {
		d.First += "?" + v.Encode()
	}
	var page api.AdminTokenPage
	var err error
	if bad == "" {
		q.Set("limit", strconv.Itoa(pageSize))
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		err = h.call(r, &s.user, http.MethodGet, "/v1/admin/tokens", q, nil, &page, nil)
	}
	var ae *apiError
	switch {
	case bad != "": // shown beside the filters
	case errors.As(err, &ae) && ae.Status < 500:
		d.FilterError = ae.Error() // the filter's refusal, beside the filters
	case err != nil:
		h.internal(w, r, s, "list every user's tokens", err)
		return
	default:
		d.Items = page.Items
		if page.NextCursor != nil {
			nq := f.values()
			nq.Set("cursor", *page.NextCursor)
			d.Next = adminPath + "?" + nq.Encode()
		}
	}
	var users api.AdminUserList
	if err := h.call(r, &s.user, http.MethodGet, "/v1/admin/users", nil, nil, &users, nil); err != nil {
		h.apiFailed(w, r, s, "list users", err)
		return
	}
	d.Users = users.Items
	status := http.StatusOK
	if d.FilterError != "" {
		status = http.StatusBadRequest
	}
	h.render(w, r, status, "admin", s.view("Admin", "admin", view{Data: d}))
}

// adminConfirmRevoke names the selected tokens and their owners.
func (h *handler) adminConfirmRevoke(w http.ResponseWriter, r *http.Request, s *session) {
	_ = r.ParseForm()
	d := confirmData{Action: adminPath + "/tokens/delete", Verb: "Revoke", Back: adminPath}
	for _, id := range r.PostForm["id"] {
		var t api.AdminToken
		err := h.call(r, &s.user, http.MethodGet, "/v1/admin/tokens/"+url.PathEscape(id), nil, nil, &t, nil)
		var ae *apiError
		if errors.As(err, &ae) && ae.Status == http.StatusNotFound {
			continue
		} else if err != nil {
			h.apiFailed(w, r, s, "read token", err)
			return
		}
		d.IDs = append(d.IDs, t.ID)
		if len(d.Names) < maxConfirmNames {
			d.Names = append(d.Names, t.Name+" ("+t.User+")")
		}
		if len(d.IDs) == api.MaxBulkDelete {
			break
		}
	}
	d.Count = len(d.IDs)
	d.More = d.Count - len(d.Names)
	if d.Count == 0 {
		h.render(w, r, http.StatusBadRequest, "message", s.view("Nothing selected", "admin", view{
			Error: "No tokens were selected, so nothing was revoked."}))
		return
	}
	h.render(w, r, http.StatusOK, "confirm", s.view(fmt.Sprintf("Revoke %d %s?", d.Count, plural(d.Count, "token")), "admin", view{Data: d}))
}

// adminRevoke deletes the confirmed tokens (POST /v1/admin/tokens/delete).
func (h *handler) adminRevoke(w http.ResponseWriter, r *http.Request, s *session) {
	_ = r.ParseForm()
	ids := r.PostForm["id"]
	if len(ids) > api.MaxBulkDelete {
		ids = ids[:api.MaxBulkDelete]
	}
	var res api.BulkDeleteResult
	if err := h.call(r, &s.user, http.MethodPost, "/v1/admin/tokens/delete", nil, api.BulkDeleteRequest{IDs: ids}, &res, nil); err != nil {
		h.apiFailed(w, r, s, "revoke tokens", err)
		return
	}
	h.render(w, r, http.StatusOK, "summary", s.view(fmt.Sprintf("Revoked %d %s", len(res.Deleted), plural(len(res.Deleted), "token")), "admin",
		view{Data: summaryData{Deleted: len(res.Deleted), NotFound: len(res.NotFound), Back: adminPath}}))
}

// adminSetDisabled disables (offboards) or enables an account through
// PATCH /v1/admin/users/{name}, after a confirmation.
func (h *handler) adminSetDisabled(disabled bool) func(http.ResponseWriter, *http.Request, *session) {
	return func(w http.ResponseWriter, r *http.Request, s *session) {
		name := r.PathValue("name")
		verb := map[bool]string{true: "Disable", false: "Enable"}[disabled]
		if r.PostFormValue("confirm") == "" {
			what := "They can sign in and use their tokens again."
			if disabled {
				what = "Every token of theirs and every console session stops working at once; nothing is deleted, and enabling them undoes it."
			}
			h.render(w, r, http.StatusOK, "userconfirm", s.view(verb+" "+name+"?", "admin", view{Data: userConfirmData{
				Action: adminPath + "/users/" + url.PathEscape(name) + "/" + strings.ToLower(verb), Verb: verb, Name: name, What: what}}))
			return
		}
		if err := h.call(r, &s.user, http.MethodPatch, "/v1/admin/users/"+url.PathEscape(name), nil, api.UpdateUserRequest{Disabled: &disabled}, nil, nil); err != nil {
			h.apiFailed(w, r, s, strings.ToLower(verb)+" user", err)
			return
		}
		done := map[bool]string{true: "disabled", false: "enabled"}[disabled]
		h.render(w, r, http.StatusOK, "message", s.view(name+" is "+done, "admin", view{Message: "The account " + name + " is " + done + "."}))
	}
}

type userConfirmData struct{ Action, Verb, Name, What string }

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}
