// Package webhook delivers tokend's events to operators' webhooks: it
// signs them as the Standard Webhooks specification says, posts them, and
// drains the store's outbox with leases, retries and backoff.
package webhook

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/tokenctl/tokenctl/internal/netaddr"
	"github.com/tokenctl/tokenctl/internal/store"
	"github.com/tokenctl/tokenctl/internal/version"
)

// Secret bounds (the specification asks for 24 to 64 random bytes).
const (
	SecretPrefix   = "whsec_"
	MinSecretBytes = 24
	MaxSecretBytes = 64
)

// CheckURL accepts an https URL, or http to a loopback host (a receiver on
// the same machine): events name users and tokens, so they never cross a
// network in the clear.
func CheckURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.User != nil {
		return errors.New("not an absolute URL such as https://hooks.example.com/tokend (and no user:password@)")
	}
	// Only scheme and host in errors: a Slack webhook's path is a credential.
	switch {
	case u.Scheme == "https":
		return nil
	case u.Scheme == "http" && netaddr.IsLoopback(u.Hostname()):
		return nil
	case u.Scheme == "http":
		return fmt.Errorf("http://%s is plain http to a host that is not loopback; use https", u.Host)
	}
	return fmt.Errorf("%s://%s is not https", u.Scheme, u.Host)
}

// CheckSecret accepts a Standard Webhooks secret: whsec_ and the base64 of
// 24 to 64 bytes. The error never quotes it.
func CheckSecret(s string) error {
	if !strings.HasPrefix(s, SecretPrefix) {
		return errors.New("the secret must start with whsec_ (the Standard Webhooks form: whsec_ and base64 of 24 to 64 random bytes)")
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(s, SecretPrefix))
	if err != nil {
		return errors.New("the secret after whsec_ is not standard base64")
	}
	if len(key) < MinSecretBytes || len(key) > MaxSecretBytes {
		return fmt.Errorf("the secret holds %d bytes; it must hold %d to %d", len(key), MinSecretBytes, MaxSecretBytes)
	}
	return nil
}

// NewSecret returns a fresh secret in the Standard Webhooks form.
func NewSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return SecretPrefix + base64.StdEncoding.EncodeToString(b)
}

// NewClient returns the HTTP client deliveries use: each request bounded
// by timeout, redirects not followed (a 3xx is a failed delivery, so a
// receiver cannot bounce events elsewhere).
func NewClient(timeout time.Duration) *http.Client {
	return &http.Client{
		Timeout:       timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// Sender posts deliveries.
type Sender struct {
	Client *http.Client
	Now    func() time.Time
}

// Send posts d to w once and returns nil when the receiver answered 2xx,
// else an error of one line fit for `tokend webhook list`.
func (s Sender) Send(ctx context.Context, w store.Webhook, d store.Delivery) error {
	if err := CheckURL(w.URL); err != nil { // again: the row may predate a rule
		return err
	}
	body, header, err := s.request(w, d)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("build request: %w", err)
	}
	req.Header = header
	resp, err := s.Client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL may be a Slack credential: never in the error
		}
		return fmt.Errorf("post: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return nil
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		return fmt.Errorf("HTTP %d: redirects are not followed; give the final URL", resp.StatusCode)
	}
	return fmt.Errorf("HTTP %d", resp.StatusCode)
}

// request returns the body and headers of d for w's format.
func (s Sender) request(w store.Webhook, d store.Delivery) ([]byte, http.Header, error) {
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", "tokend/"+version.String())
	if w.Format == store.WebhookSlack {
		text, err := SlackText(d.Payload)
		if err != nil {
			return nil, nil, err
		}
		body, err := json.Marshal(map[string]string{"text": text})
		return body, h, err
	}
	signer, err := standardwebhooks.NewWebhook(w.Secret)
	if err != nil {
		return nil, nil, errors.New("the webhook's secret is unusable; delete and re-add it")
	}
	now := s.Now()
	sig, err := signer.Sign(d.EventID, now, d.Payload)
	if err != nil {
		return nil, nil, fmt.Errorf("sign: %w", err)
	}
	h.Set(standardwebhooks.HeaderWebhookID, d.EventID)
	h.Set(standardwebhooks.HeaderWebhookTimestamp, fmt.Sprint(now.Unix()))
	h.Set(standardwebhooks.HeaderWebhookSignature, sig)
	return d.Payload, h, nil
}

// SlackText is the one-line message a Slack webhook gets for a payload.
func SlackText(payload []byte) (string, error) {
	var p store.WebhookPayload
	if err := json.Unmarshal(payload, &p); err != nil {
		return "", fmt.Errorf("payload: %w", err)
	}
	e := p.Data
	tok := ""
	if e.Token != nil {
		tok = fmt.Sprintf("token %s (%s)", e.Token.Name, e.Token.KeyHint)
	}
	who := e.User
	if who == "" {
		who = "a deleted user"
	}
	var what string
	switch p.Type {
	case EventTest:
		return "tokend: a test message from tokend webhook test.", nil
	case store.EventTokenExpiring:
		what = fmt.Sprintf("%s of %s expires at %s", tok, who, e.Detail)
	case store.EventTokenExpired:
		what = fmt.Sprintf("%s of %s expired at %s", tok, who, e.Detail)
	case store.EventTokenRevokedLeaked:
		what = fmt.Sprintf("%s of %s was revoked: it was reported leaked", tok, who)
		if e.Source != "" {
			what += " (" + e.Source + ")"
		}
	case store.EventTokenCreated, store.EventTokenExchanged:
		what = fmt.Sprintf("%s was created for %s", tok, who)
	case store.EventTokenDeleted:
		what = fmt.Sprintf("%s of %s was deleted", tok, who)
	case store.EventTokenRotated:
		what = fmt.Sprintf("%s of %s was rotated", tok, who)
	default:
		what = fmt.Sprintf("%s for %s", p.Type, who)
		if tok != "" {
			what += ", " + tok
		}
		if e.Detail != "" {
			what += ": " + e.Detail
		}
	}
	if e.Actor.User != "" {
		what += " by " + e.Actor.User
	}
	return "tokend: " + what + ".", nil
}
