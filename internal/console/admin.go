package console

import "net/http"

func (h *handler) adminRoutes(mux *http.ServeMux) {}
