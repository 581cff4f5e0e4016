package console

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/tokenctl/tokenctl/internal/api"
	"github.com/tokenctl/tokenctl/internal/scope"
	"github.com/tokenctl/tokenctl/internal/timespec"
)

// pageSize is how many tokens one page of the table shows.
const pageSize = 50

// maxConfirmNames is how many names a delete confirmation lists before it
// says "and N more".
const maxConfirmNames = 50

func (h *handler) tokenRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /tokens", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, homePath, http.StatusSeeOther)
	})
	mux.HandleFunc("GET /tokens/new", h.signed(h.showAdd))
	mux.HandleFunc("POST /tokens/new", h.signed(h.add))
	mux.HandleFunc("GET /tokens/{id}/rotate", h.signed(h.confirmRotate))
	mux.HandleFunc("POST /tokens/{id}/rotate", h.signed(h.rotate))
	mux.HandleFunc("GET /tokens/{id}/delete", h.signed(h.confirmDeleteOne))
	mux.HandleFunc("POST /tokens/select", h.signed(h.confirmDelete))
	mux.HandleFunc("POST /tokens/delete", h.signed(h.delete))
}

// tokensData is what tokens.html shows.
type tokensData struct {
	Items  []api.Token
	Filter string // the name filter as typed
	Next   string // the next page's link, "" on the last
	Paged  bool   // not the first page
}

// nameGlob turns what a person types into the API's name glob: text
// without * or ? matches names containing it.
func nameGlob(filter string) string {
	if filter == "" || strings.ContainsAny(filter, "*?") {
		return filter
	}
	return "*" + filter + "*"
}

// tokensPage is the table: newest first, keyset-paged through the API's
// cursor, so page 200 costs what page 1 does.
func (h *handler) tokensPage(w http.ResponseWriter, r *http.Request, s *session) {
	q := r.URL.Query()
	filter, cursor := strings.TrimSpace(q.Get("name")), q.Get("cursor")
	aq := url.Values{"limit": {strconv.Itoa(pageSize)}, "status": {api.StatusAll}}
	if filter != "" {
		aq.Set("name", nameGlob(filter))
	}
	if cursor != "" {
		aq.Set("cursor", cursor)
	}
	var page api.TokenPage
	if err := h.call(r, &s.user, http.MethodGet, "/v1/tokens", aq, nil, &page, nil); err != nil {
		h.apiFailed(w, r, s, "list tokens", err)
		return
	}
	d := tokensData{Items: page.Items, Filter: filter, Paged: cursor != ""}
	if page.NextCursor != nil {
		nq := url.Values{"cursor": {*page.NextCursor}}
		if filter != "" {
			nq.Set("name", filter)
		}
		d.Next = homePath + "?" + nq.Encode()
	}
	h.render(w, r, http.StatusOK, "tokens", s.view("Access tokens", "tokens", view{Data: d}))
}

// addData is what add.html shows.
type addData struct {
	Name, Description, Days, Date string
	Scopes                        []scopeChoice
	DefaultDays, MaxDays          int
	MaxName, MaxDescription       int               // the server's limits, as maxlength
	Errors                        map[string]string // by field: name, description, expiry, scopes
}

type scopeChoice struct {
	Name, Description string
	Checked           bool
}

// formDefaults fills the server's limits and the scopes u may grant.
func (h *handler) formDefaults(r *http.Request, s *session, d *addData, checked func(string) bool) error {
	var info api.ServerInfo
	if err := h.call(r, nil, http.MethodGet, "/v1/server", nil, nil, &info, nil); err != nil {
		return err
	}
	d.DefaultDays = int(info.DefaultTokenLifetimeSeconds / 86400)
	d.MaxDays = int(info.MaxTokenLifetimeSeconds / 86400)
	d.MaxName, d.MaxDescription = info.MaxNameLength, info.MaxDescriptionLength
	var scopes api.ScopeList
	if err := h.call(r, &s.user, http.MethodGet, "/v1/scopes", nil, nil, &scopes, nil); err != nil {
		return err
	}
	d.Scopes = d.Scopes[:0]
	for _, sc := range scopes.Items {
		// Only an admin may grant admin scopes; the API refuses them to
		// anyone else, so they are not offered.
		if scope.IsAdmin(sc.Name) && !s.user.IsAdmin() {
			continue
		}
		d.Scopes = append(d.Scopes, scopeChoice{Name: sc.Name, Description: sc.Description, Checked: checked(sc.Name)})
	}
	return nil
}

func (h *handler) showAdd(w http.ResponseWriter, r *http.Request, s *session) {
	d := addData{}
	if err := h.formDefaults(r, s, &d, func(n string) bool { return n == scope.TokensRead || n == scope.TokensWrite }); err != nil {
		h.apiFailed(w, r, s, "read server limits", err)
		return
	}
	h.render(w, r, http.StatusOK, "add", s.view("Add token", "tokens", view{Data: d}))
}

// secretData is what secret.html shows, once: the page is no-store and
// the secret lives nowhere else on the server.
type secretData struct {
	Token   api.Token
	Secret  string
	Rotated bool
}

// add creates a token through POST /v1/tokens and shows its secret.
func (h *handler) add(w http.ResponseWriter, r *http.Request, s *session) {
	_ = r.ParseForm()
	f := r.PostForm
	d := addData{Name: f.Get("name"), Description: f.Get("description"), Days: strings.TrimSpace(f.Get("expires_in_days")),
		Date: strings.TrimSpace(f.Get("expires_on")), Errors: map[string]string{}}
	asked := scope.NewSet(f["scope"]...)
	if err := h.formDefaults(r, s, &d, asked.Has); err != nil {
		h.apiFailed(w, r, s, "read server limits", err)
		return
	}
	req := api.CreateTokenRequest{Name: d.Name, Description: d.Description, Scopes: asked}
	if req.Scopes == nil {
		req.Scopes = scope.Set{} // none ticked asks for none, not the default
	}
	switch {
	case d.Days != "" && d.Date != "":
		d.Errors["expiry"] = "Give a number of days or a date, not both."
	case d.Days != "":
		n, err := strconv.ParseInt(d.Days, 10, 32)
		if err != nil || n < 1 {
			d.Errors["expiry"] = fmt.Sprintf("Days must be a whole number from 1 to %d.", d.MaxDays)
			break
		}
		secs := n * 86400
		req.ExpiresInSeconds = &secs
	case d.Date != "":
		t, err := timespec.ParseDate(d.Date)
		if err != nil {
			d.Errors["expiry"] = "The date must be a day such as 2026-12-31."
			break
		}
		req.ExpiresAt = &t
	}
	if len(d.Errors) == 0 {
		var created api.CreatedToken
		err := h.call(r, &s.user, http.MethodPost, "/v1/tokens", nil, req, &created, nil)
		if err == nil {
			h.render(w, r, http.StatusCreated, "secret", s.view("Copy your new token", "tokens", view{
				Data: secretData{Token: created.Token, Secret: created.Secret}}))
			return
		}
		var ae *apiError
		if !errors.As(err, &ae) || ae.Status >= 500 {
			h.internal(w, r, s, "create token", err)
			return
		}
		d.Errors[fieldOf(ae.Problem)] = ae.Error()
	}
	v := s.view("Add token", "tokens", view{Data: d})
	if msg := d.Errors[""]; msg != "" {
		v.Error = msg
	}
	h.render(w, r, http.StatusBadRequest, "add", v)
}

// fieldOf says which form field an API refusal of a create is about, by
// the field its detail names; "" for the page as a whole.
func fieldOf(p api.Problem) string {
	d := strings.ToLower(p.Detail)
	switch {
	case p.Code == api.CodeLifetimeCapped, strings.HasPrefix(d, "expires"), strings.Contains(d, "expires_in_seconds or expires_at"):
		return "expiry"
	case strings.HasPrefix(d, "name"):
		return "name"
	case strings.HasPrefix(d, "description"):
		return "description"
	case p.Code == api.CodeAdminRequired, strings.Contains(d, "scope"):
		return "scopes"
	}
	return ""
}

// confirmData is what confirm.html shows before a rotate or a delete.
type confirmData struct {
	Action  string // the form's target
	Verb    string // "Delete" or "Rotate"
	IDs     []string
	Names   []string
	More    int    // tokens not named
	Filter  string // "select all matching": the filter, resolved again on confirm
	Before  string // … and only tokens not newer than this id
	Count   int
	Matched bool
	Back    string // where Cancel goes; "" for the tokens page
}

func (h *handler) token(r *http.Request, s *session, id string) (api.Token, error) {
	var t api.Token
	err := h.call(r, &s.user, http.MethodGet, "/v1/tokens/"+url.PathEscape(id), nil, nil, &t, nil)
	return t, err
}

func (h *handler) confirmRotate(w http.ResponseWriter, r *http.Request, s *session) {
	t, err := h.token(r, s, r.PathValue("id"))
	if err != nil {
		h.apiFailed(w, r, s, "read token", err)
		return
	}
	h.render(w, r, http.StatusOK, "confirm", s.view("Rotate token "+t.Name+"?", "tokens", view{Data: confirmData{
		Action: "/tokens/" + url.PathEscape(t.ID) + "/rotate", Verb: "Rotate", IDs: []string{t.ID}, Names: []string{t.Name}, Count: 1}}))
}

// rotate gives a token a new secret (POST /v1/tokens/{id}/rotate) and
// shows it once.
func (h *handler) rotate(w http.ResponseWriter, r *http.Request, s *session) {
	var created api.CreatedToken
	if err := h.call(r, &s.user, http.MethodPost, "/v1/tokens/"+url.PathEscape(r.PathValue("id"))+"/rotate", nil, nil, &created, nil); err != nil {
		h.apiFailed(w, r, s, "rotate token", err)
		return
	}
	h.render(w, r, http.StatusOK, "secret", s.view("Copy your new token", "tokens", view{
		Data: secretData{Token: created.Token, Secret: created.Secret, Rotated: true}}))
}

func (h *handler) confirmDeleteOne(w http.ResponseWriter, r *http.Request, s *session) {
	t, err := h.token(r, s, r.PathValue("id"))
	if err != nil {
		h.apiFailed(w, r, s, "read token", err)
		return
	}
	h.render(w, r, http.StatusOK, "confirm", s.view("Delete 1 token?", "tokens", view{Data: confirmData{
		Action: "/tokens/delete", Verb: "Delete", IDs: []string{t.ID}, Names: []string{t.Name}, Count: 1}}))
}

// confirmDelete names what the table's selection would delete: the ticked
// rows, or every token matching the filter ("select all matching").
func (h *handler) confirmDelete(w http.ResponseWriter, r *http.Request, s *session) {
	_ = r.ParseForm()
	d := confirmData{Action: "/tokens/delete", Verb: "Delete"}
	if r.PostForm.Get("all") != "" {
		d.Matched, d.Filter = true, strings.TrimSpace(r.PostForm.Get("name"))
		toks, err := h.matching(r, s, d.Filter, "")
		if err != nil {
			h.apiFailed(w, r, s, "list tokens", err)
			return
		}
		d.Count = len(toks)
		if len(toks) > 0 {
			d.Before = toks[0].ID // newest: tokens made after this page are not swept up
		}
		for i, t := range toks {
			if i == maxConfirmNames {
				break
			}
			d.Names = append(d.Names, t.Name)
		}
	} else {
		for _, id := range r.PostForm["id"] {
			t, err := h.token(r, s, id)
			var ae *apiError
			if errors.As(err, &ae) && ae.Status == http.StatusNotFound {
				continue // deleted meanwhile
			} else if err != nil {
				h.apiFailed(w, r, s, "read token", err)
				return
			}
			d.IDs = append(d.IDs, t.ID)
			if len(d.Names) < maxConfirmNames {
				d.Names = append(d.Names, t.Name)
			}
			if len(d.IDs) == api.MaxBulkDelete {
				break
			}
		}
		d.Count = len(d.IDs)
	}
	d.More = d.Count - len(d.Names)
	if d.Count == 0 {
		h.render(w, r, http.StatusBadRequest, "message", s.view("Nothing selected", "tokens", view{
			Error: "No tokens were selected, so nothing was deleted. Tick the tokens to delete first."}))
		return
	}
	title := fmt.Sprintf("Delete %d tokens?", d.Count)
	if d.Count == 1 {
		title = "Delete 1 token?"
	}
	h.render(w, r, http.StatusOK, "confirm", s.view(title, "tokens", view{Data: d}))
}

// matching lists every token of s's user whose name matches filter, newest
// first, through the API's pages; before, when set, skips tokens newer
// than it (ids sort by time).
func (h *handler) matching(r *http.Request, s *session, filter, before string) ([]api.Token, error) {
	var out []api.Token
	q := url.Values{"limit": {strconv.Itoa(api.MaxPageSize)}, "status": {api.StatusAll}}
	if filter != "" {
		q.Set("name", nameGlob(filter))
	}
	for {
		var page api.TokenPage
		if err := h.call(r, &s.user, http.MethodGet, "/v1/tokens", q, nil, &page, nil); err != nil {
			return nil, err
		}
		for _, t := range page.Items {
			if before == "" || t.ID <= before {
				out = append(out, t)
			}
		}
		if page.NextCursor == nil {
			return out, nil
		}
		q.Set("cursor", *page.NextCursor)
	}
}

// summaryData is what summary.html shows after a delete.
type summaryData struct {
	Deleted, NotFound int
	Back              string // "" for the tokens page
}

// partialDelete shows the summary of the batches done before err
// stopped a delete, with how many tokens it left.
func (h *handler) partialDelete(w http.ResponseWriter, r *http.Request, s *session, sum summaryData, left int, err error) {
	status, msg := http.StatusInternalServerError, "tokend could not go on just now"
	var ae *apiError
	if errors.As(err, &ae) && ae.Status < 500 {
		status, msg = ae.Status, ae.Error()
		if ae.RetryAfter != "" {
			w.Header().Set("Retry-After", ae.RetryAfter)
		}
	} else {
		h.logFor(r).Error("console: delete tokens", "error", err.Error())
	}
	h.render(w, r, status, "summary", s.view("Deleted only some tokens", "tokens", view{Data: sum,
		Error: fmt.Sprintf("Stopped with %d tokens not deleted: %s. Select them again to delete the rest.", left, msg)}))
}

// delete deletes the confirmed tokens through POST /v1/tokens/delete, in
// batches of the API's bulk limit, and sums up its reports.
func (h *handler) delete(w http.ResponseWriter, r *http.Request, s *session) {
	_ = r.ParseForm()
	ids := r.PostForm["id"]
	if r.PostForm.Get("all") != "" {
		toks, err := h.matching(r, s, strings.TrimSpace(r.PostForm.Get("name")), r.PostForm.Get("before"))
		if err != nil {
			h.apiFailed(w, r, s, "list tokens", err)
			return
		}
		ids = ids[:0]
		for _, t := range toks {
			ids = append(ids, t.ID)
		}
	}
	var sum summaryData
	for len(ids) > 0 {
		n := min(len(ids), api.MaxBulkDelete)
		var res api.BulkDeleteResult
		if err := h.call(r, &s.user, http.MethodPost, "/v1/tokens/delete", nil, api.BulkDeleteRequest{IDs: ids[:n]}, &res, nil); err != nil {
			if sum.Deleted+sum.NotFound == 0 {
				h.apiFailed(w, r, s, "delete tokens", err)
				return
			}
			// Earlier batches are done: say what was deleted and what
			// was not, rather than an error that hides both.
			h.partialDelete(w, r, s, sum, len(ids), err)
			return
		}
		sum.Deleted += len(res.Deleted)
		sum.NotFound += len(res.NotFound)
		ids = ids[n:]
	}
	title := fmt.Sprintf("Deleted %d tokens", sum.Deleted)
	if sum.Deleted == 1 {
		title = "Deleted 1 token"
	}
	h.render(w, r, http.StatusOK, "summary", s.view(title, "tokens", view{Data: sum}))
}
