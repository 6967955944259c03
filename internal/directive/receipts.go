package directive

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sonoivu/vanthu"
	"github.com/sonoivu/vanthu/internal/render"
	"github.com/sonoivu/vanthu/internal/render/sheet"
	"github.com/sonoivu/vanthu/templates"
)

// The receipt report is what the clerk shows a superior who asks whether
// every unit got a document: per unit, when it was sent, read and
// acknowledged, through which channel and on what evidence, and the
// SHA-256 of the PDF that was sent. The PDF is the "receipts" document
// template, a BÁO CÁO of the office whose frame (agency, signer, Kính gửi)
// comes from the template's sample, as a draft's does; the XLSX is the
// "receipts" Excel template.

// receiptsTemplate names both templates of the report.
const receiptsTemplate = "receipts"

// maxNote is how much of an acknowledgement's note (a reply's whole text,
// perhaps) the report quotes.
const maxNote = 500

// ReceiptStore is the query the report reads (*store.Store).
type ReceiptStore interface {
	// ReceiptEvidence returns the document's dispatches in official order,
	// each with the evidence of its milestones.
	ReceiptEvidence(ctx context.Context, documentID int64) ([]vanthu.Receipt, error)
}

// Receipts is what the web layer asks for the receipt report: the store's
// evidence and the service that lays it out.
type Receipts struct {
	*Service
	ReceiptStore
}

// ReceiptPDF lays out the receipt report of the issued document doc as a
// PDF: rs are its receipts (ReceiptStore), art the artifact that was sent
// (its name, size and SHA-256 are printed), now the time the figures are
// given as of, which is also the report's date.
func (s *Service) ReceiptPDF(ctx context.Context, doc vanthu.Document, rs []vanthu.Receipt, art vanthu.Artifact, now time.Time) ([]byte, error) {
	issued, err := issuedAt(doc)
	if err != nil {
		return nil, err
	}
	sample, err := s.Templates.Sample(receiptsTemplate)
	if err != nil {
		return nil, err
	}
	frame := sample.Document
	frame.Date = now.In(vanthu.Location).Format("2006-01-02")
	frame.Subject = fmt.Sprintf("Tình hình tiếp nhận văn bản số %s ngày %s", doc.Symbol, issued.Format("02/01/2006"))
	var totals vanthu.Progress
	units := make([]any, len(rs))
	for i := range rs {
		r := &rs[i]
		totals.Add(&r.Dispatch, now)
		u := map[string]any{
			"Name": r.UnitName, "Code": r.UnitCode, "Status": r.Status().Label(),
			"Sent": milestoneData(r, vanthu.MilestoneSent), "Read": milestoneData(r, vanthu.MilestoneRead),
			"Ack": milestoneData(r, vanthu.MilestoneAcknowledged), "Problem": nil,
		}
		if m := problem(r); m != "" {
			p := milestoneData(r, m)
			p["Label"] = m.Label()
			u["Problem"] = p
		}
		units[i] = u
	}
	// The sample's data is shared by every caller: only its Office is
	// read, into a new map.
	office, _ := sample.Data["Office"].(string)
	data := map[string]any{
		"Office": office,
		"Document": map[string]any{
			"Number": doc.Symbol, "Date": issued, "Subject": doc.Subject,
		},
		"File":  map[string]any{"Name": art.Name, "Size": art.Size, "SHA256": art.SHA256},
		"AsOf":  now.In(vanthu.Location),
		"Units": units,
		"Totals": map[string]any{
			"Units": totals.Total, "Acknowledged": totals.Acknowledged, "Read": totals.Read, "Sent": totals.Sent,
			"Bounced": totals.Bounced, "Failed": totals.Failed, "Queued": totals.Queued, "Overdue": totals.Overdue,
		},
	}
	d, err := s.Templates.Document(receiptsTemplate, templates.Input{Document: frame, Data: data})
	if err != nil {
		return nil, fmt.Errorf("receipt report of document %d: %w", doc.ID, err)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	pdf, err := render.PDF(d)
	if err != nil {
		return nil, fmt.Errorf("receipt report of document %d: %w", doc.ID, err)
	}
	return pdf, nil
}

// ReceiptXLSX fills the "receipts" Excel template with one row per
// receipt: the times, channels and evidence of sent, read and
// acknowledged, who acknowledged, and a bounce or failure; the template's
// totals count them. Arguments as for ReceiptPDF.
func (s *Service) ReceiptXLSX(ctx context.Context, doc vanthu.Document, rs []vanthu.Receipt, art vanthu.Artifact, now time.Time) ([]byte, error) {
	issued, err := issuedAt(doc)
	if err != nil {
		return nil, err
	}
	recs := make([]map[string]any, len(rs))
	for i := range rs {
		r := &rs[i]
		rec := map[string]any{"Code": r.UnitCode, "Name": r.UnitName, "Status": r.Status().Label()}
		for prefix, m := range map[string]vanthu.Milestone{"Sent": vanthu.MilestoneSent, "Read": vanthu.MilestoneRead, "Ack": vanthu.MilestoneAcknowledged} {
			md := milestoneData(r, m)
			rec[prefix+"At"], rec[prefix+"Channel"], rec[prefix+"Evidence"] = md["At"], md["Channel"], md["Evidence"]
		}
		rec["AckBy"] = ""
		if r.AcknowledgedAt != nil {
			rec["AckBy"] = personText(ackPerson(r))
		}
		rec["ProblemAt"], rec["ProblemChannel"], rec["ProblemEvidence"] = nil, "", ""
		if m := problem(r); m != "" {
			md := milestoneData(r, m)
			rec["ProblemAt"], rec["ProblemChannel"], rec["ProblemEvidence"] = md["At"], md["Channel"], md["Evidence"]
		}
		recs[i] = rec
	}
	data := sheet.Data{
		Values: map[string]any{
			"Number": doc.Symbol, "Date": issued.Format("02/01/2006"), "Subject": doc.Subject,
			"FileName": art.Name, "SHA256": art.SHA256, "AsOf": now.In(vanthu.Location).Format("15 giờ 04 ngày 02/01/2006"),
		},
		Rows: map[string][]map[string]any{"": recs},
	}
	if len(rs) <= streamAbove {
		return s.Templates.FillSheet(ctx, receiptsTemplate, data)
	}
	var b bytes.Buffer
	if err := s.Templates.StreamSheet(ctx, receiptsTemplate, data, &b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// issuedAt is the issue time of doc in Vietnam's time zone; a draft has
// no receipts to report.
func issuedAt(doc vanthu.Document) (time.Time, error) {
	if doc.State != vanthu.StateIssued || doc.IssuedAt == nil {
		return time.Time{}, vanthu.Errorf(vanthu.EConflict, "Văn bản chưa ban hành nên chưa có báo cáo tiếp nhận.")
	}
	return doc.IssuedAt.In(vanthu.Location), nil
}

// problem is the milestone that says the mail did not arrive, if any: a
// bounce, else a failure.
func problem(r *vanthu.Receipt) vanthu.Milestone {
	switch {
	case r.BouncedAt != nil:
		return vanthu.MilestoneBounced
	case r.FailedAt != nil:
		return vanthu.MilestoneFailed
	}
	return ""
}

// milestoneData is one milestone of r as the templates read it: At (a
// time in Vietnam's zone, or nil when not reached), Channel and Evidence.
func milestoneData(r *vanthu.Receipt, m vanthu.Milestone) map[string]any {
	at := r.Reached(m)
	if at == nil {
		return map[string]any{"At": nil, "Channel": "", "Evidence": ""}
	}
	ev, ok := r.Evidence[m]
	if !ok {
		// Reached before events were recorded: the time is all there is.
		return map[string]any{"At": at.In(vanthu.Location), "Channel": "không có bản ghi sự kiện", "Evidence": ""}
	}
	return map[string]any{"At": at.In(vanthu.Location), "Channel": vanthu.ChannelLabel(ev.Source), "Evidence": evidenceText(r, m, ev)}
}

// ladderNames are the statuses of the national exchange ladder (DOMAIN.md
// §2) a unit's system may report.
var ladderNames = map[string]string{
	"01": "đã đến", "02": "từ chối", "03": "đã vào sổ", "04": "đã giao xử lý", "05": "đang xử lý", "06": "đã hoàn thành",
}

// milestoneWords name milestones inside a sentence.
var milestoneWords = map[vanthu.Milestone]string{
	vanthu.MilestoneSent: "gửi", vanthu.MilestoneRead: "xem", vanthu.MilestoneAcknowledged: "xác nhận",
	vanthu.MilestoneBounced: "bị trả lại", vanthu.MilestoneFailed: "gửi lỗi",
}

// evidenceText says in Vietnamese what ev proves about milestone m of r:
// the reference, what the detail adds (the exchange status, the mail
// program, the reason of a bounce, who confirmed), joined by "; ".
func evidenceText(r *vanthu.Receipt, m vanthu.Milestone, ev vanthu.MilestoneEvidence) string {
	var parts []string
	if ev.ImpliedBy != "" {
		parts = append(parts, "suy ra từ mốc "+milestoneWords[ev.ImpliedBy])
	}
	if ref := describeRef(ev.Ref); ref != "" {
		parts = append(parts, ref)
	}
	if code := ev.Text("ladder"); code != "" {
		s := "trạng thái liên thông " + code
		if name := ladderNames[code]; name != "" {
			s += " (" + name + ")"
		}
		parts = append(parts, s)
	}
	if ua := ev.Text("reporting_ua"); ua != "" {
		parts = append(parts, "phần mềm: "+ua)
	}
	switch m {
	case vanthu.MilestoneBounced, vanthu.MilestoneFailed:
		reason := ev.Text("reason")
		if reason == "" {
			reason = strings.TrimSpace(ev.Text("status") + " " + ev.Text("diagnostic"))
		}
		if reason == "" {
			reason = r.FailReason
		}
		if reason != "" {
			parts = append(parts, "lý do: "+reason)
		}
	case vanthu.MilestoneAcknowledged:
		p := ev.Person()
		if p.Name == "" && p.Note == "" {
			p = r.Ack
		}
		if who := personText(p); who != "" {
			parts = append(parts, "người xác nhận: "+who)
		}
		if note := clip(strings.Join(strings.Fields(p.Note), " "), maxNote); note != "" {
			parts = append(parts, "ghi chú: "+strings.TrimRight(note, ". "))
		}
	}
	// A staff member recording evidence by hand is named; the system and
	// the unit itself are already said by the channel.
	if a := ev.Actor; a != "" && a != "system" && a != r.UnitCode && !strings.HasPrefix(a, "unit:") {
		parts = append(parts, "người ghi nhận: "+a)
	}
	return strings.Join(parts, "; ")
}

// describeRef puts an evidence reference as the web layer and the mailbox
// reader record it ("ack page from 10.0.0.1", "imap uid 7/42", a
// Message-ID) into words; anything else is quoted as it is.
func describeRef(ref string) string {
	ref = strings.TrimSpace(ref)
	for prefix, words := range map[string]string{
		"ack page from ":     "mở trang xác nhận từ địa chỉ ",
		"ack form from ":     "gửi phiếu xác nhận từ địa chỉ ",
		"pdf download from ": "tải tệp PDF từ địa chỉ ",
		"api from ":          "gọi API từ địa chỉ ",
	} {
		if rest, ok := strings.CutPrefix(ref, prefix); ok {
			return words + rest
		}
	}
	if rest, ok := strings.CutPrefix(ref, "imap uid "); ok {
		if validity, uid, ok := strings.Cut(rest, "/"); ok {
			return "thư UID " + uid + " (UIDVALIDITY " + validity + ") trong hộp thư cơ quan"
		}
	}
	if strings.HasPrefix(ref, "<") && strings.HasSuffix(ref, ">") && strings.Contains(ref, "@") {
		return "Message-ID " + ref
	}
	return ref
}

// ackPerson is who acknowledged r: as the acknowledging event recorded
// it, else as the dispatch keeps it.
func ackPerson(r *vanthu.Receipt) vanthu.Ack {
	if ev, ok := r.Evidence[vanthu.MilestoneAcknowledged]; ok {
		if p := ev.Person(); p.Name != "" {
			return p
		}
	}
	return r.Ack
}

// personText is "Name, Position", or the name alone.
func personText(p vanthu.Ack) string {
	if p.Name == "" {
		return ""
	}
	if p.Position == "" {
		return p.Name
	}
	return p.Name + ", " + p.Position
}

// clip shortens s to at most n runes, marking the cut with "…".
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}
