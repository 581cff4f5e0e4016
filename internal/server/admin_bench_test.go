package server

import (
	"context"
	"crypto/sha256"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/tokenctl/tokenctl/internal/api"
	"github.com/tokenctl/tokenctl/internal/store"
)

// BenchmarkAdminBulkRevoke10kAcross100Users: an admin revokes 10,000
// tokens owned by 100 users through POST /v1/admin/tokens/delete (ten
// calls of 1000, the API's limit), on SQLite, events included. One op is
// the whole 10,000; the figure is in docs/decisions.md.
func BenchmarkAdminBulkRevoke10kAcross100Users(b *testing.B) {
	e := newTestEnv(b)
	e.validate = false
	e.addAdmin("root", "pw")
	admin := bearer(e.login("root", "pw"))
	ctx := context.Background()
	var users []store.User
	for i := range 100 {
		u := store.User{ID: store.NewID(time.Now()), Username: fmt.Sprint("u", i), CreatedAt: time.Now().UTC()}
		if err := e.st.CreateUser(ctx, u); err != nil {
			b.Fatal(err)
		}
		users = append(users, u)
	}
	now := time.Now().UTC().Truncate(time.Second)
	seed := 0
	mint := func() []string {
		ids := make([]string, 0, 10000)
		for _, u := range users {
			for range 100 {
				seed++
				id := store.NewID(time.Now())
				if _, _, err := e.st.CreateToken(ctx, store.NewToken{ID: id, UserID: u.ID, Name: "t", KeyHint: "h",
					Digest: sha256.Sum256(fmt.Append(nil, seed)), CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
					b.Fatal(err)
				}
				ids = append(ids, id)
			}
		}
		return ids
	}
	for b.Loop() {
		b.StopTimer()
		ids := mint()
		b.StartTimer()
		for i := 0; i < len(ids); i += api.MaxBulkDelete {
			res := e.do(req{method: "POST", path: "/v1/admin/tokens/delete", auth: admin, json: map[string]any{"ids": ids[i:min(i+api.MaxBulkDelete, len(ids))]}})
			if res.status != http.StatusOK {
				b.Fatalf("bulk delete: %d %s", res.status, res.body)
			}
		}
	}
}
