package oidctest_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/tokenctl/tokenctl/internal/oidctest"
	"github.com/tokenctl/tokenctl/internal/oidcverify"
)

func getJSON(t *testing.T, url, auth string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var m map[string]any
	_ = json.Unmarshal(body, &m)
	return resp.StatusCode, m
}

func TestIssuerPublishesDiscoveryAndKeys(t *testing.T) {
	iss := oidctest.NewIssuer(t)
	if !strings.HasPrefix(iss.URL(), "http://127.0.0.1:") {
		t.Fatalf("URL = %q, want loopback", iss.URL())
	}
	if err := oidcverify.CheckIssuerURL(iss.URL()); err != nil {
		t.Fatalf("a policy could not name the test issuer: %v", err)
	}
	code, doc := getJSON(t, iss.URL()+"/.well-known/openid-configuration", "")
	if code != 200 || doc["issuer"] != iss.URL() || doc["jwks_uri"] != iss.JWKSURL() {
		t.Fatalf("discovery: %d %v", code, doc)
	}
	code, set := getJSON(t, iss.JWKSURL(), "")
	keys, _ := set["keys"].([]any)
	if code != 200 || len(keys) != 2 {
		t.Fatalf("JWKS: %d %v", code, set)
	}
	for _, k := range keys {
		k := k.(map[string]any)
		if _, private := k["d"]; private {
			t.Fatalf("the JWKS publishes a private key: %v", k["kid"])
		}
	}
	iss.RotateKeysKeepOld()
	if _, set = getJSON(t, iss.JWKSURL(), ""); len(set["keys"].([]any)) != 4 {
		t.Fatalf("after a rotation keeping old keys: %v", set)
	}
	iss.RotateKeys()
	rsaKID, ecKID := iss.KeyIDs()
	if _, set = getJSON(t, iss.JWKSURL(), ""); len(set["keys"].([]any)) != 2 || rsaKID != "rsa-3" || ecKID != "ec-3" {
		t.Fatalf("after a rotation: %v (kids %s %s)", set, rsaKID, ecKID)
	}
	if iss.DiscoveryFetches() != 1 || iss.JWKSFetches() != 3 {
		t.Fatalf("counters: %d %d", iss.DiscoveryFetches(), iss.JWKSFetches())
	}
}

func TestCloseReleasesHangingRequests(t *testing.T) {
	iss, err := oidctest.StartIssuer()
	if err != nil {
		t.Fatal(err)
	}
	iss.SetJWKSMode(oidctest.Hang)
	done := make(chan struct{})
	go func() {
		defer close(done)
		resp, err := http.Get(iss.JWKSURL())
		if err == nil {
			resp.Body.Close()
		}
	}()
	for iss.JWKSFetches() == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	iss.Close() // must not wait for the hanging handler forever
	<-done
	iss.Close() // twice is fine
}

func TestClaimSetsVerify(t *testing.T) {
	iss := oidctest.NewIssuer(t)
	v := oidcverify.New(oidcverify.Options{})
	const aud = "https://tokend.example.com"
	gh := oidctest.GitHubClaims("octo-org/octo-repo", "refs/tags/v1.2.0", "777")
	gh["aud"] = aud
	gl := oidctest.GitLabClaims("group/sub/project", "main", "555")
	gl["aud"] = aud
	for name, c := range map[string]map[string]any{"github": gh, "gitlab": gl} {
		id, err := v.Verify(context.Background(), iss.Mint(t, c), iss.URL(), []string{aud})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		switch name {
		case "github":
			if id.Subject != "repo:octo-org/octo-repo:ref:refs/tags/v1.2.0" || id.Claims["ref_type"] != "tag" ||
				id.Claims["repository_owner"] != "octo-org" || id.Claims["workflow_ref"] != "octo-org/octo-repo/.github/workflows/deploy.yml@refs/tags/v1.2.0" {
				t.Errorf("github claims: %v", id.Claims)
			}
		case "gitlab":
			if id.Subject != "project_path:group/sub/project:ref_type:branch:ref:main" || id.Claims["namespace_path"] != "group/sub" ||
				id.Claims["ref_path"] != "refs/heads/main" || id.Claims["pipeline_id"] != "555" {
				t.Errorf("gitlab claims: %v", id.Claims)
			}
		}
	}
}

func TestActionsRunner(t *testing.T) {
	iss := oidctest.NewIssuer(t)
	ar := oidctest.NewActionsRunner(t, iss, oidctest.GitHubClaims("octo-org/octo-repo", "refs/heads/main", "42"))
	if !strings.Contains(ar.RequestURL(), "?api-version=") {
		t.Fatalf("RequestURL %q has no query; clients must be made to append with &", ar.RequestURL())
	}
	if env := strings.Join(ar.Environ(), "\n"); !strings.Contains(env, "ACTIONS_ID_TOKEN_REQUEST_URL="+ar.RequestURL()) ||
		!strings.Contains(env, "ACTIONS_ID_TOKEN_REQUEST_TOKEN="+ar.RequestToken()) {
		t.Errorf("Environ = %q", env)
	}
	url := ar.RequestURL() + "&audience=" + "https%3A%2F%2Ftokend.example.com"

	for name, auth := range map[string]string{
		"no authorization": "",
		"wrong token":      "Bearer not-the-token",
		"basic scheme":     "Basic " + ar.RequestToken(),
	} {
		if code, _ := getJSON(t, url, auth); code != http.StatusUnauthorized {
			t.Errorf("%s: status %d, want 401", name, code)
		}
	}
	if ar.Requests() != 0 {
		t.Fatalf("refused requests were counted: %d", ar.Requests())
	}

	v := oidcverify.New(oidcverify.Options{})
	var jtis []string
	for _, scheme := range []string{"bearer", "Bearer"} {
		code, body := getJSON(t, url, scheme+" "+ar.RequestToken())
		raw, _ := body["value"].(string)
		if code != 200 || raw == "" {
			t.Fatalf("status %d, body %v", code, body)
		}
		id, err := v.Verify(context.Background(), raw, iss.URL(), []string{"https://tokend.example.com"})
		if err != nil {
			t.Fatalf("the runner's token does not verify: %v", err)
		}
		if id.Claims["run_id"] != "42" {
			t.Errorf("claims: %v", id.Claims)
		}
		jtis = append(jtis, id.ID)
	}
	if jtis[0] == jtis[1] {
		t.Errorf("two requests got the same jti %q", jtis[0])
	}
	if ar.Requests() != 2 || ar.LastAudience() != "https://tokend.example.com" {
		t.Errorf("requests %d, last audience %q", ar.Requests(), ar.LastAudience())
	}

	// Without an audience GitHub uses the owner's URL.
	_, body := getJSON(t, ar.RequestURL(), "bearer "+ar.RequestToken())
	raw, _ := body["value"].(string)
	if _, err := v.Verify(context.Background(), raw, iss.URL(), []string{"https://github.com/octo-org"}); err != nil {
		t.Errorf("default audience: %v", err)
	}

	ar.SetMode(oidctest.ServerError)
	if code, _ := getJSON(t, url, "bearer "+ar.RequestToken()); code != http.StatusInternalServerError {
		t.Errorf("ServerError mode: status %d", code)
	}
}

// Mint and the hostile minting helpers work from testscript commands.
var _ oidctest.Fataler = (*testscript.TestScript)(nil)
