package web_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/sonoivu/vanthu"
	"github.com/sonoivu/vanthu/internal/store"
	"github.com/sonoivu/vanthu/internal/web"
)

// fakeDirectives stands in for internal/directive: it drafts from one
// template, "renders" tiny PDFs, and issues through the REAL store, so
// numbering, audience checks and dispatch rows are the store's. Every
// dispatch gets a known ack token (ackToken) for the acknowledgement tests.
type fakeDirectives struct {
	st *store.Store

	mu       sync.Mutex
	previews []int64
	issues   []int64
	sheets   []int // dispatches per tracking sheet
}

// ackToken is the acknowledgement token of the dispatch of doc to unit.
func ackToken(docID, unitID int64) string {
	return fmt.Sprintf("tok-%d-%d-0123456789abcdef0123456789abcdef", docID, unitID)
}

const fakeTemplateBody = "Để tăng cường kỷ luật, kỷ cương hành chính, Chủ tịch Ủy ban nhân dân tỉnh chỉ thị:\n\n1. Các sở, ban, ngành thực hiện nghiêm."

func (f *fakeDirectives) NewDraft(template string) (vanthu.Document, error) {
	if template != "directive" {
		return vanthu.Document{}, vanthu.Errorf(vanthu.ENotFound, "Không có mẫu văn bản %q.", template)
	}
	return vanthu.Document{
		Kind: vanthu.KindDirective, TypeCode: "CT", Issuer: "UBND",
		Content: vanthu.Content{
			Template: "directive", Agency: "ỦY BAN NHÂN DÂN TỈNH VĨNH LONG", Place: "Vĩnh Long", TypeName: "CHỈ THỊ",
			SignerAuthority: "TM. ỦY BAN NHÂN DÂN", SignerTitle: "CHỦ TỊCH",
			Body: fakeTemplateBody, NoiNhan: []string{"Như trên;", "Lưu: VT."},
		},
	}, nil
}

func (f *fakeDirectives) Preview(ctx context.Context, d vanthu.Document) ([]byte, error) {
	f.mu.Lock()
	f.previews = append(f.previews, d.ID)
	f.mu.Unlock()
	if strings.Contains(d.Content.Body, "{{") {
		return nil, vanthu.Invalid("Mẫu văn bản có lỗi.", vanthu.Problem{Field: "content.body", Line: 1, Message: "Chỗ giữ chỗ chưa đóng."})
	}
	return []byte("%PDF-1.7\n% preview " + d.Subject), nil
}

func (f *fakeDirectives) Issue(ctx context.Context, id int64, actor string) (vanthu.Document, error) {
	f.mu.Lock()
	f.issues = append(f.issues, id)
	f.mu.Unlock()
	return f.st.IssueDocument(ctx, id, actor, time.Now(), func(ctx context.Context, doc vanthu.Document, units []vanthu.Unit) (store.IssuePlan, error) {
		p := store.IssuePlan{
			Artifact: vanthu.Artifact{Name: "Chỉ thị " + strings.ReplaceAll(doc.Symbol, "/", "-") + ".pdf", ContentType: "application/pdf"},
			Content:  []byte("%PDF-1.7\n% " + doc.Symbol),
		}
		for _, u := range units {
			p.Dispatches = append(p.Dispatches, store.PlannedDispatch{
				UnitID: u.ID, Email: u.Emails[0],
				MailTag:   fmt.Sprintf("d%du%d", doc.ID, u.ID),
				TokenHash: web.HashSecret(ackToken(doc.ID, u.ID)),
			})
		}
		return p, nil
	})
}

func (f *fakeDirectives) TrackingSheet(ctx context.Context, doc vanthu.Document, ds []vanthu.Dispatch, now time.Time) ([]byte, error) {
	f.mu.Lock()
	f.sheets = append(f.sheets, len(ds))
	f.mu.Unlock()
	return []byte("PK\x03\x04 tracking " + doc.Symbol), nil
}

func (f *fakeDirectives) issueCalls() []int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]int64(nil), f.issues...)
}
