package tokend

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tokenctl/tokenctl/internal/api"
)

// buildTokend compiles the real tokend binary into a temp dir.
func buildTokend(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the real binary; skipped with -short")
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("go toolchain not found: %v", err)
		}
		t.Skipf("go toolchain not found: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "tokend")
	cmd := exec.Command(gobin, "build", "-o", bin, "github.com/tokenctl/tokenctl/cmd/tokend")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build tokend: %v\n%s", err, out)
	}
	return bin
}

type proc struct {
	cmd  *exec.Cmd
	url  string
	logs *syncBuffer
	done chan error
}

// startProc starts "tokend serve" on a free port and waits until it listens.
func startProc(t *testing.T, bin, db string, args ...string) *proc {
	t.Helper()
	addrFile := filepath.Join(t.TempDir(), "url")
	p := &proc{logs: &syncBuffer{}, done: make(chan error, 1)}
	p.cmd = exec.Command(bin, append([]string{"serve", "--addr", "127.0.0.1:0", "--addr-file", addrFile, "--database", db}, args...)...)
	p.cmd.Stderr = p.logs
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
	})
	p.url = waitForFile(t, addrFile, p.done)
	return p
}

func addUserProc(t *testing.T, bin, db, name, pw string) {
	t.Helper()
	cmd := exec.Command(bin, "user", "add", name, "--database", db)
	cmd.Stdin = strings.NewReader(pw + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("tokend user add: %v\n%s", err, out)
	}
}

func createToken(client *http.Client, url, auth, name string) (api.CreatedToken, int, error) {
	body := fmt.Sprintf(`{"name":%q}`, name)
	req, _ := http.NewRequest("POST", url+"/v1/tokens", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", auth)
	res, err := client.Do(req)
	if err != nil {
		return api.CreatedToken{}, 0, err
	}
	defer res.Body.Close()
	var ct api.CreatedToken
	if res.StatusCode == http.StatusCreated {
		err = json.NewDecoder(res.Body).Decode(&ct)
	}
	return ct, res.StatusCode, err
}

func authStatus(t *testing.T, url, secret string) int {
	t.Helper()
	req, _ := http.NewRequest("GET", url+"/v1/user", nil)
	req.Header.Set("Authorization", "Bearer "+secret)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

func basicAuth(user, pw string) string {
	r, _ := http.NewRequest("GET", "/", nil)
	r.SetBasicAuth(user, pw)
	return r.Header.Get("Authorization")
}

// TestAcknowledgedTokensSurviveSIGKILL kills a real tokend with SIGKILL
// while creates are in flight, restarts it on the same database, and
// authenticates with every token it answered 201 for.
func TestAcknowledgedTokensSurviveSIGKILL(t *testing.T) {
	bin := buildTokend(t)
	db := filepath.Join(t.TempDir(), "crash.db")
	addUserProc(t, bin, db, "alice", "pw")
	p := startProc(t, bin, db)
	login, status, err := createToken(http.DefaultClient, p.url, basicAuth("alice", "pw"), "login")
	if err != nil || status != 201 {
		t.Fatalf("login token: %d %v", status, err)
	}

	const target = 200
	var (
		mu    sync.Mutex
		acked []string
		wg    sync.WaitGroup
		kill  sync.Once
	)
	client := &http.Client{Timeout: 10 * time.Second}
	for w := range 4 {
		wg.Go(func() {
			for i := 0; ; i++ {
				ct, status, err := createToken(client, p.url, "Bearer "+login.Secret, fmt.Sprintf("w%d-%d", w, i))
				if err != nil || status != 201 {
					return // the server is gone
				}
				mu.Lock()
				acked = append(acked, ct.Secret)
				n := len(acked)
				mu.Unlock()
				if n >= target {
					// Kill right after a 201, with the other workers' creates
					// still in flight.
					kill.Do(func() { _ = p.cmd.Process.Signal(syscall.SIGKILL) })
				}
			}
		})
	}
	wg.Wait()
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		t.Fatal("tokend did not die after SIGKILL")
	}

	p2 := startProc(t, bin, db)
	mu.Lock()
	defer mu.Unlock()
	if len(acked) < target {
		t.Fatalf("only %d creates acknowledged before the kill", len(acked))
	}
	lost := 0
	for _, s := range acked {
		if authStatus(t, p2.url, s) != http.StatusOK {
			lost++
		}
	}
	if lost > 0 {
		t.Fatalf("%d of %d acknowledged tokens were lost after SIGKILL", lost, len(acked))
	}
}

// TestSIGTERMDrainsInFlightRequests sends SIGTERM while a create is half
// sent; the request still completes with 201 and tokend exits 0.
func TestSIGTERMDrainsInFlightRequests(t *testing.T) {
	bin := buildTokend(t)
	db := filepath.Join(t.TempDir(), "term.db")
	addUserProc(t, bin, db, "alice", "pw")
	p := startProc(t, bin, db)
	login, status, err := createToken(http.DefaultClient, p.url, basicAuth("alice", "pw"), "login")
	if err != nil || status != 201 {
		t.Fatalf("login token: %d %v", status, err)
	}

	conn, err := net.Dial("tcp", strings.TrimPrefix(p.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	body := `{"name":"in-flight","description":"sent across a SIGTERM"}`
	half := len(body) / 2
	fmt.Fprintf(conn, "POST /v1/tokens HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nAuthorization: Bearer %s\r\nContent-Length: %d\r\n\r\n%s",
		login.Secret, len(body), body[:half])
	// Give the server a moment to have the request in hand: its handler is
	// then blocked reading the rest of the body. (Ordering only; nothing
	// here measures time.)
	time.Sleep(300 * time.Millisecond)
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitForLog(t, p, "shutting down", 10*time.Second)
	if _, err := conn.Write([]byte(body[half:])); err != nil {
		t.Fatalf("finish the body after SIGTERM: %v", err)
	}
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("read response: %v", err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("in-flight create answered %d, want 201", res.StatusCode)
	}
	select {
	case err := <-p.done:
		if err != nil {
			t.Fatalf("tokend exited with %v after SIGTERM, want exit 0\n%s", err, p.logs)
		}
	case <-time.After(40 * time.Second):
		t.Fatal("tokend did not exit after SIGTERM")
	}
	if !strings.Contains(p.logs.String(), "msg=stopped") {
		t.Errorf("no clean stop in the log:\n%s", p.logs)
	}
}

// waitForLog waits until the process log contains s.
func waitForLog(t *testing.T, p *proc, s string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if strings.Contains(p.logs.String(), s) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("log never said %q:\n%s", s, p.logs)
}

// TestSIGTERMCutsAStalledClientAndExitsZero: a client trickling its body
// (whose read timeout outlives the drain) must not turn SIGTERM into exit
// 1; the drain ends on time, the stalled connection is cut, and tokend
// exits 0.
func TestSIGTERMCutsAStalledClientAndExitsZero(t *testing.T) {
	bin := buildTokend(t)
	db := filepath.Join(t.TempDir(), "stall.db")
	addUserProc(t, bin, db, "alice", "pw")
	const drain = 2 * time.Second
	p := startProc(t, bin, db, "--drain-timeout", drain.String())

	conn, err := net.Dial("tcp", strings.TrimPrefix(p.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /v1/tokens HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nAuthorization: %s\r\nContent-Length: 1000\r\n\r\n{\"name\":",
		basicAuth("alice", "pw"))
	// Keep trickling a byte now and then, the way a stalled upload does.
	stopTrickle := make(chan struct{})
	defer close(stopTrickle)
	go func() {
		for {
			select {
			case <-stopTrickle:
				return
			case <-time.After(200 * time.Millisecond):
				if _, err := conn.Write([]byte(" ")); err != nil {
					return
				}
			}
		}
	}()
	time.Sleep(300 * time.Millisecond) // ordering only: the request is in hand
	start := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-p.done:
		if err != nil {
			t.Fatalf("tokend exited with %v after SIGTERM with a stalled client, want exit 0\n%s", err, p.logs)
		}
	case <-time.After(drain + 20*time.Second):
		t.Fatalf("tokend did not exit within the drain window\n%s", p.logs)
	}
	if took := time.Since(start); took < drain {
		t.Errorf("tokend exited after %s, before the %s drain window was over", took, drain)
	}
	if !strings.Contains(p.logs.String(), "drain window over") || !strings.Contains(p.logs.String(), "msg=stopped") {
		t.Errorf("the log does not tell the drain was cut and the stop was clean:\n%s", p.logs)
	}
}
