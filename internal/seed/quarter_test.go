package seed_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/sonoivu/vanthu"
	"github.com/sonoivu/vanthu/internal/seed"
	"github.com/sonoivu/vanthu/internal/store"
)

// TestQuarter seeds a quarter on a real store, with actions that issue
// and finalize through the store itself, and checks what the report will
// count: every directive issued inside the period and every dispatch
// settled, every inspection complete, finalized and inside the period.
func TestQuarter(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "vanthu.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := seed.Run(ctx, st); err != nil {
		t.Fatal(err)
	}
	p := vanthu.QuarterPeriod(2026, 3, vanthu.CutOffCalendar)
	from, until := p.Range()
	act := seed.QuarterActions{
		Issue: func(ctx context.Context, id int64, at time.Time) (vanthu.Document, error) {
			return st.IssueDocument(ctx, id, "seed", at, func(_ context.Context, doc vanthu.Document, units []vanthu.Unit) (store.IssuePlan, error) {
				plan := store.IssuePlan{Artifact: vanthu.Artifact{Name: "ct.pdf", ContentType: "application/pdf"}, Content: []byte("%PDF")}
				for _, u := range units {
					tag := fmt.Sprintf("t%du%d", doc.ID, u.ID)
					plan.Dispatches = append(plan.Dispatches, store.PlannedDispatch{UnitID: u.ID, Email: u.Emails[0], MailTag: tag, TokenHash: []byte(tag)})
				}
				return plan, nil
			})
		},
		Finalize: func(ctx context.Context, id, userID int64) error {
			in, err := st.GetInspection(ctx, id)
			if err != nil {
				return err
			}
			catalog, err := st.ListCatalog(ctx, "")
			if err != nil {
				return err
			}
			if ps := vanthu.FinalizeProblems(&in, catalog); len(ps) > 0 {
				return fmt.Errorf("inspection %d incomplete: %v", id, ps)
			}
			d := vanthu.Document{Kind: vanthu.KindMinutes, TypeCode: "BB", Issuer: "ĐKT", Subject: "Biên bản", CreatedBy: userID,
				Content: vanthu.Content{Template: "minutes", Agency: "SỞ NỘI VỤ", Place: "Vĩnh Long", SignerName: "Trần Văn Minh", Body: "x"}}
			if err := st.CreateDocument(ctx, &d, "seed"); err != nil {
				return err
			}
			return st.MarkInspectionFinalized(ctx, id, d.ID, "seed")
		},
	}
	if err := seed.Quarter(ctx, st, p, act); err != nil {
		t.Fatalf("Quarter: %v", err)
	}

	docs, err := st.ListDocuments(ctx, store.DocumentFilter{Kind: vanthu.KindDirective})
	if err != nil || len(docs) != 3 {
		t.Fatalf("directives %d, %v; want 3", len(docs), err)
	}
	units, _ := st.ListUnits(ctx, vanthu.UnitFilter{ActiveOnly: true})
	acked := 0
	for _, d := range docs {
		if d.State != vanthu.StateIssued || d.IssuedAt.Before(from) || !d.IssuedAt.Before(until) {
			t.Errorf("directive %s issued %v, outside %v–%v", d.Symbol, d.IssuedAt, from, until)
		}
		ds, err := st.ListDispatches(ctx, d.ID)
		if err != nil || len(ds) != len(units) {
			t.Fatalf("dispatches of %s: %d, %v; want %d", d.Symbol, len(ds), err, len(units))
		}
		for _, dp := range ds {
			if dp.SentAt == nil {
				t.Errorf("dispatch %d not sent: the dev worker would send it", dp.ID)
			}
			if dp.AcknowledgedAt != nil {
				acked++
			}
		}
	}
	if total := 3 * len(units); acked < total/2 || acked == total {
		t.Errorf("%d of %d dispatches acknowledged: want most, not all", acked, total)
	}
	ins, err := st.ListInspections(ctx, vanthu.InspectionFilter{Limit: -1})
	if err != nil || len(ins) != 18 {
		t.Fatalf("inspections %d, %v; want 18", len(ins), err)
	}
	findings := 0
	others := map[string]bool{}
	for _, in := range ins {
		if in.State != vanthu.InspectionFinalized || in.StartedAt.Before(from) || !in.StartedAt.Before(until) {
			t.Errorf("inspection %d: %s at %v", in.ID, in.State, in.StartedAt)
		}
		findings += len(in.Findings)
		for _, f := range in.Findings {
			if f.Violation != "vang-khong-ly-do" && f.Violation != "di-muon-ve-som" {
				others[f.Violation] = true
			}
		}
	}
	if findings == 0 {
		t.Error("no findings: the report would have no violations")
	}
	if len(others) < 3 {
		t.Errorf("violations other than absence and lateness: %v; want several kinds", others)
	}

	// A second start finds the quarter seeded and adds nothing.
	if err := seed.Quarter(ctx, st, p, act); err != nil {
		t.Fatalf("Quarter again: %v", err)
	}
	if docs, _ := st.ListDocuments(ctx, store.DocumentFilter{Kind: vanthu.KindDirective}); len(docs) != 3 {
		t.Errorf("directives after seeding again: %d; want 3", len(docs))
	}
	if ins, _ := st.ListInspections(ctx, vanthu.InspectionFilter{Limit: -1}); len(ins) != 18 {
		t.Errorf("inspections after seeding again: %d; want 18", len(ins))
	}
	// The quarter before has no inspections: it is seeded.
	if err := seed.Quarter(ctx, st, p.Previous(), act); err != nil {
		t.Fatalf("Quarter %v: %v", p.Previous(), err)
	}
	if ins, _ := st.ListInspections(ctx, vanthu.InspectionFilter{Limit: -1}); len(ins) != 36 {
		t.Errorf("inspections after seeding the quarter before: %d; want 36", len(ins))
	}
}

// TestCatalogCodes: the codes are the catalog's of that kind, in order,
// less the exceptions.
func TestCatalogCodes(t *testing.T) {
	var want []string
	for _, e := range vanthu.DefaultCatalog() {
		if e.Kind == vanthu.CatalogViolation && e.Code != "vang-khong-ly-do" {
			want = append(want, e.Code)
		}
	}
	if got := seed.CatalogCodes(vanthu.CatalogViolation, "vang-khong-ly-do"); !slices.Equal(got, want) {
		t.Errorf("CatalogCodes(violation) = %v; want %v", got, want)
	}
	hs := seed.CatalogCodes(vanthu.CatalogHandling)
	if len(hs) == 0 || !slices.Contains(hs, "nhac-nho") || slices.Contains(hs, "thai-do") {
		t.Errorf("CatalogCodes(handling) = %v", hs)
	}
}
