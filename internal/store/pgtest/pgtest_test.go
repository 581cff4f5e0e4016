package pgtest

import (
	"context"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

func TestMain(m *testing.M) { os.Exit(Main(m)) }

// Two URLs are two separate, empty, working databases.
func TestURLGivesIsolatedDatabases(t *testing.T) {
	ctx := context.Background()
	a, b := URL(t), URL(t)
	if a == b {
		t.Fatalf("two calls gave the same URL %s", a)
	}
	ca, err := pgx.Connect(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	defer ca.Close(ctx)
	cb, err := pgx.Connect(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	defer cb.Close(ctx)
	if _, err := ca.Exec(ctx, `CREATE TABLE only_in_a (x int)`); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := cb.QueryRow(ctx, `SELECT count(*) FROM pg_tables WHERE tablename = 'only_in_a'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatal("a table created in one test database shows up in another")
	}
	if os.Getenv(EnvURL) == "" {
		// The throw-away cluster listens on its Unix socket only.
		var listen string
		if err := ca.QueryRow(ctx, `SHOW listen_addresses`).Scan(&listen); err != nil {
			t.Fatal(err)
		}
		if listen != "" {
			t.Fatalf("listen_addresses = %q, want none", listen)
		}
	}
}

// With TOKEND_TEST_POSTGRES set, databases are made on that server (here a
// second cluster standing in for one) and dropped after the test.
func TestURLUsesTheGivenServer(t *testing.T) {
	if _, err := Bin(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	c, err := Start()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop()
	t.Setenv(EnvURL, c.URL("postgres"))
	var name string
	t.Run("inner", func(t *testing.T) {
		u := URL(t)
		if !strings.Contains(u, url.QueryEscape(c.dir)) {
			t.Fatalf("URL %s is not on the given server %s", u, c.dir)
		}
		conn, err := pgx.Connect(context.Background(), u)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(context.Background())
		if err := conn.QueryRow(context.Background(), `SELECT current_database()`).Scan(&name); err != nil {
			t.Fatal(err)
		}
	})
	admin, err := pgx.Connect(context.Background(), c.URL("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(context.Background())
	var n int
	if err := admin.QueryRow(context.Background(), `SELECT count(*) FROM pg_database WHERE datname = $1`, name).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if name == "" || n != 0 {
		t.Fatalf("database %q still exists after its test (%d)", name, n)
	}
}

// Halt stops the server (connections fail) and Resume brings the same data
// back on the same URL.
func TestHaltAndResumeKeepTheData(t *testing.T) {
	c := Own(t)
	u, err := c.CreateDB("kept")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := adminExec(u, `CREATE TABLE t (x int); INSERT INTO t VALUES (42)`); err != nil {
		t.Fatal(err)
	}
	if err := c.Halt(); err != nil {
		t.Fatal(err)
	}
	if conn, err := pgx.Connect(ctx, u); err == nil {
		conn.Close(ctx)
		t.Fatal("connected to a halted cluster")
	}
	if err := c.Resume(); err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var x int
	if err := conn.QueryRow(ctx, `SELECT x FROM t`).Scan(&x); err != nil || x != 42 {
		t.Fatalf("after Resume: %d, %v; want 42", x, err)
	}
}
