package vanthu_test

import (
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/sonoivu/vanthu"
)

func TestUnitValidate(t *testing.T) {
	ok := vanthu.Unit{Code: " stc ", Name: "Sở  Tài chính", Emails: []string{"STC@VinhLong.gov.vn", "stc@vinhlong.gov.vn"}, Group: vanthu.GroupDepartment}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	if ok.Code != "STC" || ok.Name != "Sở Tài chính" || len(ok.Emails) != 1 || ok.Emails[0] != "stc@vinhlong.gov.vn" {
		t.Fatalf("not normalised: %+v", ok)
	}
	tests := []struct {
		name  string
		unit  vanthu.Unit
		field string
	}{
		{"no code", vanthu.Unit{Name: "A", Emails: []string{"a@b.vn"}, Group: vanthu.GroupOther}, "code"},
		{"diacritics in code", vanthu.Unit{Code: "SỞ", Name: "A", Emails: []string{"a@b.vn"}, Group: vanthu.GroupOther}, "code"},
		{"no name", vanthu.Unit{Code: "A", Emails: []string{"a@b.vn"}, Group: vanthu.GroupOther}, "name"},
		{"bad email", vanthu.Unit{Code: "A", Name: "A", Emails: []string{"a@"}, Group: vanthu.GroupOther}, "emails"},
		{"no email", vanthu.Unit{Code: "A", Name: "A", Group: vanthu.GroupOther}, "emails"},
		{"bad group", vanthu.Unit{Code: "A", Name: "A", Emails: []string{"a@b.vn"}, Group: "huyen"}, "group"},
		{"own parent", vanthu.Unit{Code: "A", Name: "A", Emails: []string{"a@b.vn"}, Group: vanthu.GroupOther, ParentCode: "a"}, "parent_code"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.unit.Validate()
			if vanthu.ErrorCodeOf(err) != vanthu.EInvalid {
				t.Fatalf("err = %v", err)
			}
			found := false
			for _, p := range vanthu.ProblemsOf(err) {
				found = found || p.Field == tt.field
			}
			if !found {
				t.Fatalf("problems %v do not name %q", vanthu.ProblemsOf(err), tt.field)
			}
		})
	}
}

func TestDispatchStatusNeverMovesBackwards(t *testing.T) {
	t0 := time.Date(2026, 11, 25, 8, 0, 0, 0, vanthu.Location)
	var d vanthu.Dispatch
	steps := []struct {
		m       vanthu.Milestone
		applied bool
		status  vanthu.Milestone
	}{
		{vanthu.MilestoneQueued, true, vanthu.MilestoneQueued},
		{vanthu.MilestoneSent, true, vanthu.MilestoneSent},
		{vanthu.MilestoneSent, false, vanthu.MilestoneSent}, // duplicate evidence
		{vanthu.MilestoneAcknowledged, true, vanthu.MilestoneAcknowledged},
		{vanthu.MilestoneBounced, true, vanthu.MilestoneAcknowledged}, // late bounce
		{vanthu.MilestoneRead, false, vanthu.MilestoneAcknowledged},   // implied by the ack
	}
	for i, s := range steps {
		at := t0.Add(time.Duration(i) * time.Minute)
		if got := d.Apply(s.m, at); got != s.applied {
			t.Errorf("step %d: Apply(%s) = %v", i, s.m, got)
		}
		if got := d.Status(); got != s.status {
			t.Errorf("step %d: Status = %s, want %s", i, got, s.status)
		}
	}
	if d.ReadAt == nil || !d.ReadAt.Equal(t0.Add(3*time.Minute)) {
		t.Errorf("acknowledgement should imply read at the same time, ReadAt = %v", d.ReadAt)
	}
	if !d.SentAt.Equal(t0.Add(time.Minute)) {
		t.Errorf("SentAt moved: %v", d.SentAt)
	}
}

func TestErrorMapping(t *testing.T) {
	tests := []struct {
		err       error
		status    int
		retryable bool
	}{
		{vanthu.Invalid("x"), http.StatusUnprocessableEntity, false},
		{fmt.Errorf("wrapped: %w", vanthu.Errorf(vanthu.ENotFound, "x")), http.StatusNotFound, false},
		{vanthu.Errorf(vanthu.EPermanent, "550"), http.StatusBadGateway, false},
		{vanthu.Errorf(vanthu.EUnavailable, "451"), http.StatusServiceUnavailable, true},
		{errors.New("boom"), http.StatusInternalServerError, true},
	}
	for _, tt := range tests {
		c := vanthu.ErrorCodeOf(tt.err)
		if got := vanthu.HTTPStatus(c); got != tt.status {
			t.Errorf("%v: status %d, want %d", tt.err, got, tt.status)
		}
		if got := vanthu.Retryable(c); got != tt.retryable {
			t.Errorf("%v: retryable %v", tt.err, got)
		}
	}
	if msg := vanthu.ErrorMessageOf(errors.New("pq: secret table")); msg == "" || msg == "pq: secret table" {
		t.Errorf("internal error leaks: %q", msg)
	}
}

func TestRoleAllowed(t *testing.T) {
	if !vanthu.RoleAdmin.Allowed(vanthu.RoleClerk) {
		t.Error("admin must be allowed everywhere")
	}
	if vanthu.RoleViewer.Allowed(vanthu.RoleClerk, vanthu.RoleInspector) {
		t.Error("viewer allowed a clerk route")
	}
	if !vanthu.RoleViewer.Allowed() {
		t.Error("any authenticated role must pass an open route")
	}
	if vanthu.Role("root").Allowed() {
		t.Error("unknown role allowed")
	}
}
