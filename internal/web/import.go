package web

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strings"

	"github.com/sonoivu/vanthu"
	"github.com/sonoivu/vanthu/internal/unitfile"
)

// importResult is the answer to a unit import.
type importResult struct {
	Rows    int  `json:"rows"`
	Created int  `json:"created"`
	Updated int  `json:"updated"`
	DryRun  bool `json:"dry_run"`
}

// uploadedFile returns the uploaded file: the multipart field "file", or
// else the raw body with its Content-Type.
func uploadedFile(r *http.Request) (data []byte, name, ctype string, err error) {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt == "multipart/form-data" {
		// Keep everything in memory: the body is already capped at
		// MaxUploadBytes, so nothing spills to temporary files for long.
		if err := r.ParseMultipartForm(32 << 20); err != nil {
			return nil, "", "", bodyError(err)
		}
		f, hdr, err := r.FormFile("file")
		if err != nil {
			return nil, "", "", vanthu.Invalid("Chưa chọn tệp để nhập.", vanthu.Problem{Field: "file", Message: "Cần gửi tệp trong trường \"file\"."})
		}
		defer f.Close()
		data, err := io.ReadAll(f)
		if err != nil {
			return nil, "", "", bodyError(err)
		}
		return data, hdr.Filename, hdr.Header.Get("Content-Type"), nil
	}
	data, err = io.ReadAll(r.Body)
	if err != nil {
		return nil, "", "", bodyError(err)
	}
	return data, "", mt, nil
}

// importUnits parses the file, checks every row and every parent, and
// imports only when nothing is wrong: a half-imported list would leave the
// clerk unsure what is in the system.
func (s *Server) importUnits(ctx context.Context, data []byte, name, ctype string, dry bool, actor string) (importResult, error) {
	if len(data) == 0 {
		return importResult{}, vanthu.Invalid("Tệp rỗng.", vanthu.Problem{Field: "file", Message: "Tệp không có nội dung."})
	}
	format := unitfile.DetectFormat(name, ctype, data[:min(len(data), 512)])
	if format == "" {
		return importResult{}, vanthu.Invalid("Định dạng tệp không được hỗ trợ.", vanthu.Problem{Field: "file", Message: "Chỉ nhận tệp CSV (UTF-8) hoặc Excel (.xlsx)."})
	}
	rows, err := unitfile.Parse(bytes.NewReader(data), format)
	if err != nil {
		return importResult{}, importProblems(err)
	}
	if len(rows) == 0 {
		return importResult{}, vanthu.Invalid("Tệp không có dòng dữ liệu nào.", vanthu.Problem{Field: "file", Message: "Tệp không có dòng dữ liệu nào."})
	}
	existing, err := s.store.UnitCodes(ctx)
	if err != nil {
		return importResult{}, fmt.Errorf("import units: existing codes: %w", err)
	}
	if err := unitfile.CheckParents(rows, existing); err != nil {
		return importResult{}, importProblems(err)
	}
	res := importResult{Rows: len(rows), DryRun: dry}
	if dry {
		for _, row := range rows {
			if existing[row.Unit.Code] {
				res.Updated++
			} else {
				res.Created++
			}
		}
		return res, nil
	}
	units := make([]vanthu.Unit, len(rows))
	for i, row := range rows {
		units[i] = row.Unit
	}
	res.Created, res.Updated, err = s.store.ImportUnits(ctx, units, actor)
	if err != nil {
		return importResult{}, fmt.Errorf("import units: %w", err)
	}
	return res, nil
}

// importProblems sorts the problems of a rejected file by line, so that the
// clerk can walk through the file from the top.
func importProblems(err error) error {
	var e *vanthu.Error
	if !errors.As(err, &e) || e.Code != vanthu.EInvalid {
		return fmt.Errorf("import units: %w", err)
	}
	ps := slices.Clone(e.Problems)
	slices.SortStableFunc(ps, func(a, b vanthu.Problem) int { return cmp.Compare(a.Line, b.Line) })
	msg := e.Message
	if len(ps) > 0 {
		msg = fmt.Sprintf("Tệp có %d lỗi; chưa nhập đơn vị nào. Sửa các dòng dưới đây rồi nhập lại.", len(ps))
	} else if msg == "" {
		msg = "Tệp không hợp lệ; chưa nhập đơn vị nào."
	}
	return &vanthu.Error{Code: vanthu.EInvalid, Message: msg, Problems: ps, Err: err}
}

// fieldLabels names the fields of a unit in Vietnamese for the import page.
var fieldLabels = map[string]string{
	"code":        "Mã đơn vị",
	"name":        "Tên đơn vị",
	"emails":      "Thư điện tử",
	"parent_code": "Đơn vị cấp trên",
	"group":       "Nhóm",
	"order":       "Thứ tự",
	"active":      "Trạng thái",
	"file":        "Tệp",
	// Document fields (the draft form and the document API).
	"kind":                      "Loại văn bản",
	"issuer":                    "Cơ quan ban hành (ký hiệu)",
	"type_code":                 "Mã loại văn bản",
	"subject":                   "Trích yếu",
	"content.agency":            "Tên cơ quan ban hành",
	"content.body":              "Nội dung",
	"content.urgency":           "Độ khẩn",
	"content.signer_name":       "Họ tên người ký",
	"content.audience":          "Nơi nhận văn bản",
	"content.audience.groups":   "Nhóm đơn vị nhận",
	"content.audience.unit_ids": "Đơn vị nhận",
	"content.deadline":          "Hạn xác nhận",
	"confirm_issue":             "Xác nhận ban hành",
}

// problemText renders a problem for people: "Dòng 7 — Thư điện tử: …".
func problemText(p vanthu.Problem) string {
	var b strings.Builder
	if p.Line > 0 {
		fmt.Fprintf(&b, "Dòng %d", p.Line)
	}
	if p.Field != "" {
		if b.Len() > 0 {
			b.WriteString(" — ")
		}
		b.WriteString(cmp.Or(fieldLabels[p.Field], p.Field))
	}
	if b.Len() > 0 {
		b.WriteString(": ")
	}
	b.WriteString(p.Message)
	return b.String()
}
