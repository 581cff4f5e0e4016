package sqlite

import (
	"context"
	"database/sql"
	"os"
	"strings"
	"testing"
	"time"
)

// Ready must fail when a write cannot reach the file the next start opens.
func TestReadyFailsWhenWritesCannotLand(t *testing.T) {
	ctx := context.Background()
	t.Run("file deleted while serving", func(t *testing.T) {
		s, path := openTemp(t)
		if err := s.Ready(ctx); err != nil {
			t.Fatalf("Ready on a fresh store: %v", err)
		}
		if err := os.Remove(path); err != nil {
			t.Fatal(err)
		}
		if err := s.Ready(ctx); err == nil || !strings.Contains(err.Error(), "deleted") {
			t.Fatalf("Ready after the file was deleted = %v", err)
		}
	})
	t.Run("file replaced while serving", func(t *testing.T) {
		s, path := openTemp(t)
		if err := os.Rename(path, path+".moved"); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := s.Ready(ctx); err == nil || !strings.Contains(err.Error(), "replaced") {
			t.Fatalf("Ready after the file was replaced = %v", err)
		}
	})
	t.Run("store closed", func(t *testing.T) {
		s, _ := openTemp(t)
		s.Close()
		if err := s.Ready(ctx); err == nil {
			t.Fatal("Ready on a closed store succeeded")
		}
	})
	t.Run("write lock held by another process", func(t *testing.T) {
		// What a stuck backup or "tokend user add" looks like: reads work,
		// no write can commit.
		s, path := openTemp(t)
		other, err := sql.Open("sqlite", dsn(path, false))
		if err != nil {
			t.Fatal(err)
		}
		defer other.Close()
		conn, err := other.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if _, err := conn.ExecContext(ctx, "BEGIN EXCLUSIVE"); err != nil {
			t.Fatal(err)
		}
		defer conn.ExecContext(ctx, "ROLLBACK")
		if err := s.Ping(ctx); err != nil {
			t.Fatalf("Ping with the lock held: %v (reads should still work)", err)
		}
		tctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
		defer cancel()
		if err := s.Ready(tctx); err == nil {
			t.Fatal("Ready succeeded while another connection held the write lock")
		}
	})
}
