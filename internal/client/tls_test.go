package client

import (
	"context"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tokenctl/tokenctl/internal/api"
)

// A server whose certificate no trusted CA signed is a certificate problem,
// said as one, not "cannot reach"; with its CA in a file it works.
func TestPrivateCA(t *testing.T) {
	var calls int
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		writeJSON(w, http.StatusOK, api.User{ID: "u1", Username: "alice"})
	}))
	defer srv.Close()
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}

	c, err := New(Options{Host: srv.URL, Token: "t"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.User(context.Background())
	var te *TLSError
	if !errors.As(err, &te) {
		t.Fatalf("err = %v, want a *TLSError", err)
	}
	msg := err.Error()
	for _, want := range []string{"x509", "unknown authority", "--ca-file", strings.TrimPrefix(srv.URL, "https://")} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q: %s", want, msg)
		}
	}
	if strings.Contains(msg, "cannot reach") {
		t.Errorf("a certificate failure reads as a network one: %s", msg)
	}
	if calls != 0 {
		t.Errorf("the handler ran %d times over an untrusted connection", calls)
	}

	pool, err := LoadCAFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	c, err = New(Options{Host: srv.URL, Token: "t", RootCAs: pool, CAFile: caFile})
	if err != nil {
		t.Fatal(err)
	}
	if u, err := c.User(context.Background()); err != nil || u.Username != "alice" {
		t.Fatalf("with the CA file: %v", err)
	}
}

func TestLoadCAFileRefusesWhatIsNotACertificate(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(notPEM, []byte("hello\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadCAFile(notPEM); err == nil || !strings.Contains(err.Error(), "no PEM certificate") {
		t.Errorf("not PEM: %v", err)
	}
	if _, err := LoadCAFile(filepath.Join(dir, "missing.pem")); err == nil {
		t.Error("a missing file loaded")
	}
}
