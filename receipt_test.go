package vanthu_test

import (
	"testing"

	"github.com/sonoivu/vanthu"
)

func TestChannelLabel(t *testing.T) {
	tests := []struct {
		source vanthu.EventSource
		want   string
	}{
		{vanthu.SourceWeb, "Trang xác nhận"},
		{vanthu.SourceAPI, "Hệ thống của đơn vị (API)"},
		{vanthu.SourceSMTP, "Máy chủ thư"},
		{vanthu.SourceIMAPMDN, "Thư báo đã đọc"},
		{vanthu.SourceIMAPDSN, "Thư báo lỗi"},
		{vanthu.SourceIMAPReply, "Thư trả lời"},
		{vanthu.SourceSystem, "Hệ thống"},
		{"fax", "fax"},
	}
	for _, tt := range tests {
		if got := vanthu.ChannelLabel(tt.source); got != tt.want {
			t.Errorf("ChannelLabel(%q) = %q, want %q", tt.source, got, tt.want)
		}
	}
}

func TestMilestoneEvidenceDetail(t *testing.T) {
	e := vanthu.MilestoneEvidence{Detail: map[string]any{
		"name": " Nguyễn Thị Hồng ", "position": "Văn thư", "inbound_uid": float64(42), "implied": []any{"read"}, "empty": nil,
	}}
	if p := e.Person(); p != (vanthu.Ack{Name: "Nguyễn Thị Hồng", Position: "Văn thư"}) {
		t.Errorf("Person = %+v", p)
	}
	for key, want := range map[string]string{"inbound_uid": "42", "missing": "", "empty": "", "implied": "[read]"} {
		if got := e.Text(key); got != want {
			t.Errorf("Text(%q) = %q, want %q", key, got, want)
		}
	}
	if (vanthu.MilestoneEvidence{}).Person() != (vanthu.Ack{}) {
		t.Error("no detail should name no one")
	}
}
