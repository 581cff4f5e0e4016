package server

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/tokenctl/tokenctl/internal/api"
	"github.com/tokenctl/tokenctl/internal/secret"
	"github.com/tokenctl/tokenctl/internal/store"
)

// GitHub's secret-scanning partner program (docs/secret-scanning.md):
// GitHub POSTs the tokens of ours it found in public code, signed with
// one of the ECDSA P-256 keys it publishes, and reads back a label per
// token.
const (
	// GitHubMaxReportBytes bounds a report's body; GitHub batches, but
	// 1 MiB holds far more than MaxRevokeSecrets tokens with their URLs.
	GitHubMaxReportBytes = 1 << 20
	// GitHubKeyRefetch is how often an unknown key identifier may make
	// tokend fetch the key list again, so forged identifiers cannot turn
	// tokend into a load generator against GitHub.
	GitHubKeyRefetch = time.Minute
	// githubReplayTTL and githubReplayMax bound the memory of signatures
	// already acted on (docs/decisions.md, "GitHub report replays").
	githubReplayTTL = time.Hour
	githubReplayMax = 10_000

	githubKeyIDHeader     = "Github-Public-Key-Identifier"
	githubSignatureHeader = "Github-Public-Key-Signature"
)

// githubKeys caches GitHub's published keys and remembers recent reports.
type githubKeys struct {
	urls   []string
	client *http.Client
	now    func() time.Time

	fetchMu   sync.Mutex // one fetch at a time
	mu        sync.Mutex // guards keys and fetchedAt
	keys      map[string]*ecdsa.PublicKey
	fetchedAt time.Time // last attempt, successful or not

	seenMu sync.Mutex
	seen   map[[32]byte]githubSeen
}

// githubSeen is what a report's first delivery found: which of its items
// were our tokens, so a redelivery is labelled alike without a new write.
type githubSeen struct {
	at   time.Time
	ours []bool
}

func newGitHubKeys(cfg Config) *githubKeys {
	if len(cfg.GitHubKeysURLs) == 0 {
		return nil
	}
	c := cfg.GitHubClient
	if c == nil {
		c = &http.Client{Timeout: 10 * time.Second}
	}
	return &githubKeys{urls: cfg.GitHubKeysURLs, client: c, now: cfg.Now, seen: map[[32]byte]githubSeen{}}
}

var (
	errGitHubUnknownKey = errors.New("unknown key identifier")
	errGitHubKeysFetch  = errors.New("cannot fetch GitHub's public keys")
)

// key returns the public key named id, fetching the list when it is not
// cached and the last fetch is at least GitHubKeyRefetch old. A fetch in
// flight holds only fetchMu, so reports signed with a known key never wait
// on a slow GitHub.
func (g *githubKeys) key(ctx context.Context, id string) (*ecdsa.PublicKey, error) {
	if k, ok := g.cached(id); ok {
		return k, nil
	}
	g.fetchMu.Lock()
	defer g.fetchMu.Unlock()
	g.mu.Lock()
	k, ok := g.keys[id] // a fetch that just finished may have brought it
	have, last := g.keys != nil, g.fetchedAt
	g.mu.Unlock()
	if ok {
		return k, nil
	}
	now := g.now()
	if !last.IsZero() && now.Sub(last) < GitHubKeyRefetch {
		if !have {
			return nil, errGitHubKeysFetch
		}
		return nil, errGitHubUnknownKey
	}
	keys, complete, err := g.fetch(ctx)
	g.mu.Lock()
	defer g.mu.Unlock()
	g.fetchedAt = now
	switch {
	case complete:
		g.keys = keys // keys GitHub no longer lists are forgotten
	case len(keys) > 0 || g.keys != nil:
		merged := maps.Clone(g.keys)
		if merged == nil {
			merged = map[string]*ecdsa.PublicKey{}
		}
		maps.Copy(merged, keys)
		g.keys = merged
	default:
		return nil, fmt.Errorf("%w: %v", errGitHubKeysFetch, err)
	}
	if k, ok := g.keys[id]; ok {
		return k, nil
	}
	return nil, errGitHubUnknownKey
}

func (g *githubKeys) cached(id string) (*ecdsa.PublicKey, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	k, ok := g.keys[id]
	return k, ok
}

// githubKeyList is GET https://api.github.com/meta/public_keys/secret_scanning.
type githubKeyList struct {
	PublicKeys []struct {
		KeyIdentifier string `json:"key_identifier"`
		Key           string `json:"key"`
		IsCurrent     bool   `json:"is_current"`
	} `json:"public_keys"`
}

// fetch reads every key list: github.com's and each GitHub Enterprise
// Server's. complete is false when some list failed: the keys then add to
// those cached rather than replace them, so one instance being down does
// not stop the others' reports nor forget its own keys.
func (g *githubKeys) fetch(ctx context.Context) (keys map[string]*ecdsa.PublicKey, complete bool, err error) {
	keys = map[string]*ecdsa.PublicKey{}
	var errs []error
	for _, u := range g.urls {
		if err := g.fetchOne(ctx, u, keys); err != nil {
			errs = append(errs, err)
		}
	}
	return keys, len(errs) == 0, errors.Join(errs...)
}

func (g *githubKeys) fetchOne(ctx context.Context, url string, keys map[string]*ecdsa.PublicKey) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	res, err := g.client.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, res.Status)
	}
	var list githubKeyList
	if err := json.NewDecoder(io.LimitReader(res.Body, GitHubMaxReportBytes)).Decode(&list); err != nil {
		return fmt.Errorf("GET %s: %w", url, err)
	}
	n := 0
	// Keys that are no longer current still verify: GitHub signs with
	// them for a while after a rotation.
	for _, k := range list.PublicKeys {
		block, _ := pem.Decode([]byte(k.Key))
		if block == nil || k.KeyIdentifier == "" {
			continue
		}
		pub, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			continue
		}
		if ec, ok := pub.(*ecdsa.PublicKey); ok && ec.Curve == elliptic.P256() {
			keys[k.KeyIdentifier] = ec
			n++
		}
	}
	if n == 0 {
		return fmt.Errorf("GET %s: no ECDSA P-256 keys in the list", url)
	}
	return nil
}

// replayed returns what the first delivery of the report signed by sig
// found, if it is remembered.
func (g *githubKeys) replayed(sig [32]byte) ([]bool, bool) {
	g.seenMu.Lock()
	defer g.seenMu.Unlock()
	s, ok := g.seen[sig]
	if !ok || g.now().Sub(s.at) >= githubReplayTTL {
		return nil, false
	}
	return s.ours, true
}

func (g *githubKeys) remember(sig [32]byte, ours []bool) {
	g.seenMu.Lock()
	defer g.seenMu.Unlock()
	now := g.now()
	if len(g.seen) >= githubReplayMax {
		for k, s := range g.seen {
			if now.Sub(s.at) >= githubReplayTTL {
				delete(g.seen, k)
			}
		}
		for k := range g.seen { // still full: forget arbitrary ones
			if len(g.seen) < githubReplayMax {
				break
			}
			delete(g.seen, k)
		}
	}
	g.seen[sig] = githubSeen{at: now, ours: ours}
}

// githubReportItem is one match in GitHub's report.
type githubReportItem struct {
	Token  string `json:"token"`
	Type   string `json:"type"`
	URL    string `json:"url"`
	Source string `json:"source"`
}

// GitHubLabel is one entry of the answer GitHub reads.
type GitHubLabel struct {
	TokenHash string `json:"token_hash"` // hex SHA-256 of the token: never echo a secret
	TokenType string `json:"token_type"`
	Label     string `json:"label"` // true_positive or false_positive
}

// handleGitHubReport is POST /v1/secret-scanning/github.
func (s *server) handleGitHubReport(w http.ResponseWriter, r *http.Request, _ *principal) {
	g := s.github
	if g == nil {
		writeProblem(w, r, http.StatusNotFound, api.CodeNotFound,
			"GitHub secret scanning is not enabled on this server (tokend serve --github-keys-url)")
		return
	}
	if r.ContentLength > GitHubMaxReportBytes {
		writeProblem(w, r, http.StatusRequestEntityTooLarge, api.CodeBodyTooLarge,
			fmt.Sprintf("a secret-scanning report is at most %d bytes", GitHubMaxReportBytes))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, GitHubMaxReportBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeProblem(w, r, http.StatusRequestEntityTooLarge, api.CodeBodyTooLarge,
				fmt.Sprintf("a secret-scanning report is at most %d bytes", GitHubMaxReportBytes))
			return
		}
		writeProblem(w, r, http.StatusBadRequest, api.CodeBadRequest, "could not read the request body")
		return
	}
	// The signature is checked before the body is parsed: nothing of an
	// unsigned report is looked at.
	id, sigText := r.Header.Get(githubKeyIDHeader), r.Header.Get(githubSignatureHeader)
	if id == "" || sigText == "" {
		s.githubUnauthorized(w, r, false, "send the "+githubKeyIDHeader+" and "+githubSignatureHeader+" headers GitHub signs reports with")
		return
	}
	sig, err := base64.StdEncoding.DecodeString(sigText)
	if err != nil {
		s.githubUnauthorized(w, r, true, githubSignatureHeader+" is not base64")
		return
	}
	pub, err := g.key(r.Context(), id)
	switch {
	case errors.Is(err, errGitHubKeysFetch):
		s.log.WarnContext(r.Context(), "fetch GitHub secret-scanning keys", "request_id", requestID(r), "error", err.Error())
		w.Header().Set("Retry-After", fmt.Sprint(int(GitHubKeyRefetch/time.Second)))
		writeProblem(w, r, http.StatusServiceUnavailable, api.CodeUnavailable,
			"cannot fetch GitHub's public keys to verify the report; retry later")
		return
	case err != nil:
		s.githubUnauthorized(w, r, true, githubKeyIDHeader+" names no key GitHub publishes")
		return
	}
	digest := sha256.Sum256(body)
	if !ecdsa.VerifyASN1(pub, digest[:], sig) {
		s.githubUnauthorized(w, r, true, "the report's signature does not verify")
		return
	}
	var items []githubReportItem
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&items); err != nil || dec.More() {
		writeProblem(w, r, http.StatusBadRequest, api.CodeInvalidJSON, "the report must be a JSON array of {token, type, url, source}")
		return
	}
	if n := len(items); n == 0 || n > api.MaxRevokeSecrets {
		writeProblem(w, r, http.StatusBadRequest, api.CodeValidation,
			fmt.Sprintf("a report must list 1 to %d tokens, got %d", api.MaxRevokeSecrets, n))
		return
	}
	sigKey := sha256.Sum256(append([]byte(id+"\x00"), sig...))
	ours, seen := g.replayed(sigKey)
	if !seen {
		if ours, err = s.revokeGitHubReport(r, items); err != nil {
			s.internalError(w, r, "revoke tokens GitHub reported", err)
			return
		}
		g.remember(sigKey, ours)
	}
	out := make([]GitHubLabel, len(items))
	for i, it := range items {
		h := sha256.Sum256([]byte(it.Token))
		out[i] = GitHubLabel{TokenHash: hex.EncodeToString(h[:]), TokenType: it.Type, Label: "false_positive"}
		if ours[i] {
			out[i].Label = "true_positive"
		}
	}
	encode(w, http.StatusOK, out)
}

// githubUnauthorized answers 401. A forged or unknown signature counts
// as a failed authentication of the address, as a wrong token does, so a
// forger meets 429 like any guesser; a report with no signature at all
// does not count, as a request with no credentials does not.
func (s *server) githubUnauthorized(w http.ResponseWriter, r *http.Request, counted bool, detail string) {
	if counted {
		if wait := s.limits.failedCredential(s.limitKey(r), s.cfg.Now()); wait > 0 {
			s.tooManyFailures(w, r, wait, tooManyBadCredentials)
			return
		}
	}
	writeProblem(w, r, http.StatusUnauthorized, api.CodeUnauthorized, detail)
}

// revokeGitHubReport labels every item (true when it is a token this
// server issued, live or not) and revokes the live ones, one
// token.revoked_leaked event each, naming the URL where it was found.
func (s *server) revokeGitHubReport(r *http.Request, items []githubReportItem) ([]bool, error) {
	ours := make([]bool, len(items))
	byURL := map[string][][32]byte{}
	var urls []string
	for i, it := range items {
		tok, err := secret.Parse(it.Token)
		if err != nil {
			continue // no token of ours, and no store lookup for it
		}
		d := tok.Digest()
		_, _, err = s.store.TokenByDigest(r.Context(), d)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		ours[i] = true
		if _, ok := byURL[it.URL]; !ok {
			urls = append(urls, it.URL)
		}
		byURL[it.URL] = append(byURL[it.URL], d)
	}
	for _, u := range urls {
		src := redact(u)
		if len(src) > api.MaxRevokeSource {
			src = strings.ToValidUTF8(src[:api.MaxRevokeSource], "")
		}
		a := store.Audit{At: s.eventTime(), ActorKind: store.ActorLeakReport, Source: src}
		a.ClientAddress, a.UserAgent = s.client(r)
		if _, err := s.store.RevokeByDigests(store.WithAudit(r.Context(), a), byURL[u], s.cfg.Now()); err != nil {
			return nil, err
		}
	}
	return ours, nil
}
