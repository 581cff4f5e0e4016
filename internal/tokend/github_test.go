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
	gh := newGitHubReporter(t)
	keys := gh.keys

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

	post := func(url string) (*http.Response, string) { return gh.report(url, created.Secret) }
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

// githubReporter plays GitHub's secret scanning: a key list served over
// HTTP (for --github-keys-url) and reports signed with its key.
type githubReporter struct {
	t    *testing.T
	key  *ecdsa.PrivateKey
	keys *httptest.Server
}

func newGitHubReporter(t *testing.T) *githubReporter {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	keys := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintf(w, `{"public_keys":[{"key_identifier":"gh1","key":%q,"is_current":true}]}`,
			pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	}))
	t.Cleanup(keys.Close)
	return &githubReporter{t: t, key: key, keys: keys}
}

// report posts a signed report of secret to tokend at base and returns the
// answer and its body.
func (g *githubReporter) report(base, secret string) (*http.Response, string) {
	body := fmt.Sprintf(`[{"token":%q,"type":"tokend","url":"https://github.com/o/r/blob/x/.env","source":"content"}]`, secret)
	d := sha256.Sum256([]byte(body))
	sig, _ := ecdsa.SignASN1(rand.Reader, g.key, d[:])
	rq, _ := http.NewRequest("POST", base+"/v1/secret-scanning/github", strings.NewReader(body))
	rq.Header.Set("Content-Type", "application/json")
	rq.Header.Set("Github-Public-Key-Identifier", "gh1")
	rq.Header.Set("Github-Public-Key-Signature", base64.StdEncoding.EncodeToString(sig))
	res, err := http.DefaultClient.Do(rq)
	if err != nil {
		g.t.Fatal(err)
	}
	defer res.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(res.Body)
	return res, b.String()
}
