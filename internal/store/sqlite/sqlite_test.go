package sqlite

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	sqlite3 "modernc.org/sqlite/lib"

	"github.com/tokenctl/tokenctl/internal/secret"
	"github.com/tokenctl/tokenctl/internal/store"
	"github.com/tokenctl/tokenctl/internal/store/storetest"
)

// openTemp opens a store on a new file in t.TempDir and closes it at the
// end of the test.
func openTemp(t testing.TB) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "tokend.db")
	s, err := Open(context.Background(), path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s, path
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, _ := openTemp(t)
		return s
	})
}

// Two stores on one file: two tokend processes on one SQLite database.
func TestSharedConformance(t *testing.T) {
	storetest.RunShared(t, func(t *testing.T) (store.Store, store.Store) {
		a, path := openTemp(t)
		b, err := Open(context.Background(), path)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		t.Cleanup(func() { b.Close() })
		return a, b
	})
}

// pragma reads one pragma on conn.
func pragma(t *testing.T, db *sql.DB, name string) string {
	t.Helper()
	var v string
	if err := db.QueryRow("PRAGMA " + name).Scan(&v); err != nil {
		t.Fatalf("PRAGMA %s: %v", name, err)
	}
	return v
}

func TestPragmasAreInEffectOnBothPools(t *testing.T) {
	s, _ := openTemp(t)
	want := map[string]string{
		"busy_timeout": "10000",
		"journal_mode": "wal",
		"foreign_keys": "1",
		"synchronous":  "2", // FULL
	}
	for pool, db := range map[string]*sql.DB{"writer": s.w, "reader": s.r} {
		for name, v := range want {
			if got := pragma(t, db, name); got != v {
				t.Errorf("%s: PRAGMA %s = %s, want %s", pool, name, got, v)
			}
		}
	}
	if got := pragma(t, s.r, "query_only"); got != "1" {
		t.Errorf("reader: query_only = %s, want 1", got)
	}
	if got := pragma(t, s.w, "query_only"); got != "0" {
		t.Errorf("writer: query_only = %s, want 0", got)
	}
}

func TestWriterTransactionsBeginImmediate(t *testing.T) {
	s, path := openTemp(t)
	// A second connection that does not wait: if the store's transaction
	// holds the write lock from BEGIN on, this one's BEGIN IMMEDIATE is
	// refused at once with SQLITE_BUSY.
	other, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(0)")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	other.SetMaxOpenConns(1)

	tx, err := s.w.BeginTx(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	// Nothing written yet: under a DEFERRED begin no lock would be held.
	_, err = other.Exec("BEGIN IMMEDIATE")
	if code := sqliteCode(err); code&0xff != sqlite3.SQLITE_BUSY {
		t.Errorf("BEGIN IMMEDIATE beside an open store transaction = %v, want SQLITE_BUSY", err)
	}
	if err == nil {
		other.Exec("ROLLBACK")
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	if _, err := other.Exec("BEGIN IMMEDIATE; ROLLBACK"); err != nil {
		t.Fatalf("BEGIN IMMEDIATE after the store's rollback: %v", err)
	}
}

func TestTwoProcessesOnOneFileNeverSeeBusy(t *testing.T) {
	// Two Stores on one file stand in for tokend serving while `tokend user
	// add` writes: each has its own writer, so only the busy timeout and
	// BEGIN IMMEDIATE keep them from failing with SQLITE_BUSY.
	a, path := openTemp(t)
	b, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ctx := t.Context()
	u := store.User{ID: store.NewID(time.Now()), Username: "alice", PasswordHash: "h", CreatedAt: time.Now()}
	if err := a.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	n := 200
	if testing.Short() {
		n = 20
	}
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for w, s := range []*Store{a, b, a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range n {
				nt := store.NewToken{
					ID: store.NewID(time.Now()), UserID: u.ID, Name: "t", KeyHint: "h",
					Digest:    sha256.Sum256([]byte{byte(w), byte(i), byte(i >> 8)}),
					CreatedAt: time.Now(), ExpiresAt: time.Now().Add(time.Hour),
				}
				if _, _, err := s.CreateToken(ctx, nt); err != nil {
					errs <- err
					return
				}
				if _, err := s.RotateToken(ctx, u.ID, nt.ID, sha256.Sum256(nt.Digest[:]), "h2", time.Now(), time.Time{}); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("write beside another process: %v", err)
	}
	page, err := storetest.List(ctx, b, store.ListOptions{UserID: u.ID, Limit: 1000})
	if err != nil || len(page) != 4*n {
		t.Fatalf("listed %d, %v; want %d", len(page), err, 4*n)
	}
}

func TestReopenKeepsDataAndDoesNotReapplyMigrations(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tokend.db")
	ctx := t.Context()
	u := store.User{ID: store.NewID(time.Now()), Username: "alice", PasswordHash: "h", CreatedAt: time.Now()}
	for i := range 3 {
		s, err := Open(ctx, path)
		if err != nil {
			t.Fatalf("open %d: %v", i, err)
		}
		if v := pragma(t, s.w, "user_version"); v != strconv.Itoa(SchemaVersion()) || SchemaVersion() < 2 {
			t.Errorf("open %d: user_version = %s, SchemaVersion() = %d", i, v, SchemaVersion())
		}
		if i == 0 {
			if err := s.CreateUser(ctx, u); err != nil {
				t.Fatal(err)
			}
		} else if got, err := s.UserByName(ctx, "alice"); err != nil || got.ID != u.ID {
			t.Errorf("open %d: UserByName = %+v, %v", i, got, err)
		}
		if err := s.Close(); err != nil {
			t.Fatalf("close %d: %v", i, err)
		}
	}
}

func TestNewerSchemaIsRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tokend.db")
	s, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.w.Exec("PRAGMA user_version = 99"); err != nil {
		t.Fatal(err)
	}
	s.Close()

	_, err = Open(t.Context(), path)
	if err == nil {
		t.Fatal("Open of a schema-99 database succeeded")
	}
	for _, want := range []string{"99", "newer", "tokend"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

func TestMigrationsAreNumberedWithoutGaps(t *testing.T) {
	ms, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) == 0 || ms[0].Name != "0001_init.sql" {
		t.Fatalf("migrations = %+v", ms)
	}
}

func TestDatabaseFileHoldsNoSecret(t *testing.T) {
	s, path := openTemp(t)
	ctx := t.Context()
	u := store.User{ID: store.NewID(time.Now()), Username: "alice", PasswordHash: "h", CreatedAt: time.Now()}
	if err := s.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	var secrets []secret.Token
	for i := range 3 {
		tok, err := secret.Generate(secret.DefaultPrefix)
		if err != nil {
			t.Fatal(err)
		}
		secrets = append(secrets, tok)
		nt := store.NewToken{
			ID: store.NewID(time.Now()), UserID: u.ID, Name: "t", KeyHint: tok.Hint(),
			Digest: tok.Digest(), CreatedAt: time.Now(), ExpiresAt: time.Now().Add(time.Hour),
		}
		if i == 2 { // and one replaced by an idempotent replay
			nt.IdempotencyKey = "k"
		}
		if _, _, err := s.CreateToken(ctx, nt); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// Close checkpointed the WAL, but read every file SQLite may have left.
	var all []byte
	for _, suffix := range []string{"", "-wal", "-shm", "-journal"} {
		b, err := os.ReadFile(path + suffix)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
		all = append(all, b...)
	}
	if !bytes.Contains(all, []byte(secrets[0].Hint())) {
		t.Fatal("key hint not found in the file: the check below would prove nothing")
	}
	for i, tok := range secrets {
		if bytes.Contains(all, []byte(tok.String())) || bytes.Contains(all, []byte(tok.Random)) {
			t.Errorf("secret %d is in the database file", i) // the secret itself is never printed
		}
	}
}

func TestDatabaseFileIsPrivate(t *testing.T) {
	_, path := openTemp(t)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Fatalf("database file mode = %o, want 600", perm)
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	notADB := filepath.Join(dir, "garbage.db")
	if err := os.WriteFile(notADB, bytes.Repeat([]byte("not a database "), 512), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, path, want string
	}{
		{"empty path", "", "not a filesystem path"},
		{"in-memory database", ":memory:", "give a file path"},
		{"URL instead of a path", "sqlite://" + dir + "/x.db", "not a filesystem path"},
		{"file: URI instead of a path", "file:" + dir + "/x.db", "not a filesystem path"},
		{"missing directory", filepath.Join(dir, "no", "such", "x.db"), "does not exist"},
		{"not a database", notADB, "not a database"},
		{"a directory", dir, "is a directory"},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, err := Open(t.Context(), c.path)
			if err == nil {
				s.Close()
				t.Fatalf("Open(%q) succeeded", c.path)
			}
			if !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("Open(%q) = %q, want one line mentioning %q", c.path, err, c.want)
			}
		})
	}
}

func TestPathWithURICharacters(t *testing.T) {
	path := filepath.Join(t.TempDir(), "odd ?name#with%chars.db")
	s, err := Open(t.Context(), path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("database not created at the given path: %v", err)
	}
}

func TestCreateTokenForUnknownUserIsNotFound(t *testing.T) {
	s, _ := openTemp(t)
	_, _, err := s.CreateToken(t.Context(), store.NewToken{
		ID: store.NewID(time.Now()), UserID: "nobody", Name: "t", KeyHint: "h",
		CreatedAt: time.Now(), ExpiresAt: time.Now().Add(time.Hour),
	})
	if !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("CreateToken for an unknown user = %v, want ErrNotFound", err)
	}
}

func TestZeroTimeIsRejected(t *testing.T) {
	s, _ := openTemp(t)
	err := s.CreateUser(t.Context(), store.User{ID: "x", Username: "x", PasswordHash: "h"})
	if err == nil || !strings.Contains(err.Error(), "out of range") {
		t.Fatalf("CreateUser with a zero time = %v, want an out of range error", err)
	}
}

func TestListQueryUsesTheIndexWithoutSorting(t *testing.T) {
	s, _ := openTemp(t)
	for _, q := range []string{
		`SELECT id FROM tokens WHERE user_id = 'u' ORDER BY id DESC LIMIT 100`,
		`SELECT id FROM tokens WHERE user_id = 'u' AND id < 'x' AND expires_at > 5 AND name GLOB 'a*' ORDER BY id DESC LIMIT 100`,
	} {
		rows, err := s.r.Query("EXPLAIN QUERY PLAN " + q)
		if err != nil {
			t.Fatal(err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, notused int
			var detail string
			if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		p := strings.Join(plan, "; ")
		if !strings.Contains(p, "tokens_user_id_id") || strings.Contains(p, "TEMP B-TREE") {
			t.Errorf("plan for %q: %s", q, p)
		}
	}
}

func TestCloseCheckpointsAndRemovesWAL(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tokend.db")
	s, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	u := store.User{ID: store.NewID(time.Now()), Username: "alice", PasswordHash: "h", CreatedAt: time.Now()}
	if err := s.CreateUser(t.Context(), u); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path + "-wal"); err != nil {
		t.Fatalf("no WAL file while open: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	for _, suffix := range []string{"-wal", "-shm"} {
		if _, err := os.Stat(path + suffix); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s file left after Close: %v", suffix, err)
		}
	}
	if err := s.Ping(t.Context()); err == nil {
		t.Error("Ping after Close succeeded")
	}
}

// TestCommittedTokenSurvivesKill runs a child process that creates a token,
// reports it committed, and is then killed with SIGKILL while still holding
// the database open (as kill -9 of tokend would). The token must be there
// when the file is opened again.
func TestCommittedTokenSurvivesKill(t *testing.T) {
	if path := os.Getenv("TOKENCTL_SQLITE_KILL_CHILD"); path != "" {
		killChild(path)
		return
	}
	path := filepath.Join(t.TempDir(), "tokend.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestCommittedTokenSurvivesKill$")
	cmd.Env = append(os.Environ(), "TOKENCTL_SQLITE_KILL_CHILD="+path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// The child prints the committed token's id, then waits to be killed.
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("child did not report a commit: %v", err)
	}
	id := strings.TrimSpace(line)
	if err := cmd.Process.Kill(); err != nil { // SIGKILL: no deferred Close, no checkpoint
		t.Fatal(err)
	}
	cmd.Wait()
	if _, err := os.Stat(path + "-wal"); err != nil {
		t.Fatalf("expected the killed child to leave its WAL behind: %v", err)
	}

	s, err := Open(t.Context(), path)
	if err != nil {
		t.Fatalf("reopen after kill: %v", err)
	}
	defer s.Close()
	u, err := s.UserByName(t.Context(), "alice")
	if err != nil {
		t.Fatalf("user after kill: %v", err)
	}
	if _, err := s.GetToken(t.Context(), u.ID, id); err != nil {
		t.Fatalf("token %s committed before kill -9 is gone: %v", id, err)
	}
}

// killChild is the child side of TestCommittedTokenSurvivesKill.
func killChild(path string) {
	ctx := context.Background()
	s, err := Open(ctx, path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		os.Exit(1)
	}
	u := store.User{ID: store.NewID(time.Now()), Username: "alice", PasswordHash: "h", CreatedAt: time.Now()}
	nt := store.NewToken{
		ID: store.NewID(time.Now()), UserID: u.ID, Name: "t", KeyHint: "h",
		Digest: sha256.Sum256([]byte("kill")), CreatedAt: time.Now(), ExpiresAt: time.Now().Add(time.Hour),
	}
	if err := s.CreateUser(ctx, u); err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		os.Exit(1)
	}
	if _, _, err := s.CreateToken(ctx, nt); err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		os.Exit(1)
	}
	fmt.Println(nt.ID)
	time.Sleep(time.Minute) // killed long before this ends
	os.Exit(1)
}

func TestConcurrentOpensOfANewFileMigrateOnce(t *testing.T) {
	// Several processes starting at once on a fresh file (say, tokend and
	// `tokend user add` in a deploy script) must all open it, and the schema
	// must be created exactly once.
	path := filepath.Join(t.TempDir(), "tokend.db")
	const n = 4
	stores := make([]*Store, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stores[i], errs[i] = Open(t.Context(), path)
		}()
	}
	wg.Wait()
	for i, s := range stores {
		if errs[i] != nil {
			t.Errorf("open %d: %v", i, errs[i])
			continue
		}
		defer s.Close()
	}
	if t.Failed() {
		return
	}
	u := store.User{ID: store.NewID(time.Now()), Username: "alice", PasswordHash: "h", CreatedAt: time.Now()}
	if err := stores[0].CreateUser(t.Context(), u); err != nil {
		t.Fatal(err)
	}
	if got, err := stores[n-1].UserByName(t.Context(), "alice"); err != nil || got.ID != u.ID {
		t.Fatalf("user written through one store, read through another = %+v, %v", got, err)
	}
	if v := pragma(t, stores[1].w, "user_version"); v != strconv.Itoa(SchemaVersion()) {
		t.Fatalf("user_version = %s, want %d", v, SchemaVersion())
	}
}

// Two stores on one file (as tokend serve and a second process would be):
// the same identity token exchanged through both at once makes one token.
func TestReplayAcrossTwoOpensOfOneFile(t *testing.T) {
	a, path := openTemp(t)
	b, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	now := time.Now().UTC()
	u := store.User{ID: store.NewID(now), Username: "alice", PasswordHash: "h", CreatedAt: now}
	if err := a.CreateUser(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	storetest.ReplayRace(t, []store.Store{a, b}, u)
}
