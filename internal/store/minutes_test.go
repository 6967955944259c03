package store_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/sonoivu/vanthu"
	"github.com/sonoivu/vanthu/internal/testenv"
)

func TestIssueMinutesSQLite(t *testing.T) {
	t.Parallel()
	testIssueMinutes(t, func(t *testing.T) string { return filepath.Join(t.TempDir(), "vanthu.db") })
}

func TestIssueMinutesPostgres(t *testing.T) {
	t.Parallel()
	testIssueMinutes(t, func(t *testing.T) string { return testenv.Postgres(t) })
}

func testIssueMinutes(t *testing.T, newDSN opener) {
	ctx := context.Background()
	f := newDocFixture(t, newDSN)
	st := f.st
	in := f.create(t, inspection(f, "SNV", 25))
	_, err := st.MinutesDocument(ctx, in.ID)
	wantCode(t, err, vanthu.ENotFound)

	d := vanthu.Document{Kind: vanthu.KindMinutes, TypeCode: "BB", Issuer: "ĐKT", Subject: "Kiểm tra tại Sở Nội vụ", CreatedBy: f.user,
		Content: vanthu.Content{Template: "minutes", Agency: "SỞ NỘI VỤ", Place: "Vĩnh Long", SignerName: "Trần Thị Ngọc Hân", Body: "Nội dung."}}
	at := time.Date(2026, 11, 25, 10, 0, 0, 0, vanthu.Location)
	pdf := []byte("%PDF-1.7 signed minutes")
	calls := 0
	render := func(_ context.Context, doc vanthu.Document) (vanthu.Artifact, []byte, error) {
		calls++
		if doc.Symbol == "" || doc.ID == 0 {
			t.Errorf("render got an unnumbered document: %+v", doc)
		}
		return vanthu.Artifact{Name: "bien-ban.pdf", ContentType: "application/pdf"}, pdf, nil
	}

	// A failed render stores nothing and leaves the number unused.
	_, err = st.IssueMinutes(ctx, in.ID, d, "kiemtra", at, func(context.Context, vanthu.Document) (vanthu.Artifact, []byte, error) {
		return vanthu.Artifact{}, nil, errors.New("no fonts")
	})
	if err == nil {
		t.Fatal("IssueMinutes with a failing render succeeded")
	}
	if _, err := st.MinutesDocument(ctx, in.ID); vanthu.ErrorCodeOf(err) != vanthu.ENotFound {
		t.Fatalf("after a failed render: %v, want ENotFound", err)
	}

	doc, err := st.IssueMinutes(ctx, in.ID, d, "kiemtra", at, render)
	if err != nil {
		t.Fatalf("IssueMinutes: %v", err)
	}
	if doc.Symbol != "01/BB-ĐKT" || doc.State != vanthu.StateIssued || doc.Year != 2026 || doc.IssuedAt == nil {
		t.Errorf("issued %+v, want 01/BB-ĐKT issued in 2026", doc)
	}
	art, content, err := st.GetArtifact(ctx, doc.ID)
	if err != nil {
		t.Fatal(err)
	}
	if sum := sha256.Sum256(pdf); string(content) != string(pdf) || art.SHA256 != hex.EncodeToString(sum[:]) {
		t.Errorf("artifact %+v does not hold the rendered bytes", art)
	}

	// Again (a retried task): the same document, no render, no number.
	again, err := st.IssueMinutes(ctx, in.ID, d, "kiemtra", at, render)
	if err != nil || again.ID != doc.ID || calls != 1 {
		t.Fatalf("second IssueMinutes: %d, %v (render called %d times), want %d without a render", again.ID, err, calls, doc.ID)
	}
	if got, err := st.MinutesDocument(ctx, in.ID); err != nil || got.ID != doc.ID {
		t.Fatalf("MinutesDocument = %d, %v; want %d", got.ID, err, doc.ID)
	}
	if err := st.MarkInspectionFinalized(ctx, in.ID, doc.ID, "kiemtra"); err != nil {
		t.Fatal(err)
	}

	// Another inspection takes the next number; a finalized one is refused.
	other := f.create(t, inspection(f, "SNV", 26))
	next, err := st.IssueMinutes(ctx, other.ID, d, "kiemtra", at, render)
	if err != nil || next.Symbol != "02/BB-ĐKT" {
		t.Fatalf("next minutes: %q, %v; want 02/BB-ĐKT", next.Symbol, err)
	}
	if err := st.MarkInspectionFinalized(ctx, other.ID, next.ID, "kiemtra"); err != nil {
		t.Fatal(err)
	}
	third := f.create(t, inspection(f, "SNV", 27))
	if err := st.MarkInspectionFinalized(ctx, third.ID, next.ID, "kiemtra"); err != nil {
		t.Fatal(err) // finalized with a document not made for it, to test the refusal below
	}
	_, err = st.IssueMinutes(ctx, third.ID, d, "kiemtra", at, render)
	wantCode(t, err, vanthu.EConflict)
	_, err = st.IssueMinutes(ctx, 1<<40, d, "kiemtra", at, render)
	wantCode(t, err, vanthu.ENotFound)
}
