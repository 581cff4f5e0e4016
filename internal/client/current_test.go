package client

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestDeleteCurrentTokenUsesTheTokenItself(t *testing.T) {
	var method, path, auth string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		method, path, auth = r.Method, r.URL.Path, r.Header.Get("Authorization")
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	c, _ := New(Options{Host: srv.URL, Token: "tkn_minted"})
	if err := c.DeleteCurrentToken(context.Background()); err != nil {
		t.Fatal(err)
	}
	if method != http.MethodDelete || path != "/v1/tokens/current" || auth != "Bearer tkn_minted" {
		t.Errorf("got %s %s %q", method, path, auth)
	}
}
