package web_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/sonoivu/vanthu/internal/store"
	"github.com/sonoivu/vanthu/internal/web"
)

// openStore returns a fresh, migrated SQLite store: the tests run against
// the real SQL, not a stand-in.
func openStore(t *testing.T) web.Store {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return st
}

// The real store satisfies the web's interface.
var _ web.Store = (*store.Store)(nil)
