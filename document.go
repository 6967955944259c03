package vanthu

import "time"

// DocumentKind is what a document is for; it decides its template and
// workflow.
type DocumentKind string

// Document kinds.
const (
	KindDirective DocumentKind = "directive" // chỉ thị
	KindMinutes   DocumentKind = "minutes"   // biên bản kiểm tra
	KindReport    DocumentKind = "report"    // báo cáo quý
	KindReminder  DocumentKind = "reminder"  // công văn đôn đốc
)

// DocumentState is where a document is in its life.
type DocumentState string

// Document states. An issued document is immutable; a correction is a new
// document that references it.
const (
	StateDraft  DocumentState = "draft"
	StateIssued DocumentState = "issued"
)

// Document is an official administrative document (Decree 30/2020/NĐ-CP).
type Document struct {
	ID        int64         `json:"id"`
	Kind      DocumentKind  `json:"kind"`
	TypeCode  string        `json:"type_code"` // CT, BB, BC, …; empty for a công văn
	Issuer    string        `json:"issuer"`    // issuer abbreviation in the symbol: UBND, SNV
	Year      int           `json:"year,omitempty"`
	Number    int           `json:"number,omitempty"` // 0 until issued
	Symbol    string        `json:"symbol,omitempty"` // "02/CT-UBND"
	Subject   string        `json:"subject"`          // trích yếu
	State     DocumentState `json:"state"`
	Body      []byte        `json:"body,omitempty"` // JSON body data for the template
	Replaces  int64         `json:"replaces,omitempty"`
	IssuedAt  *time.Time    `json:"issued_at,omitempty"`
	CreatedBy int64         `json:"created_by"`
	CreatedAt time.Time     `json:"created_at"`
	UpdatedAt time.Time     `json:"updated_at"`
}

// Artifact is a rendered file of a document, kept with its SHA-256 so that
// what was sent can be proven later.
type Artifact struct {
	ID          int64     `json:"id"`
	DocumentID  int64     `json:"document_id"`
	Name        string    `json:"name"` // file name shown to users
	ContentType string    `json:"content_type"`
	SHA256      string    `json:"sha256"` // hex
	Size        int64     `json:"size"`
	CreatedAt   time.Time `json:"created_at"`
}
