package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sonoivu/vanthu"
	"github.com/sonoivu/vanthu/internal/store"
)

// TestDevSampleQuartersFail: sample quarters that cannot be seeded (here a
// database of someone else's, without the sample clerk and inspector) are
// tried although the database was not fresh, and their failure is a
// warning saying how to skip them, not a dev that will not start.
func TestDevSampleQuartersFail(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := store.Open(ctx, filepath.Join(dir, "vanthu.db"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateUser(ctx, &vanthu.User{Username: "khac", FullName: "Người khác", Role: vanthu.RoleAdmin, Active: true}, "test"); err != nil {
		t.Fatal(err)
	}
	st.Close()

	dev := startDev(t, map[string]string{"VANTHU_DATA_DIR": dir, "VANTHU_DEV_SAMPLE_QUARTERS": "1"}, time.Minute)
	logs := dev.logs.String()
	if !strings.Contains(logs, "sample quarters not seeded") || !strings.Contains(logs, "VANTHU_DEV_SAMPLE_QUARTERS=0") {
		t.Errorf("no warning about the sample quarters:\n%s", logs)
	}
}
