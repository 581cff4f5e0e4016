package tokend

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
)

// TestServeGitHubKeysURL: --github-keys-url turns POST
// /v1/secret-scanning/github on in a real tokend, which fetches the key
// list from that URL and revokes the reported token; without the flag the
// route is 404.
func TestServeGitHubKeysURL(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	keys := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintf(w, `{"public_keys":[{"key_identifier":"gh1","key":%q,"is_current":true}]}`,
			pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	}))
	defer keys.Close()

	db := newDB(t, filepath.Join(t.TempDir(), "gh.db"))
	base, _, stop := startServe(t, "--database", db, "--github-keys-url", keys.URL, "--github-keys-url", keys.URL+"/ghes")
	defer stop()

	// A token for admin, made over HTTP with the password newDB set.
	rq, _ := http.NewRequest("POST", base+"/v1/tokens", strings.NewReader(`{"name":"leaky"}`))
	rq.SetBasicAuth("admin", "pw")
	rq.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(rq)
	if err != nil || res.StatusCode != 201 {
		t.Fatalf("create: %v %v", res, err)
	}
	var created struct {
		Secret string `json:"token"`
	}
	json.NewDecoder(res.Body).Decode(&created)
	res.Body.Close()

	body := fmt.Sprintf(`[{"token":%q,"type":"tokend","url":"https://github.com/o/r/blob/x/.env","source":"content"}]`, created.Secret)
	d := sha256.Sum256([]byte(body))
	sig, _ := ecdsa.SignASN1(rand.Reader, key, d[:])
	post := func(url string) (*http.Response, string) {
		rq, _ := http.NewRequest("POST", url+"/v1/secret-scanning/github", strings.NewReader(body))
		rq.Header.Set("Content-Type", "application/json")
		rq.Header.Set("Github-Public-Key-Identifier", "gh1")
		rq.Header.Set("Github-Public-Key-Signature", base64.StdEncoding.EncodeToString(sig))
		res, err := http.DefaultClient.Do(rq)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var b bytes.Buffer
		b.ReadFrom(res.Body)
		return res, b.String()
	}
	if res, out := post(base); res.StatusCode != 200 || !strings.Contains(out, `"label":"true_positive"`) {
		t.Fatalf("report: %d %s", res.StatusCode, out)
	}
	rq, _ = http.NewRequest("GET", base+"/v1/user", nil)
	rq.Header.Set("Authorization", "Bearer "+created.Secret)
	if res, err := http.DefaultClient.Do(rq); err != nil || res.StatusCode != 401 {
		t.Fatalf("the reported token still authenticates: %v %v", res, err)
	}

	db2 := newDB(t, filepath.Join(t.TempDir(), "off.db"))
	off, _, stop2 := startServe(t, "--database", db2)
	defer stop2()
	if res, out := post(off); res.StatusCode != 404 {
		t.Fatalf("without --github-keys-url: %d %s", res.StatusCode, out)
	}
}
