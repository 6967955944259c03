package web

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/sonoivu/vanthu"
)

// Finalizing an inspection: the record is checked here, so the inspector
// sees at once what is missing, and the minutes are then made, numbered,
// signed and stored by the inspection:finalize task.

// requestFinalize checks the inspection in the path and asks for its
// minutes. An incomplete record is EInvalid with its problems by field; a
// finalized one is EConflict.
func (s *Server) requestFinalize(r *http.Request) (vanthu.Inspection, error) {
	is, err := s.inspections()
	if err != nil {
		return vanthu.Inspection{}, err
	}
	in, err := s.pathInspection(r)
	if err != nil {
		return in, err
	}
	if in.State == vanthu.InspectionFinalized {
		return in, vanthu.Errorf(vanthu.EConflict, "Biên bản đã hoàn tất và ký; muốn sửa, hãy lập bản sửa đổi.")
	}
	catalog, err := is.ListCatalog(r.Context(), "")
	if err != nil {
		return in, fmt.Errorf("catalog: %w", err)
	}
	if ps := vanthu.FinalizeProblems(&in, catalog); len(ps) > 0 {
		return in, vanthu.Invalid("Biên bản chưa đủ thông tin để hoàn tất.", ps...)
	}
	me, _ := userFrom(r.Context())
	if err := s.jobs.EnqueueInspectionFinalize(r.Context(), in.ID, me.ID, me.Username); err != nil {
		return in, fmt.Errorf("finalize inspection %d: %w", in.ID, err)
	}
	return in, nil
}

func (s *Server) apiFinalizeInspection(w http.ResponseWriter, r *http.Request) error {
	if _, err := s.requestFinalize(r); err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusAccepted, map[string]string{"status": "queued"})
	return nil
}

// pageFinalizeInspection asks for the minutes and goes back to the record,
// which says the minutes are being made until they are. What is missing is
// listed on an error page, field by field, with the way back.
func (s *Server) pageFinalizeInspection(w http.ResponseWriter, r *http.Request) error {
	in, err := s.requestFinalize(r)
	if vanthu.ErrorCodeOf(err) == vanthu.EInvalid {
		var b strings.Builder
		b.WriteString(vanthu.ErrorMessageOf(err))
		for _, p := range vanthu.ProblemsOf(err) {
			b.WriteString(" • ")
			b.WriteString(p.Message)
		}
		return vanthu.Errorf(vanthu.EInvalid, "%s", b.String())
	}
	if err != nil {
		return err
	}
	http.Redirect(w, r, inspectionPath(in.ID)+"?hoan-tat=1", http.StatusSeeOther)
	return nil
}
