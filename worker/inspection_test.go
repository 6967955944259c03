package worker

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/sonoivu/vanthu"
	"github.com/sonoivu/vanthu/internal/sign"
	"github.com/sonoivu/vanthu/internal/store"
	"github.com/sonoivu/vanthu/internal/testenv"
	"github.com/sonoivu/vanthu/templates"
)

// pdfTool runs an independent PDF checker on doc; pdfsig's exit status
// is not its verdict, so only its output counts.
func pdfTool(t *testing.T, doc []byte, name string, args ...string) string {
	t.Helper()
	return testenv.RunPDFTool(t, doc, name == "pdfsig", name, args...)
}

// crashOnce fails the first MarkInspectionFinalized after the minutes are
// issued, as a worker killed between the two steps would.
type crashOnce struct {
	*store.Store
	crashed bool
}

func (c *crashOnce) MarkInspectionFinalized(ctx context.Context, id, documentID int64, actor string) error {
	if !c.crashed {
		c.crashed = true
		return errors.New("worker killed")
	}
	return c.Store.MarkInspectionFinalized(ctx, id, documentID, actor)
}

type finalizeFixture struct {
	st   *store.Store
	user int64
	unit vanthu.Unit
}

func vnAt(day, hour, minute int) *time.Time {
	v := time.Date(2026, 11, day, hour, minute, 0, 0, vanthu.Location)
	return &v
}

// complete is a record the finalize task accepts: 35 of 42 present, three
// absent without reason, two persons found in violation.
func (f *finalizeFixture) complete(t *testing.T) vanthu.Inspection {
	t.Helper()
	in := vanthu.Inspection{
		UnitID: f.unit.ID, Place: "Trụ sở Ủy ban nhân dân phường Thanh Đức", Surprise: true,
		LegalBasis: []string{"Quyết định số 356/QĐ-SNV ngày 20/11/2026 của Giám đốc Sở Nội vụ"},
		StartedAt:  vnAt(25, 7, 45), EndedAt: vnAt(25, 9, 30), ReportDeadline: vnAt(30, 0, 0),
		Team: []vanthu.TeamMember{
			{Name: "Trần Thị Ngọc Hân", Position: "Phó Giám đốc", Role: vanthu.RoleLeader},
			{Name: "Võ Thị Mỹ Duyên", Position: "Chuyên viên", Role: vanthu.RoleSecretary},
		},
		Representatives: []vanthu.Person{{Name: "Phạm Văn Đức", Position: "Chánh Văn phòng"}},
		Attendance:      vanthu.Attendance{Listed: 42, Present: 35, AbsentLeave: 2, AbsentAssignment: 1, AbsentStudy: 1, AbsentUnexcused: 3, Late: 2},
		Findings: []vanthu.Finding{
			{Name: "Nguyễn Văn Thưởng", Position: "Chuyên viên", Section: "Kế hoạch", Violation: "vang-khong-ly-do", SeenAt: vnAt(25, 7, 50)},
			{Name: "Lê Thị Hoà", Section: "Một cửa", Violation: "hut-thuoc", Explanation: "Đã nhận lỗi."},
		},
		Handling:    []vanthu.Handling{{Code: "kiem-diem", Person: "Nguyễn Văn Thưởng"}},
		Conclusions: "Đơn vị cơ bản chấp hành tốt kỷ luật, kỷ cương hành chính.",
		CreatedBy:   f.user,
	}
	if err := f.st.CreateInspection(context.Background(), &in, "kiemtra"); err != nil {
		t.Fatalf("CreateInspection: %v", err)
	}
	return in
}

func newFinalizeFixture(t *testing.T) *finalizeFixture {
	t.Helper()
	ctx := context.Background()
	st := newStore(t)
	u := vanthu.User{Username: "kiemtra", FullName: "Trần Thị Ngọc Hân", Role: vanthu.RoleInspector, Active: true}
	if err := st.CreateUser(ctx, &u, "test"); err != nil {
		t.Fatal(err)
	}
	unit := vanthu.Unit{Code: "P-TD", Name: "Ủy ban nhân dân phường Thanh Đức", Emails: []string{"ubnd@thanhduc.vinhlong.gov.vn"},
		Group: vanthu.GroupCommune, Active: true}
	if err := st.CreateUnit(ctx, &unit, "test"); err != nil {
		t.Fatal(err)
	}
	return &finalizeFixture{st: st, user: u.ID, unit: unit}
}

func finalizeHandlers(t testing.TB, st InspectionStore) *Handlers {
	t.Helper()
	tpl, err := templates.Load("")
	if err != nil {
		t.Fatal(err)
	}
	_, p12, pw, err := sign.DevCA(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	signer, err := sign.LoadPKCS12(p12, pw)
	if err != nil {
		t.Fatal(err)
	}
	return &Handlers{Templates: tpl, Logger: quiet, Inspections: &Inspections{
		Store: st, Templates: tpl, Signer: signer,
		ParentAgency: "UBND TỈNH VĨNH LONG", Agency: "SỞ NỘI VỤ", Place: "Vĩnh Long",
	}}
}

func finalizeTask(t *testing.T, id, user int64) *asynq.Task {
	t.Helper()
	task, _, err := NewInspectionFinalizeTask(InspectionPayload{InspectionID: id, UserID: user, RequestedBy: "kiemtra"})
	if err != nil {
		t.Fatal(err)
	}
	return task
}

func TestInspectionFinalizeOnRedis(t *testing.T) {
	ctx := context.Background()
	f := newFinalizeFixture(t)
	h := finalizeHandlers(t, f.st)
	h.Store = f.st
	c, insp := start(t, testenv.Redis(t), h, nil)

	// An incomplete record is refused with its fields and not retried.
	draft := vanthu.Inspection{UnitID: f.unit.ID, CreatedBy: f.user}
	if err := f.st.CreateInspection(ctx, &draft, "kiemtra"); err != nil {
		t.Fatal(err)
	}
	err := h.HandleInspectionFinalize(ctx, finalizeTask(t, draft.ID, f.user))
	var ve *vanthu.Error
	if !errors.As(err, &ve) || ve.Code != vanthu.EInvalid {
		t.Fatalf("incomplete record: got %v, want EInvalid", err)
	}
	fields := map[string]bool{}
	for _, p := range ve.Problems {
		fields[p.Field] = true
	}
	for _, want := range []string{"place", "started_at", "conclusions", "report_deadline", "team"} {
		if !fields[want] {
			t.Errorf("incomplete record: no problem for %s in %v", want, ve.Problems)
		}
	}

	in := f.complete(t)
	task, opts, err := NewInspectionFinalizeTask(InspectionPayload{InspectionID: in.ID, UserID: f.user, RequestedBy: "kiemtra"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Enqueue(ctx, task, opts...); err != nil {
		t.Fatal(err)
	}
	var got vanthu.Inspection
	eventually(t, 30*time.Second, "the inspection finalized", func() bool {
		got, err = f.st.GetInspection(ctx, in.ID)
		return err == nil && got.State == vanthu.InspectionFinalized
	})
	doc, err := f.st.GetDocument(ctx, got.DocumentID)
	if err != nil {
		t.Fatal(err)
	}
	if doc.Symbol != "01/BB-ĐKT" || doc.Kind != vanthu.KindMinutes || doc.State != vanthu.StateIssued {
		t.Errorf("document %s %s %s, want 01/BB-ĐKT minutes issued", doc.Symbol, doc.Kind, doc.State)
	}
	art, pdf, err := f.st.GetArtifact(ctx, doc.ID)
	if err != nil {
		t.Fatal(err)
	}
	if sum := sha256.Sum256(pdf); art.SHA256 != hex.EncodeToString(sum[:]) || art.Name != "01-BB-ĐKT.pdf" {
		t.Errorf("artifact %s %s does not match its content", art.Name, art.SHA256)
	}
	got.Conclusions = "Sửa sau khi ký."
	if err := f.st.SaveInspection(ctx, &got, "kiemtra"); vanthu.ErrorCodeOf(err) != vanthu.EConflict {
		t.Errorf("saving finalized minutes: got %v, want EConflict", err)
	}
	// The same task again is the same work: no second document.
	if err := h.HandleInspectionFinalize(ctx, task); err != nil {
		t.Fatal(err)
	}
	if docs, _ := f.st.ListDocuments(ctx, store.DocumentFilter{Kind: vanthu.KindMinutes}); len(docs) != 1 {
		t.Errorf("%d minutes documents after a repeated task, want 1", len(docs))
	}
	if info, err := insp.GetTaskInfo(QueueDefault, "inspection:finalize:"+strconv.FormatInt(in.ID, 10)); err == nil && info.State != asynq.TaskStateCompleted {
		t.Errorf("task state %v, want completed", info.State)
	}

	text := strings.Join(strings.Fields(pdfTool(t, pdf, "pdftotext")), " ")
	for _, want := range []string{
		"01/BB-ĐKT", "Ủy ban nhân dân phường Thanh Đức", "Nguyễn Văn Thưởng", "Lê Thị Hoà",
		"Vắng mặt không có lý do", "Hút thuốc lá nơi làm việc", "83,33%", "7,14%",
		"Kiểm điểm, rút kinh nghiệm", "30/11/2026", "Trần Thị Ngọc Hân",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the PDF lacks %q:\n%s", want, text)
		}
	}
	sig := pdfTool(t, pdf, "pdfsig")
	if n := len(regexp.MustCompile(`(?m)^Signature #\d+:`).FindAllString(sig, -1)); n != 1 ||
		!strings.Contains(sig, "Signature Validation: Signature is Valid.") || !strings.Contains(sig, "Total document signed") {
		t.Errorf("pdfsig:\n%s", sig)
	}
}

// A worker killed after the minutes were issued but before the record was
// marked: the retry finishes with the same document and number.
func TestInspectionFinalizeAfterCrash(t *testing.T) {
	ctx := context.Background()
	f := newFinalizeFixture(t)
	crash := &crashOnce{Store: f.st}
	h := finalizeHandlers(t, crash)
	in := f.complete(t)
	task := finalizeTask(t, in.ID, f.user)
	if err := h.HandleInspectionFinalize(ctx, task); err == nil {
		t.Fatal("the crashed run succeeded")
	}
	first, err := f.st.MinutesDocument(ctx, in.ID)
	if err != nil {
		t.Fatalf("MinutesDocument after the crash: %v", err)
	}
	if err := h.HandleInspectionFinalize(ctx, task); err != nil {
		t.Fatalf("retry: %v", err)
	}
	got, err := f.st.GetInspection(ctx, in.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != vanthu.InspectionFinalized || got.DocumentID != first.ID {
		t.Errorf("after the retry: state %s, document %d, want finalized with %d", got.State, got.DocumentID, first.ID)
	}
	docs, err := f.st.ListDocuments(ctx, store.DocumentFilter{Kind: vanthu.KindMinutes})
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) != 1 || docs[0].Symbol != "01/BB-ĐKT" {
		t.Errorf("minutes after the retry: %+v, want one, 01/BB-ĐKT", docs)
	}
	// The next inspection takes the next number of the series.
	next := f.complete(t)
	if err := h.HandleInspectionFinalize(ctx, finalizeTask(t, next.ID, f.user)); err != nil {
		t.Fatal(err)
	}
	d, err := f.st.MinutesDocument(ctx, next.ID)
	if err != nil || d.Symbol != "02/BB-ĐKT" {
		t.Errorf("next minutes: %q, %v; want 02/BB-ĐKT", d.Symbol, err)
	}
}
