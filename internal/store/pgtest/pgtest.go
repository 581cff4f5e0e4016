// Package pgtest gives tests a real, empty PostgreSQL database.
//
// With TOKEND_TEST_POSTGRES set (a postgres:// URL of a role that may create
// databases), every URL call creates a fresh database on that server and
// drops it when the test ends.
//
// Without it, the first URL call in a test binary starts a throw-away
// cluster: Debian's initdb (package postgresql, binaries under
// /usr/lib/postgresql/VERSION/bin, the newest version wins) in a temp dir,
// and postgres listening only on a Unix socket in that dir
// (listen_addresses=”), so nothing on the machine can reach it and no port
// is taken. Each test still gets its own database (CREATE DATABASE tN), so
// tests are isolated and the cluster starts once per package. Call Main from
// TestMain so the cluster is stopped and its directory removed at the end:
//
//	func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }
//
// Root: postgres refuses to run as root. When the tests run as root (as in
// containers and some CI), initdb and postgres run as the user "nobody"
// (syscall.Credential), and the temp dir is chowned to it. The test process
// still connects, as root, through the socket: the cluster trusts every
// local connection, which is safe because only the socket in a 0700
// directory can reach it.
//
// Missing binaries skip the test, except with CI=true, where they fail it:
// CI must install the postgresql package.
package pgtest

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvURL names the variable holding an existing server's URL.
const EnvURL = "TOKEND_TEST_POSTGRES"

var (
	mu      sync.Mutex
	shared  *Cluster
	sharErr error
	dbSeq   atomic.Int64
)

// Main runs the tests and then stops the cluster, if one was started.
func Main(m *testing.M) int {
	code := m.Run()
	mu.Lock()
	defer mu.Unlock()
	if shared != nil {
		if err := shared.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "pgtest:", err)
		}
		shared = nil
	}
	return code
}

// URL returns the postgres:// URL of a new, empty database that is dropped
// when t ends.
func URL(t testing.TB) string {
	t.Helper()
	admin := os.Getenv(EnvURL)
	if admin == "" {
		c, err := sharedCluster()
		if errors.Is(err, errNoBinaries) {
			if os.Getenv("CI") == "true" {
				t.Fatalf("pgtest: %v (CI=true: install the postgresql package or set %s)", err, EnvURL)
			}
			t.Skipf("pgtest: %v; install the postgresql package or set %s", err, EnvURL)
		}
		if err != nil {
			t.Fatalf("pgtest: %v", err)
		}
		admin = c.URL("postgres")
	}
	name := fmt.Sprintf("t%d_%d_%s", os.Getpid(), dbSeq.Add(1), strings.ToLower(rand.Text()[:6]))
	if err := adminExec(admin, `CREATE DATABASE `+name); err != nil {
		t.Fatalf("pgtest: create database: %v", err)
	}
	t.Cleanup(func() {
		// FORCE ends sessions a test left open (PostgreSQL 13+).
		if err := adminExec(admin, `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`); err != nil {
			t.Errorf("pgtest: drop database %s: %v", name, err)
		}
	})
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatalf("pgtest: %s does not parse as a URL", EnvURL)
	}
	u.Path = "/" + name
	return u.String()
}

func adminExec(adminURL, sql string) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, sql)
	return err
}

func sharedCluster() (*Cluster, error) {
	mu.Lock()
	defer mu.Unlock()
	if shared == nil && sharErr == nil {
		shared, sharErr = Start()
	}
	return shared, sharErr
}

var errNoBinaries = errors.New("no PostgreSQL server binaries (initdb, postgres) under /usr/lib/postgresql/*/bin or on PATH")

// Bin returns the directory of the newest PostgreSQL server binaries.
func Bin() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	version := func(dir string) float64 {
		v, _ := strconv.ParseFloat(filepath.Base(filepath.Dir(dir)), 64)
		return v
	}
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, d := range dirs {
		if isExec(filepath.Join(d, "initdb")) && isExec(filepath.Join(d, "postgres")) {
			return d, nil
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil && isExec(filepath.Join(filepath.Dir(p), "postgres")) {
		return filepath.Dir(p), nil
	}
	return "", errNoBinaries
}

func isExec(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0
}

// Cluster is a running throw-away PostgreSQL cluster.
type Cluster struct {
	dir  string // holds data/, the socket and postgres.log
	bin  string
	cred *syscall.Credential
	cmd  *exec.Cmd
	done chan error // postgres exited
}

// Start creates and starts a cluster in a new temp dir.
func Start() (*Cluster, error) {
	bin, err := Bin()
	if err != nil {
		return nil, err
	}
	// os.MkdirTemp, not t.TempDir: a Unix socket path must stay under 108
	// bytes, and the cluster outlives any one test.
	dir, err := os.MkdirTemp(tempBase(), "tokend-pg-")
	if err != nil {
		return nil, err
	}
	c := &Cluster{dir: dir}
	cred, err := credential(dir)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	initdb := exec.Command(filepath.Join(bin, "initdb"),
		"-D", filepath.Join(dir, "data"), "-U", "postgres", "--auth=trust",
		"-E", "UTF8", "--locale=C", "--no-sync")
	initdb.Dir = dir
	initdb.Env = []string{"PATH=" + os.Getenv("PATH"), "LC_ALL=C"}
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if out, err := initdb.CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("initdb: %v\n%s", err, out)
	}

	c.bin, c.cred = bin, cred
	if err := c.run(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	if err := c.waitReady(30 * time.Second); err != nil {
		_ = c.Stop()
		return nil, err
	}
	return c, nil
}

// run starts postgres on the cluster's data dir, appending to its log.
func (c *Cluster) run() error {
	dir := c.dir
	logf, err := os.OpenFile(filepath.Join(dir, "postgres.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	c.done = make(chan error, 1)
	c.cmd = exec.Command(filepath.Join(c.bin, "postgres"),
		"-D", filepath.Join(dir, "data"),
		"-k", dir, // the socket lives in the temp dir
		"-c", "listen_addresses=", // and nowhere else: no TCP port
		"-c", "max_connections=200",
		// The cluster is thrown away after the tests and tests kill tokend,
		// never postgres: skipping fsync only spares the shared disk.
		"-c", "fsync=off",
		"-c", "full_page_writes=off",
	)
	c.cmd.Dir = dir
	c.cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "LC_ALL=C"}
	c.cmd.Stdout, c.cmd.Stderr = logf, logf
	// If the test binary dies without calling Main, the kernel stops
	// postgres (SIGQUIT: immediate shutdown) rather than leaving it running.
	c.cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred, Pdeathsig: syscall.SIGQUIT}
	started := make(chan error, 1)
	done := c.done
	go func() {
		// Pdeathsig fires when the thread that started the child exits, so
		// that thread must stay alive as long as postgres runs.
		runtime.LockOSThread()
		if err := c.cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		done <- c.cmd.Wait()
	}()
	if err := <-started; err != nil {
		return fmt.Errorf("start postgres: %w", err)
	}
	return nil
}

// tempBase is where the cluster's dir goes: $TMPDIR, unless we are root and
// "nobody" could not reach a dir in it; then /tmp.
func tempBase() string {
	base := os.TempDir()
	if os.Geteuid() != 0 {
		return base
	}
	if fi, err := os.Stat(base); err == nil && fi.Mode().Perm()&0o001 != 0 {
		return base
	}
	return "/tmp"
}

// credential returns who initdb and postgres run as: nil (ourselves) unless
// we are root, which postgres refuses; then "nobody", owning dir.
func credential(dir string) (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("nobody")
	if err != nil {
		return nil, fmt.Errorf("running as root, postgres must run as another user, and there is no user nobody: %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	if err := os.Chown(dir, uid, gid); err != nil {
		return nil, err
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), NoSetGroups: false, Groups: []uint32{}}, nil
}

// URL is the URL of database db on the cluster, as the superuser.
func (c *Cluster) URL(db string) string {
	return "postgres://postgres@/" + db + "?host=" + url.QueryEscape(c.dir)
}

func (c *Cluster) waitReady(within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		select {
		case err := <-c.done:
			c.done <- err
			return fmt.Errorf("postgres exited at start (%v):\n%s", err, c.log())
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		conn, err := pgx.Connect(ctx, c.URL("postgres"))
		if err == nil {
			conn.Close(ctx)
			cancel()
			return nil
		}
		cancel()
		if time.Now().After(deadline) {
			return fmt.Errorf("postgres not ready after %s: %v\n%s", within, err, c.log())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (c *Cluster) log() string {
	b, _ := os.ReadFile(filepath.Join(c.dir, "postgres.log"))
	return string(b)
}

// Stop shuts postgres down (fast shutdown: SIGINT) and removes the dir.
func (c *Cluster) Stop() error {
	return errors.Join(c.Halt(), os.RemoveAll(c.dir))
}

// Halt shuts postgres down as "pg_ctl stop -m fast" does (SIGINT: sessions
// are ended, the data is checkpointed) and keeps the data, so Resume can
// bring the same databases back. Halting a halted cluster does nothing.
func (c *Cluster) Halt() error {
	if c.cmd == nil || c.cmd.Process == nil {
		return nil
	}
	defer func() { c.cmd = nil }()
	_ = c.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-c.done:
		return nil
	case <-time.After(20 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.done
		return errors.New("postgres did not stop within 20s of SIGINT; killed it")
	}
}

// Resume starts a halted cluster again on the same data and socket, and
// waits until it takes connections.
func (c *Cluster) Resume() error {
	if c.cmd != nil {
		return errors.New("pgtest: Resume of a cluster that is running")
	}
	if err := c.run(); err != nil {
		return err
	}
	return c.waitReady(30 * time.Second)
}

// Own starts a cluster for t alone, stopped and removed when t ends: for a
// test that halts and resumes PostgreSQL under a server. Without the
// binaries it skips t, or fails it with CI=true. It ignores EnvURL: a test
// cannot stop someone else's server.
func Own(t testing.TB) *Cluster {
	t.Helper()
	c, err := Start()
	if errors.Is(err, errNoBinaries) {
		if os.Getenv("CI") == "true" {
			t.Fatalf("pgtest: %v (CI=true: install the postgresql package)", err)
		}
		t.Skipf("pgtest: %v; install the postgresql package", err)
	}
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(func() {
		if err := c.Stop(); err != nil {
			t.Errorf("pgtest: %v", err)
		}
	})
	return c
}

// CreateDB creates an empty database on the cluster and returns its URL.
func (c *Cluster) CreateDB(name string) (string, error) {
	if err := adminExec(c.URL("postgres"), `CREATE DATABASE `+pgx.Identifier{name}.Sanitize()); err != nil {
		return "", err
	}
	return c.URL(name), nil
}
