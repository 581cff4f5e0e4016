package console

import (
	"net/http"
	"net/url"
	"strconv"

	"github.com/tokenctl/tokenctl/internal/api"
)

func (h *handler) activityRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /activity", h.signed(h.activity))
}

// activityData is what activity.html shows.
type activityData struct {
	Items []api.Event
	Next  string
	Paged bool
}

// activity is the user's own audit trail (GET /v1/events), newest first.
func (h *handler) activity(w http.ResponseWriter, r *http.Request, s *session) {
	cursor := r.URL.Query().Get("cursor")
	q := url.Values{"limit": {strconv.Itoa(pageSize)}}
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	var page api.EventPage
	if err := h.call(r, &s.user, http.MethodGet, "/v1/events", q, nil, &page, nil); err != nil {
		h.apiFailed(w, r, s, "list events", err)
		return
	}
	d := activityData{Items: page.Items, Paged: cursor != ""}
	if page.NextCursor != nil {
		d.Next = "/activity?" + url.Values{"cursor": {*page.NextCursor}}.Encode()
	}
	h.render(w, r, http.StatusOK, "activity", s.view("Activity", "activity", view{Data: d}))
}
