package tokend

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tokenctl/tokenctl/internal/api"
	"github.com/tokenctl/tokenctl/internal/store"
	"github.com/tokenctl/tokenctl/internal/store/pgtest"
	"github.com/tokenctl/tokenctl/internal/webhook"
	"github.com/tokenctl/tokenctl/internal/webhook/webhooktest"
)

// secretFile writes a fresh whsec_ secret to a file and returns both.
func secretFile(t *testing.T) (path, secret string) {
	t.Helper()
	secret = webhook.NewSecret()
	path = filepath.Join(t.TempDir(), "hook.secret")
	if err := os.WriteFile(path, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path, secret
}

// webhookList returns `tokend webhook list -o json` run in this process.
func webhookList(t *testing.T, db string) []webhookJSON {
	t.Helper()
	out, _, err := run(t, "", nil, "webhook", "list", "-o", "json", "--database", db)
	if err != nil {
		t.Fatalf("webhook list: %v", err)
	}
	var ws []webhookJSON
	if err := json.Unmarshal([]byte(out), &ws); err != nil {
		t.Fatalf("webhook list -o json: %v\n%s", err, out)
	}
	return ws
}

// waitDelivered waits until the named webhook has delivered n events with
// none pending, as tokend webhook list shows.
func waitDelivered(t *testing.T, db, name string, n int) webhookJSON {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute) // a hang guard, not a measurement
	for {
		for _, w := range webhookList(t, db) {
			if w.Name == name && w.Delivered >= n && w.Pending == 0 {
				return w
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("webhook %s never delivered %d: %+v", name, n, webhookList(t, db))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestWebhookCommands(t *testing.T) {
	db := newDB(t, filepath.Join(t.TempDir(), "hooks.db"))
	file, secret := secretFile(t)
	rcv := webhooktest.New(t, secret)

	bad := []struct {
		name string
		args []string
		want string
	}{
		{"plain http to another host", []string{"ops", "--url", "http://hooks.example.com/x", "--event", "token.created", "--secret-file", file}, "plain http"},
		{"no url", []string{"ops", "--event", "token.created", "--secret-file", file}, "--url is required"},
		{"unknown event", []string{"ops", "--url", rcv.URL, "--event", "token.nope", "--secret-file", file}, "is not an event type"},
		{"no event", []string{"ops", "--url", rcv.URL, "--secret-file", file}, "--event is required"},
		{"no secret file", []string{"ops", "--url", rcv.URL, "--event", "token.created"}, "--secret-file is required"},
		{"bad name", []string{"Ops!", "--url", rcv.URL, "--event", "token.created", "--secret-file", file}, "malformed"},
		{"bad format", []string{"ops", "--url", rcv.URL, "--event", "token.created", "--secret-file", file, "--format", "xml"}, "standard or slack"},
		{"slack with --url", []string{"chat", "--url", rcv.URL, "--event", "token.created", "--secret-file", file, "--format", "slack"}, "not taken with --format slack"},
	}
	for _, c := range bad {
		_, _, err := run(t, "", nil, append([]string{"webhook", "add", "--database", db}, c.args...)...)
		if err == nil || !isUsage(err) || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: %v; want a one-line usage error with %q", c.name, err, c.want)
		}
	}
	// A secret that is not whsec_ base64 is refused without being quoted.
	weak := filepath.Join(t.TempDir(), "weak")
	os.WriteFile(weak, []byte("hunter2-hunter2\n"), 0o600)
	_, _, err := run(t, "", nil, "webhook", "add", "ops", "--url", rcv.URL, "--event", "token.created", "--secret-file", weak, "--database", db)
	if err == nil || !isUsage(err) || strings.Contains(err.Error(), "hunter2") || !strings.Contains(err.Error(), "whsec_") {
		t.Fatalf("weak secret: %v", err)
	}

	out, errOut, err := run(t, "", nil, "webhook", "add", "ops", "--url", rcv.URL, "--event", "token.revoked_leaked",
		"--event", "token.expiring", "--event", "token.revoked_leaked", "--secret-file", file, "--database", db)
	if err != nil || out != "" || !strings.Contains(errOut, "Added webhook ops") || strings.Contains(errOut, secret) {
		t.Fatalf("webhook add: %q %q %v", out, errOut, err)
	}
	if _, _, err := run(t, "", nil, "webhook", "add", "ops", "--url", rcv.URL, "--event", "token.created", "--secret-file", file, "--database", db); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("second add: %v", err)
	}
	slackURL := rcv.URL + "/services/T0/B0/slack-credential"
	if _, _, err := run(t, slackURL+"\n", nil, "webhook", "add", "chat", "--format", "slack", "--event", "user.created", "--secret-file", "-", "--database", db); err != nil {
		t.Fatalf("slack add: %v", err)
	}

	out, _, err = run(t, "", nil, "webhook", "list", "--database", db)
	if err != nil || out != "chat\nops\n" {
		t.Fatalf("list piped = %q, %v", out, err)
	}
	out, _, err = run(t, "", nil, "webhook", "list", "-o", "table", "--database", db)
	if err != nil || !strings.Contains(out, "LAST-ERROR") || !strings.Contains(out, "token.expiring,token.revoked_leaked") ||
		strings.Contains(out, secret) || strings.Contains(out, "slack-credential") {
		t.Fatalf("list table = %q, %v", out, err)
	}
	ws := webhookList(t, db)
	if len(ws) != 2 || ws[1].Name != "ops" || ws[1].URL != rcv.URL || ws[1].Format != "standard" || ws[0].URL != strings.Split(rcv.URL, "//")[0]+"//"+strings.Split(rcv.URL, "//")[1]+"/…" {
		t.Fatalf("list json = %+v", ws)
	}
	raw, _, _ := run(t, "", nil, "webhook", "list", "-o", "json", "--database", db)
	if strings.Contains(raw, secret) || strings.Contains(raw, "slack-credential") || strings.Contains(raw, "secret") {
		t.Fatalf("list json shows a secret: %s", raw)
	}

	out, _, err = run(t, "", nil, "webhook", "test", "ops", "--database", db)
	if err != nil || !strings.Contains(out, "accepted the test event") {
		t.Fatalf("webhook test: %q %v", out, err)
	}
	got := rcv.Received()
	if len(got) != 1 || got[0].Verified != nil || got[0].Type != webhook.EventTest {
		t.Fatalf("test delivery: %+v", got)
	}
	rcv.SetAnswer(func(int) int { return http.StatusInternalServerError })
	if _, _, err := run(t, "", nil, "webhook", "test", "ops", "--database", db); err == nil || !strings.Contains(err.Error(), "HTTP 500") {
		t.Fatalf("webhook test against a 500: %v", err)
	}
	if _, _, err := run(t, "", nil, "webhook", "test", "nope", "--database", db); err == nil || !strings.Contains(err.Error(), "no webhook") {
		t.Fatalf("webhook test nope: %v", err)
	}

	if _, errOut, err := run(t, "", nil, "webhook", "delete", "ops", "--database", db); err != nil || !strings.Contains(errOut, "Deleted webhook ops") {
		t.Fatalf("delete: %q %v", errOut, err)
	}
	if _, _, err := run(t, "", nil, "webhook", "delete", "ops", "--database", db); err == nil || !strings.Contains(err.Error(), "no webhook") {
		t.Fatalf("second delete: %v", err)
	}
}

// A token reported leaked through GitHub's secret scanning is revoked, and
// its owner's webhook gets a token.revoked_leaked that verifies.
func TestLeakReportReachesTheOwnersWebhook(t *testing.T) {
	gh := newGitHubReporter(t)
	db := newDB(t, filepath.Join(t.TempDir(), "leak.db"))
	file, secret := secretFile(t)
	rcv := webhooktest.New(t, secret)
	if _, _, err := run(t, "", nil, "webhook", "add", "owners", "--url", rcv.URL, "--event", "token.revoked_leaked", "--secret-file", file, "--database", db); err != nil {
		t.Fatal(err)
	}
	base, _, stop := startServe(t, "--database", db, "--github-keys-url", gh.keys.URL)
	defer stop()
	tok, status, err := createToken(http.DefaultClient, base, basicAuth("admin", "pw"), "leaky")
	if err != nil || status != http.StatusCreated {
		t.Fatalf("create: %d %v", status, err)
	}
	sent := time.Now()
	if res, out := gh.report(base, tok.Secret); res.StatusCode != http.StatusOK || !strings.Contains(out, "true_positive") {
		t.Fatalf("report: %d %s", res.StatusCode, out)
	}
	answered := time.Since(sent)
	if got := authStatus(t, base, tok.Secret); got != http.StatusUnauthorized {
		t.Fatalf("the reported token still authenticates: %d", got)
	}
	r := rcv.Next()
	// A figure for the closing note, not an assertion: the report is
	// answered once the token is revoked; the webhook follows within the
	// worker's poll.
	t.Logf("report answered (token revoked) after %v; webhook received after %v", answered, time.Since(sent))
	if r.Verified != nil {
		t.Fatalf("the delivery does not verify: %v", r.Verified)
	}
	d := r.Payload.Data
	if r.Type != api.EventTokenRevokedLeaked || d.User != "admin" || d.Token == nil || d.Token.ID != tok.ID ||
		d.Actor.Kind != store.ActorLeakReport || r.ID != d.ID || d.Source == "" {
		t.Fatalf("delivery %s", r.Body)
	}
	waitDelivered(t, db, "owners", 1)
}

// The done-means of issue 24: a token expiring in 6 days produces exactly
// one token.expiring, with two replicas on one PostgreSQL and restarts in
// between.
func TestPostgresTokenExpiringOnceAcrossReplicasAndRestarts(t *testing.T) {
	bin := buildTokend(t)
	db := pgtest.URL(t)
	addUserProc(t, bin, db, "alice", "alice-pw")
	file, secret := secretFile(t)
	rcv := webhooktest.New(t, secret)
	if _, _, err := run(t, "", nil, "webhook", "add", "owners", "--url", rcv.URL, "--event", "token.expiring", "--secret-file", file, "--database", db); err != nil {
		t.Fatal(err)
	}
	a := startProc(t, bin, db)
	body := fmt.Sprintf(`{"name":"six-days","expires_in_seconds":%d}`, int64(6*24*time.Hour/time.Second))
	req, _ := http.NewRequest("POST", a.url+"/v1/tokens", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", basicAuth("alice", "alice-pw"))
	res, err := http.DefaultClient.Do(req)
	if err != nil || res.StatusCode != http.StatusCreated {
		t.Fatalf("create: %v %v", res, err)
	}
	var tok api.CreatedToken
	json.NewDecoder(res.Body).Decode(&tok)
	res.Body.Close()

	// Both replicas start together: each sweeps for expiry notices before
	// it listens, so both look at the new token at once.
	stopProcs(t, a)
	started := make(chan *proc, 2)
	for range 2 {
		go func() { started <- startProc(t, bin, db) }()
	}
	p1, p2 := <-started, <-started
	// A restart of one, then of the other: each sweeps again at start.
	stopProcs(t, p1)
	p3 := startProc(t, bin, db)
	stopProcs(t, p2)
	startProc(t, bin, db)
	_ = p3

	w := waitDelivered(t, db, "owners", 1)
	got := rcv.Received()
	// One event, one outbox row. Delivery is at least once: a replica
	// stopped mid-attempt past its grace may leave the receiver a second
	// copy, under the same webhook-id, which receivers drop.
	ids := map[string]bool{}
	for _, r := range got {
		ids[r.ID] = true
	}
	if len(ids) != 1 || w.Delivered != 1 || w.Failed != 0 {
		t.Fatalf("%d deliveries of %d events (list: %+v), want one event", len(got), len(ids), w)
	}
	r := got[0]
	d := r.Payload.Data
	if r.Verified != nil || r.Type != api.EventTokenExpiring || d.Token == nil || d.Token.ID != tok.ID || d.Reason != "7d" ||
		d.User != "alice" || d.Detail != tok.ExpiresAt.UTC().Format(time.RFC3339) {
		t.Fatalf("delivery %s (verified: %v)", r.Body, r.Verified)
	}
}

// A tokend killed after claiming a delivery, before the receiver answered:
// the delivery is not lost, a restarted tokend makes it, under the same
// webhook-id, once the dead one's lease has run out.
func TestKilledMidDeliveryIsDeliveredAfterRestart(t *testing.T) {
	bin := buildTokend(t)
	db := newDB(t, filepath.Join(t.TempDir(), "kill.db"))
	file, secret := secretFile(t)
	rcv := webhooktest.New(t, secret)
	rcv.Hold = func(n int) bool { return n == 1 } // the first attempt never gets an answer
	if _, _, err := run(t, "", nil, "webhook", "add", "ops", "--url", rcv.URL, "--event", "token.created", "--secret-file", file, "--database", db); err != nil {
		t.Fatal(err)
	}
	// The timeout is long enough that the first attempt cannot end on its
	// own before the kill: what ends it is SIGKILL.
	a := startProc(t, bin, db, "--webhook-timeout", "5m")
	if _, status, err := createToken(http.DefaultClient, a.url, basicAuth("admin", "pw"), "ci"); err != nil || status != http.StatusCreated {
		t.Fatalf("create: %d %v", status, err)
	}
	first := rcv.Next() // a has claimed the row and is waiting for the answer
	if err := a.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-a.done
	a.done <- nil
	if strings.Contains(a.logs.String(), "webhook delivery failed") || strings.Contains(a.logs.String(), "webhook delivered") {
		t.Fatalf("the first attempt ended before the kill:\n%s", a.logs)
	}
	if ws := webhookList(t, db); ws[0].Pending != 1 || ws[0].Delivered != 0 {
		t.Fatalf("after the kill: %+v", ws)
	}
	// The restarted tokend takes the row once a's lease, no longer
	// renewed, runs out (a lease term, whatever the timeout).
	startProc(t, bin, db)
	second := rcv.Next()
	if second.ID != first.ID || second.Verified != nil || second.Type != api.EventTokenCreated {
		t.Fatalf("redelivery %q (verified %v), first %q", second.ID, second.Verified, first.ID)
	}
	waitDelivered(t, db, "ops", 1)
}

// webhook list shows a given-up delivery and the last error, from the
// database every replica records in.
func TestWebhookListShowsDeliveryHealth(t *testing.T) {
	db := newDB(t, filepath.Join(t.TempDir(), "health.db"))
	file, _ := secretFile(t)
	if _, _, err := run(t, "", nil, "webhook", "add", "ops", "--url", "https://hooks.example.com/x", "--event", "user.created", "--secret-file", file, "--database", db); err != nil {
		t.Fatal(err)
	}
	st, err := openStore(t.Context(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	admin, err := st.UserByName(t.Context(), "admin")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Millisecond)
	a := store.Audit{At: now, ActorKind: store.ActorOperator}
	if err := st.AddEvents(t.Context(), []store.Event{a.UserEvent(store.EventUserCreated, admin.ID, ""), a.UserEvent(store.EventUserCreated, admin.ID, "")}); err != nil {
		t.Fatal(err)
	}
	d, err := st.ClaimDelivery(t.Context(), "ops", "test", now, now.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if err := st.FinishDelivery(t.Context(), d, "test", store.DeliveryResult{At: now, GiveUp: true, Error: "HTTP 503"}); err != nil {
		t.Fatal(err)
	}
	ws := webhookList(t, db)
	if len(ws) != 1 || ws[0].Pending != 1 || ws[0].Failed != 1 || ws[0].LastError != "HTTP 503" || ws[0].LastErrorAt == nil || !ws[0].LastErrorAt.Equal(now) {
		t.Fatalf("list json = %+v", ws)
	}
	out, _, err := run(t, "", nil, "webhook", "list", "-o", "table", "--database", db)
	if err != nil || !strings.Contains(out, now.Format(time.RFC3339)+" HTTP 503") {
		t.Fatalf("list table = %q, %v", out, err)
	}
}
