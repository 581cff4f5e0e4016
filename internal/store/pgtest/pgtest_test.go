package pgtest

import (
	"context"
	"os"
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
