package worker

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/hibiken/asynq"

	"github.com/sonoivu/vanthu"
	"github.com/sonoivu/vanthu/internal/directive"
	"github.com/sonoivu/vanthu/internal/render"
	"github.com/sonoivu/vanthu/internal/sign"
	"github.com/sonoivu/vanthu/templates"
)

// TypeInspectionFinalize turns a complete inspection record into its
// numbered, signed minutes and finalizes the record.
const TypeInspectionFinalize = "inspection:finalize"

// DefaultInspectionSeries is the issuer code of the minutes' number when
// none is configured: "01/BB-ĐKT" (Đoàn kiểm tra).
const DefaultInspectionSeries = "ĐKT"

// minutesTypeCode is the document type of the minutes in their number.
const minutesTypeCode = "BB"

// InspectionPayload is the payload of TypeInspectionFinalize.
type InspectionPayload struct {
	InspectionID int64  `json:"inspection_id"`
	UserID       int64  `json:"user_id"` // who asked; the document's creator
	RequestedBy  string `json:"requested_by"`
}

// NewInspectionFinalizeTask builds the finalize task of an inspection. Its
// ID is derived from the inspection, so pressing the button twice while
// the task is queued enqueues it once.
func NewInspectionFinalizeTask(p InspectionPayload) (*asynq.Task, []asynq.Option, error) {
	return newTask(TypeInspectionFinalize, p, finalizeTaskID(p.InspectionID),
		asynq.Queue(QueueDefault), asynq.MaxRetry(10), asynq.Timeout(2*time.Minute), asynq.Retention(24*time.Hour))
}

func finalizeTaskID(inspectionID int64) string {
	return fmt.Sprintf("%s:%d", TypeInspectionFinalize, inspectionID)
}

// InspectionStore is what the finalize task needs from the database
// (*store.Store).
type InspectionStore interface {
	GetInspection(ctx context.Context, id int64) (vanthu.Inspection, error)
	ListCatalog(ctx context.Context, kind vanthu.CatalogKind) ([]vanthu.CatalogEntry, error)
	IssueMinutes(ctx context.Context, inspectionID int64, d vanthu.Document, actor string, at time.Time,
		render func(ctx context.Context, doc vanthu.Document) (vanthu.Artifact, []byte, error)) (vanthu.Document, error)
	MarkInspectionFinalized(ctx context.Context, id, documentID int64, actor string) error
}

// Inspections holds what the finalize task needs besides the store.
type Inspections struct {
	Store     InspectionStore
	Templates *templates.Set
	// Signer signs the minutes with the inspection team's certificate.
	Signer *sign.Signer
	// Series is the issuer code of the minutes' numbers
	// (VANTHU_INSPECTION_SERIES); "" is DefaultInspectionSeries.
	Series string
	// The frame of the minutes: the agency the team belongs to and where
	// it sits ("UBND TỈNH VĨNH LONG", "SỞ NỘI VỤ", "Vĩnh Long").
	ParentAgency, Agency, Place string
}

func (s *Inspections) series() string {
	if s.Series != "" {
		return s.Series
	}
	return DefaultInspectionSeries
}

// HandleInspectionFinalize makes the minutes of an inspection: it checks
// the record (an incomplete one is EInvalid, not retried, its problems in
// the error), issues a BB document numbered in the configured series with
// the record mapped into the "minutes" template, lays it out, signs the
// PDF, stores it as the document's artifact and marks the inspection
// finalized with the document.
//
// It is idempotent: store.IssueMinutes finds the document an earlier run
// made (through the inspection_minutes_issued event written with it) and
// returns it without drawing a number, and MarkInspectionFinalized with
// the same document changes nothing. A crash between the two is repaired
// by the retry.
func (h *Handlers) HandleInspectionFinalize(ctx context.Context, t *asynq.Task) error {
	var p InspectionPayload
	if err := decode(t, &p); err != nil {
		return err
	}
	s := h.Inspections
	in, err := s.Store.GetInspection(ctx, p.InspectionID)
	if err != nil {
		return err
	}
	if in.State == vanthu.InspectionFinalized {
		return nil
	}
	catalog, err := s.Store.ListCatalog(ctx, "")
	if err != nil {
		return err
	}
	if ps := vanthu.FinalizeProblems(&in, catalog); len(ps) > 0 {
		return vanthu.Invalid("Biên bản chưa đủ thông tin để hoàn tất.", ps...)
	}
	if s.Signer == nil {
		return vanthu.Errorf(vanthu.EPermanent, "Chưa cấu hình chữ ký số (VANTHU_SIGN_P12 hoặc VANTHU_SIGN_KEY).")
	}
	d, err := s.minutesDocument(&in, catalog)
	if err != nil {
		return err
	}
	if d.CreatedBy = p.UserID; d.CreatedBy == 0 {
		d.CreatedBy = in.CreatedBy
	}
	at := h.now()
	doc, err := s.Store.IssueMinutes(ctx, in.ID, d, p.RequestedBy, at, func(ctx context.Context, doc vanthu.Document) (vanthu.Artifact, []byte, error) {
		pdf, err := render.PDF(directive.Layout(doc, at))
		if err != nil {
			return vanthu.Artifact{}, nil, fmt.Errorf("lay out minutes %s: %w", doc.Symbol, err)
		}
		signed, err := s.Signer.Sign(ctx, pdf, sign.Options{
			Name: doc.Content.SignerName, Reason: "Ký biên bản kiểm tra " + doc.Symbol, Location: doc.Content.Place, Time: at,
		})
		if err != nil {
			return vanthu.Artifact{}, nil, fmt.Errorf("sign minutes %s: %w", doc.Symbol, err)
		}
		return vanthu.Artifact{Name: directive.FileName(doc), ContentType: "application/pdf"}, signed, nil
	})
	if err != nil {
		return err
	}
	if err := s.Store.MarkInspectionFinalized(ctx, in.ID, doc.ID, p.RequestedBy); err != nil {
		return err
	}
	h.Logger.InfoContext(ctx, "inspection finalized", slog.Int64("inspection", in.ID), slog.String("symbol", doc.Symbol))
	return nil
}

// minutesDocument maps an inspection onto the minutes document: the frame
// in the content's fields and the body expanded from the "minutes"
// template, whose data has the shape of its sample
// (templates/documents/minutes.sample.json).
func (s *Inspections) minutesDocument(in *vanthu.Inspection, catalog []vanthu.CatalogEntry) (vanthu.Document, error) {
	data, err := MinutesData(in, catalog)
	if err != nil {
		return vanthu.Document{}, err
	}
	body, err := s.Templates.Body("minutes", data)
	if err != nil {
		return vanthu.Document{}, fmt.Errorf("minutes of inspection %d: %w", in.ID, err)
	}
	leader := ""
	for _, m := range in.Team {
		if m.Role == vanthu.RoleLeader {
			leader = m.Name
		}
	}
	unit := in.UnitName
	return vanthu.Document{
		Kind: vanthu.KindMinutes, TypeCode: minutesTypeCode, Issuer: s.series(),
		Subject: "Kiểm tra " + map[bool]string{true: "đột xuất ", false: ""}[in.Surprise] +
			"việc chấp hành kỷ luật, kỷ cương hành chính tại " + unit,
		Content: vanthu.Content{
			Template: "minutes", ParentAgency: s.ParentAgency, Agency: s.Agency, Place: s.Place, TypeName: "BIÊN BẢN",
			SignerAuthority: "TRƯỞNG ĐOÀN KIỂM TRA", SignerName: leader,
			NoiNhan: []string{unit, "Lưu: VT, " + s.series()},
			Body:    body,
		},
	}, nil
}

// minutesData is the data of the "minutes" template; its field names are
// the template's placeholders.
type minutesData struct {
	LegalBasis      []string
	Surprise        bool
	Start, End      string
	Place, Unit     string
	Team            []map[string]string
	Representatives []map[string]string
	Attendance      map[string]int
	// Rates are the attendance rates as vanthu.Percent writes them, for
	// templates an office adapts.
	Rates           map[string]string
	Checklist       []map[string]string
	Findings        []map[string]string
	Conclusion      string
	Proposal        string
	ReportBy        string
	RefusedBy       string
	RefusalReason   string
	UnitExplanation string
}

// MinutesData maps in onto the data of the "minutes" template: the
// checklist's labels and results, the violation and handling names from
// the catalog (not their codes), times in RFC 3339. It goes through JSON,
// so the template sees exactly what a sample file gives it.
func MinutesData(in *vanthu.Inspection, catalog []vanthu.CatalogEntry) (map[string]any, error) {
	names := map[vanthu.CatalogKind]map[string]string{}
	for _, e := range catalog {
		if names[e.Kind] == nil {
			names[e.Kind] = map[string]string{}
		}
		names[e.Kind][e.Code] = e.Name
	}
	name := func(k vanthu.CatalogKind, code string) string {
		if n := names[k][code]; n != "" {
			return n
		}
		return code
	}
	ts := func(t *time.Time) string {
		if t == nil {
			return ""
		}
		return t.In(vanthu.Location).Format(time.RFC3339)
	}
	a := in.Attendance
	d := minutesData{
		LegalBasis: in.LegalBasis, Surprise: in.Surprise, Start: ts(in.StartedAt), End: ts(in.EndedAt),
		Place: in.Place, Unit: in.UnitName,
		Attendance: map[string]int{"Listed": a.Listed, "Present": a.Present, "AbsentExcused": a.AbsentExcused(),
			"AbsentUnexcused": a.AbsentUnexcused, "Late": a.Late + a.LeftEarly},
		Rates: map[string]string{"Present": vanthu.Percent(a.Present, a.Listed), "AbsentExcused": vanthu.Percent(a.AbsentExcused(), a.Listed),
			"AbsentUnexcused": vanthu.Percent(a.AbsentUnexcused, a.Listed), "Late": vanthu.Percent(a.Late+a.LeftEarly, a.Listed)},
		Conclusion: in.Conclusions, UnitExplanation: in.UnitExplanation,
		RefusalReason: in.RefusalReason,
	}
	if in.ReportDeadline != nil {
		d.ReportBy = in.ReportDeadline.In(vanthu.Location).Format("2006-01-02")
	}
	if in.RefusedToSign {
		d.RefusedBy = "đại diện " + in.UnitName
		if len(in.Representatives) > 0 {
			d.RefusedBy = in.Representatives[0].Name
		}
	}
	for _, m := range in.Team {
		d.Team = append(d.Team, map[string]string{"Name": m.Name, "Position": m.Position, "Role": m.Role.Label()})
	}
	for _, r := range in.Representatives {
		d.Representatives = append(d.Representatives, map[string]string{"Name": r.Name, "Position": r.Position})
	}
	for _, c := range in.Checklist {
		result := c.Result.Label()
		if c.Note != "" {
			result = strings.TrimPrefix(result+"; "+c.Note, "; ")
		}
		d.Checklist = append(d.Checklist, map[string]string{"Item": c.Label, "Result": result})
	}
	for _, f := range in.Findings {
		d.Findings = append(d.Findings, map[string]string{"Name": f.Name, "Position": f.Position, "Section": f.Section,
			"Violation": name(vanthu.CatalogViolation, f.Violation), "Seen": ts(f.SeenAt), "Explanation": f.Explanation})
	}
	var proposals []string
	for _, hd := range in.Handling {
		p := name(vanthu.CatalogHandling, hd.Code)
		if hd.Person != "" {
			p += " đối với ông/bà " + hd.Person
		} else {
			p += " đối với đơn vị"
		}
		if hd.Note != "" {
			p += " (" + hd.Note + ")"
		}
		proposals = append(proposals, p)
	}
	if len(proposals) > 0 {
		d.Proposal = "Đoàn kiểm tra đề nghị: " + strings.Join(proposals, "; ") + "."
	}
	b, err := json.Marshal(d)
	if err != nil {
		return nil, fmt.Errorf("minutes data: %w", err)
	}
	input, err := templates.ParseInput(append(append([]byte(`{"data":`), b...), '}'))
	if err != nil {
		return nil, fmt.Errorf("minutes data: %w", err)
	}
	return input.Data, nil
}
