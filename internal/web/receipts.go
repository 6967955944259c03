package web

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/sonoivu/vanthu"
)

// Receipts makes the receipt report of an issued document: what the clerk
// shows a superior who asks whether every unit got it
// (internal/directive.Receipts over the store).
type Receipts interface {
	// ReceiptEvidence returns the document's dispatches in official order,
	// each with the evidence of its milestones.
	ReceiptEvidence(ctx context.Context, documentID int64) ([]vanthu.Receipt, error)
	// ReceiptPDF and ReceiptXLSX lay the receipts out as the report, with
	// the artifact that was sent and the time the figures are as of.
	ReceiptPDF(ctx context.Context, doc vanthu.Document, rs []vanthu.Receipt, art vanthu.Artifact, now time.Time) ([]byte, error)
	ReceiptXLSX(ctx context.Context, doc vanthu.Document, rs []vanthu.Receipt, art vanthu.Artifact, now time.Time) ([]byte, error)
}

// evidenceJSON is a milestone's evidence with its channel in words.
type evidenceJSON struct {
	vanthu.MilestoneEvidence
	Channel string `json:"channel"`
}

// receiptJSON is one unit's receipt as the API shows it.
type receiptJSON struct {
	vanthu.Dispatch
	Status      vanthu.Milestone                  `json:"status"`
	StatusLabel string                            `json:"status_label"`
	Overdue     bool                              `json:"overdue"`
	Evidence    map[vanthu.Milestone]evidenceJSON `json:"evidence"`
}

// receiptsJSON is the body of GET /api/v1/documents/{id}/receipts.
type receiptsJSON struct {
	Document vanthu.Document `json:"document"`
	// Artifact is the PDF that was sent, with its SHA-256.
	Artifact vanthu.Artifact `json:"artifact"`
	AsOf     time.Time       `json:"as_of"`
	Progress vanthu.Progress `json:"progress"`
	Receipts []receiptJSON   `json:"receipts"`
}

// receiptReport gathers what every form of the report needs: the issued
// document of the path, its receipts and the artifact that was sent.
func (s *Server) receiptReport(r *http.Request) (Receipts, vanthu.Document, []vanthu.Receipt, vanthu.Artifact, error) {
	var art vanthu.Artifact
	rc := s.cfg.Receipts
	if rc == nil {
		return nil, vanthu.Document{}, nil, art, vanthu.Errorf(vanthu.EUnavailable, "Chức năng báo cáo tiếp nhận văn bản chưa được cấu hình.")
	}
	d, err := s.pathDocument(r)
	if err != nil {
		return nil, d, nil, art, err
	}
	if d.State != vanthu.StateIssued {
		return nil, d, nil, art, vanthu.Errorf(vanthu.EConflict, "Văn bản chưa ban hành nên chưa có báo cáo tiếp nhận.")
	}
	if art, _, err = s.store.GetArtifact(r.Context(), d.ID); err != nil {
		return nil, d, nil, art, fmt.Errorf("artifact of document %d: %w", d.ID, err)
	}
	rs, err := rc.ReceiptEvidence(r.Context(), d.ID)
	if err != nil {
		return nil, d, nil, art, fmt.Errorf("receipts of document %d: %w", d.ID, err)
	}
	return rc, d, rs, art, nil
}

func (s *Server) apiReceipts(w http.ResponseWriter, r *http.Request) error {
	_, d, rs, art, err := s.receiptReport(r)
	if err != nil {
		return err
	}
	now := s.now()
	out := receiptsJSON{Document: d, Artifact: art, AsOf: now, Receipts: make([]receiptJSON, len(rs))}
	for i := range rs {
		rc := &rs[i]
		out.Progress.Add(&rc.Dispatch, now)
		st := rc.Status()
		ev := make(map[vanthu.Milestone]evidenceJSON, len(rc.Evidence))
		for m, e := range rc.Evidence {
			ev[m] = evidenceJSON{MilestoneEvidence: e, Channel: vanthu.ChannelLabel(e.Source)}
		}
		out.Receipts[i] = receiptJSON{Dispatch: rc.Dispatch, Status: st, StatusLabel: st.Label(), Overdue: rc.Overdue(now), Evidence: ev}
	}
	s.writeJSON(w, r, http.StatusOK, out)
	return nil
}

func (s *Server) apiReceiptsPDF(w http.ResponseWriter, r *http.Request) error {
	rc, d, rs, art, err := s.receiptReport(r)
	if err != nil {
		return err
	}
	pdf, err := rc.ReceiptPDF(r.Context(), d, rs, art, s.now())
	if err != nil {
		return fmt.Errorf("receipt report of document %d: %w", d.ID, err)
	}
	return serveFile(w, contentTypePDF, "tiep-nhan-"+fileStem(d)+".pdf", true, pdf)
}

func (s *Server) apiReceiptsXLSX(w http.ResponseWriter, r *http.Request) error {
	rc, d, rs, art, err := s.receiptReport(r)
	if err != nil {
		return err
	}
	xlsx, err := rc.ReceiptXLSX(r.Context(), d, rs, art, s.now())
	if err != nil {
		return fmt.Errorf("receipt sheet of document %d: %w", d.ID, err)
	}
	return serveFile(w, contentTypeXLSX, "tiep-nhan-"+fileStem(d)+".xlsx", true, xlsx)
}
