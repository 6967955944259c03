// Package unitfile parses the list of units a clerk uploads, as CSV or
// XLSX, into validated units. A rejected file reports every bad row with
// its line number at once, so the clerk fixes the file in one pass instead
// of uploading it again for each mistake.
package unitfile

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"

	"github.com/sonoivu/vanthu"
	"github.com/sonoivu/vanthu/internal/vntext"
)

// Formats accepted by Parse.
const (
	FormatCSV  = "csv"
	FormatXLSX = "xlsx"
)

// MaxRows is the most data rows a file may hold. A province has a few
// hundred units; a file far larger is a mistake (a wrong sheet, an export
// of something else) and parsing it would only waste memory.
const MaxRows = 10000

// maxXLSXUnzipped bounds what an XLSX may expand to, against zip bombs.
const maxXLSXUnzipped = 64 << 20

// Row is one unit read from the file, with the 1-based file line (the
// header is line 1) it came from.
type Row struct {
	Line int
	Unit vanthu.Unit
}

// column identifies a field of the unit in the header.
type column int

const (
	colCode column = iota
	colName
	colEmails
	colParent
	colGroup
	colOrder
	colActive
	numColumns
)

// label is how a column is named to the user in messages.
var label = [numColumns]string{
	colCode:   "Mã đơn vị (code)",
	colName:   "Tên đơn vị (name)",
	colEmails: "Thư điện tử (emails)",
	colParent: "Mã cấp trên (parent_code)",
	colGroup:  "Nhóm (group)",
	colOrder:  "Thứ tự (order)",
	colActive: "Hoạt động (active)",
}

// required columns must be in the header. Without a group the unit cannot
// be validated, so the column is required even though it has a fixed set
// of values; order, parent and active have sensible defaults.
var required = []column{colCode, colName, colEmails, colGroup}

// headerAliases maps the folded header names (see headerKey) to columns:
// English field names and the Vietnamese names clerks actually write.
var headerAliases = map[string]column{
	"code": colCode, "ma": colCode, "ma don vi": colCode, "ma dv": colCode, "unit code": colCode,
	"name": colName, "ten": colName, "ten don vi": colName, "ten dv": colName, "unit name": colName,
	"emails": colEmails, "email": colEmails, "e mail": colEmails, "thu dien tu": colEmails,
	"hop thu": colEmails, "hop thu dien tu": colEmails, "dia chi thu dien tu": colEmails, "dia chi email": colEmails,
	"parent code": colParent, "parent": colParent, "ma cap tren": colParent, "don vi cap tren": colParent,
	"ma don vi cap tren": colParent, "cap tren": colParent,
	"group": colGroup, "nhom": colGroup, "nhom don vi": colGroup, "loai": colGroup, "loai don vi": colGroup,
	"order": colOrder, "thu tu": colOrder, "stt": colOrder, "so thu tu": colOrder,
	"active": colActive, "hoat dong": colActive, "dang hoat dong": colActive, "con hoat dong": colActive,
}

// groupAliases maps folded group codes and Vietnamese labels to groups.
var groupAliases = map[string]vanthu.UnitGroup{
	"so nganh": vanthu.GroupDepartment, "so ban nganh": vanthu.GroupDepartment, "so": vanthu.GroupDepartment,
	"so ban nganh tinh": vanthu.GroupDepartment, "co quan chuyen mon": vanthu.GroupDepartment,
	"xa phuong": vanthu.GroupCommune, "ubnd xa phuong": vanthu.GroupCommune, "xa phuong dac khu": vanthu.GroupCommune,
	"ubnd xa phuong dac khu": vanthu.GroupCommune, "xa": vanthu.GroupCommune, "phuong": vanthu.GroupCommune,
	"dac khu": vanthu.GroupCommune, "ubnd cap xa": vanthu.GroupCommune, "cap xa": vanthu.GroupCommune,
	"su nghiep": vanthu.GroupPublic, "don vi su nghiep": vanthu.GroupPublic, "don vi su nghiep cong lap": vanthu.GroupPublic,
	"dvsn": vanthu.GroupPublic,
	"khac": vanthu.GroupOther, "co quan khac": vanthu.GroupOther, "to chuc khac": vanthu.GroupOther,
}

// headerKey folds a header or value for matching: no marks, lower case,
// punctuation as spaces, so "Mã đơn vị*", "ma_don_vi" and "MÃ ĐƠN VỊ" all
// read "ma don vi".
func headerKey(s string) string {
	s = vntext.Fold(s)
	s = strings.Map(func(r rune) rune {
		switch r {
		case '_', '-', '.', ',', ';', '*', ':', '/', '(', ')', '"', '\'':
			return ' '
		}
		return r
	}, s)
	return strings.Join(strings.Fields(s), " ")
}

// DetectFormat tells an upload's format from its first bytes, its file name
// and its content type: "xlsx", "csv", or "" when it is neither. The bytes
// win: an XLSX is a zip file whatever it is called.
func DetectFormat(filename, contentType string, head []byte) string {
	if bytes.HasPrefix(head, []byte("PK\x03\x04")) {
		return FormatXLSX
	}
	ext := strings.ToLower(filepath.Ext(filename))
	ct, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(contentType)), ";")
	ct = strings.TrimSpace(ct)
	if ext == ".xlsx" || ext == ".xls" || bytes.HasPrefix(head, []byte{0xD0, 0xCF, 0x11, 0xE0}) {
		// A .xlsx that is not a zip is corrupt; .xls (OLE) is the legacy
		// binary format excelize cannot read.
		return ""
	}
	if !looksLikeText(head) {
		return ""
	}
	switch {
	case ext == ".csv" || ext == ".txt":
		return FormatCSV
	case ct == "text/csv" || ct == "text/plain" || ct == "application/csv" || ct == "application/vnd.ms-excel":
		// Browsers on Windows send a CSV as application/vnd.ms-excel.
		return FormatCSV
	case ext == "" && (ct == "" || ct == "application/octet-stream") && len(head) > 0:
		return FormatCSV
	}
	return ""
}

// looksLikeText reports whether head could start a UTF-8 text file; a cut
// multi-byte sequence at the very end is allowed.
func looksLikeText(head []byte) bool {
	if bytes.IndexByte(head, 0) >= 0 {
		return false
	}
	for i := 0; i < len(head); {
		r, n := utf8.DecodeRune(head[i:])
		if r == utf8.RuneError && n <= 1 {
			return len(head)-i < utf8.UTFMax && !utf8.FullRune(head[i:])
		}
		i += n
	}
	return true
}

// record is one file row before interpretation.
type record struct {
	line   int
	fields []string
}

// Parse reads a units file in format "csv" (UTF-8, with or without BOM,
// comma or semicolon delimited) or "xlsx" (the first sheet). The header row
// names the columns in any order, in English or Vietnamese, with or without
// marks. Blank rows are skipped but still count for line numbers.
//
// It returns every row when all are valid. Otherwise it returns an EInvalid
// *vanthu.Error whose Problems name every bad row (Line, Field, message in
// Vietnamese). A file over MaxRows rows is ETooLarge.
func Parse(r io.Reader, format string) ([]Row, error) {
	var (
		recs []record
		err  error
	)
	switch format {
	case FormatCSV:
		recs, err = readCSV(r)
	case FormatXLSX:
		recs, err = readXLSX(r)
	default:
		return nil, vanthu.Invalid("Định dạng tệp không được hỗ trợ.", vanthu.Problem{Field: "file", Message: "Chỉ nhận tệp CSV (UTF-8) hoặc Excel (.xlsx)."})
	}
	if err != nil {
		return nil, err
	}
	return parseRecords(recs)
}

func tooLarge() error {
	return vanthu.Errorf(vanthu.ETooLarge, "Tệp có quá %d dòng dữ liệu; hãy chia thành nhiều tệp nhỏ hơn.", MaxRows)
}

func readCSV(r io.Reader) ([]record, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("unitfile: read csv: %w", err)
	}
	data = bytes.TrimPrefix(data, []byte("\xEF\xBB\xBF"))
	if !utf8.Valid(data) {
		return nil, vanthu.Invalid("Tệp CSV không phải mã UTF-8.", vanthu.Problem{Field: "file",
			Message: "Tệp CSV phải được lưu với mã UTF-8 (trong Excel: Lưu dưới dạng › CSV UTF-8)."})
	}
	cr := csv.NewReader(bytes.NewReader(data))
	cr.Comma = detectDelimiter(data)
	cr.FieldsPerRecord = -1 // short rows are reported per field, not as a file error
	cr.LazyQuotes = true    // a stray quote in a name is the clerk's text, not a syntax error
	var recs []record
	for {
		fields, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			line := 0
			if errors.As(err, &pe) {
				line = pe.StartLine
			}
			return nil, vanthu.Invalid("Tệp CSV bị lỗi cú pháp.", vanthu.Problem{Line: line, Field: "file", Message: "Dòng này không đọc được theo định dạng CSV."})
		}
		line, _ := cr.FieldPos(0)
		recs = append(recs, record{line: line, fields: fields})
		if len(recs) > MaxRows+1 { // +1: the header
			return nil, tooLarge()
		}
	}
	return recs, nil
}

// detectDelimiter picks ';' or ',' by which is more frequent in the header
// line (outside quotes). Excel in a Vietnamese locale writes ';'.
func detectDelimiter(data []byte) rune {
	line, _, _ := bytes.Cut(data, []byte("\n"))
	var commas, semis int
	inQuotes := false
	for _, c := range line {
		switch c {
		case '"':
			inQuotes = !inQuotes
		case ',':
			if !inQuotes {
				commas++
			}
		case ';':
			if !inQuotes {
				semis++
			}
		}
	}
	if semis > commas {
		return ';'
	}
	return ','
}

func readXLSX(r io.Reader) ([]record, error) {
	f, err := excelize.OpenReader(r, excelize.Options{UnzipSizeLimit: maxXLSXUnzipped, UnzipXMLSizeLimit: maxXLSXUnzipped})
	if err != nil {
		return nil, &vanthu.Error{Code: vanthu.EInvalid, Message: "Không đọc được tệp Excel.",
			Problems: []vanthu.Problem{{Field: "file", Message: "Tệp không phải tệp Excel (.xlsx) hợp lệ."}},
			Err:      fmt.Errorf("unitfile: open xlsx: %w", err)}
	}
	defer f.Close()
	sheets := f.GetSheetList()
	if len(sheets) == 0 {
		return nil, vanthu.Invalid("Tệp Excel không có trang tính nào.", vanthu.Problem{Field: "file", Message: "Tệp Excel không có trang tính nào."})
	}
	// Raw values: the text as typed (an order 1 stays "1", not a
	// number format's "01"); formulas are never evaluated, their cached
	// result is read as text.
	rows, err := f.GetRows(sheets[0], excelize.Options{RawCellValue: true})
	if err != nil {
		return nil, &vanthu.Error{Code: vanthu.EInvalid, Message: "Không đọc được trang tính đầu tiên của tệp Excel.", Err: fmt.Errorf("unitfile: read xlsx: %w", err)}
	}
	if len(rows) > MaxRows+1 {
		return nil, tooLarge()
	}
	recs := make([]record, 0, len(rows))
	for i, row := range rows {
		recs = append(recs, record{line: i + 1, fields: row})
	}
	return recs, nil
}

func blank(fields []string) bool {
	for _, f := range fields {
		if strings.TrimSpace(f) != "" {
			return false
		}
	}
	return true
}

// parseRecords interprets the header and every data row.
func parseRecords(recs []record) ([]Row, error) {
	hi := -1
	for i, rec := range recs {
		if !blank(rec.fields) {
			hi = i
			break
		}
	}
	if hi < 0 {
		return nil, vanthu.Invalid("Tệp không có dòng tiêu đề.", vanthu.Problem{Line: 1, Field: "file", Message: "Tệp trống: dòng đầu tiên phải là dòng tiêu đề (mã đơn vị, tên đơn vị, thư điện tử, nhóm…)."})
	}
	header := recs[hi]
	idx := [numColumns]int{}
	for c := range idx {
		idx[c] = -1
	}
	for i, h := range header.fields {
		if c, ok := headerAliases[headerKey(h)]; ok && idx[c] < 0 {
			idx[c] = i
		}
	}
	var ps []vanthu.Problem
	for _, c := range required {
		if idx[c] < 0 {
			ps = append(ps, vanthu.Problem{Line: header.line, Field: fieldName(c), Message: "Thiếu cột bắt buộc: " + label[c] + "."})
		}
	}
	if len(ps) > 0 {
		return nil, vanthu.Invalid("Dòng tiêu đề thiếu cột bắt buộc.", ps...)
	}

	var rows []Row
	seen := map[string]int{} // code → line
	n := 0
	for _, rec := range recs[hi+1:] {
		if blank(rec.fields) {
			continue
		}
		n++
		if n > MaxRows {
			return nil, tooLarge()
		}
		u, rps := parseUnit(rec, idx, n)
		if len(rps) == 0 {
			if line, dup := seen[u.Code]; dup {
				rps = append(rps, vanthu.Problem{Line: rec.line, Field: "code",
					Message: fmt.Sprintf("Mã đơn vị %s trùng với dòng %d.", u.Code, line)})
			} else {
				seen[u.Code] = rec.line
			}
		}
		if len(rps) > 0 {
			ps = append(ps, rps...)
			continue
		}
		rows = append(rows, Row{Line: rec.line, Unit: u})
	}
	if len(ps) > 0 {
		return nil, vanthu.Invalid(fmt.Sprintf("Tệp có %d dòng không hợp lệ.", countLines(ps)), ps...)
	}
	return rows, nil
}

func countLines(ps []vanthu.Problem) int {
	lines := map[int]bool{}
	for _, p := range ps {
		lines[p.Line] = true
	}
	return len(lines)
}

func fieldName(c column) string {
	switch c {
	case colCode:
		return "code"
	case colName:
		return "name"
	case colEmails:
		return "emails"
	case colParent:
		return "parent_code"
	case colGroup:
		return "group"
	case colOrder:
		return "order"
	case colActive:
		return "active"
	}
	return ""
}

// parseUnit reads one data row; seq is its position among the data rows,
// the default order when the file has none.
func parseUnit(rec record, idx [numColumns]int, seq int) (vanthu.Unit, []vanthu.Problem) {
	get := func(c column) string {
		if i := idx[c]; i >= 0 && i < len(rec.fields) {
			return vntext.Clean(rec.fields[i])
		}
		return ""
	}
	var ps []vanthu.Problem
	bad := func(c column, msg string) {
		ps = append(ps, vanthu.Problem{Line: rec.line, Field: fieldName(c), Message: msg})
	}
	u := vanthu.Unit{
		Code:       get(colCode),
		Name:       get(colName),
		ParentCode: get(colParent),
		Emails:     splitEmails(get(colEmails)),
		Order:      seq,
		Active:     true,
	}
	groupText := get(colGroup)
	groupBad := false
	if groupText == "" {
		bad(colGroup, "Nhóm đơn vị không được để trống (so-nganh, xa-phuong, su-nghiep, khac).")
		groupBad = true
	} else if g, ok := groupAliases[headerKey(groupText)]; ok {
		u.Group = g
	} else {
		bad(colGroup, fmt.Sprintf("Nhóm đơn vị không hợp lệ: “%s” (dùng so-nganh, xa-phuong, su-nghiep hoặc khac).", groupText))
		groupBad = true
	}
	if s := get(colOrder); s != "" {
		n, ok := parseOrder(s)
		if !ok {
			bad(colOrder, fmt.Sprintf("Thứ tự phải là số nguyên không âm: “%s”.", s))
		} else {
			u.Order = n
		}
	}
	if s := get(colActive); s != "" {
		a, ok := parseBool(s)
		if !ok {
			bad(colActive, fmt.Sprintf("Giá trị cột hoạt động không hợp lệ: “%s” (dùng có/không).", s))
		} else {
			u.Active = a
		}
	}
	if err := u.Validate(); err != nil {
		for _, p := range vanthu.ProblemsOf(err) {
			if p.Field == "group" && groupBad {
				continue // already reported with the value
			}
			if p.Field == "order" && hasField(ps, "order") {
				continue
			}
			p.Line = rec.line
			ps = append(ps, p)
		}
	}
	return u, ps
}

func hasField(ps []vanthu.Problem, field string) bool {
	for _, p := range ps {
		if p.Field == field {
			return true
		}
	}
	return false
}

// splitEmails splits a cell holding one or more addresses separated by ';',
// ',' or white space.
func splitEmails(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool {
		return r == ';' || r == ',' || r == ' ' || r == '\t' || r == '\n' || r == '\r'
	})
}

// parseOrder accepts an integer, also as Excel writes a whole number ("3.0").
func parseOrder(s string) (int, bool) {
	if n, err := strconv.Atoi(s); err == nil {
		return n, n >= 0
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 || f != float64(int(f)) {
		return 0, false
	}
	return int(f), true
}

func parseBool(s string) (bool, bool) {
	switch headerKey(s) {
	case "1", "true", "yes", "y", "x", "co", "c", "dang hoat dong", "hoat dong":
		return true, true
	case "0", "false", "no", "n", "khong", "k", "ngung", "ngung hoat dong", "khong hoat dong":
		return false, true
	}
	return false, false
}

// CheckParents reports the rows whose parent code is neither in the file
// nor among the existing codes, and parent chains within the file that loop
// back on themselves. It returns nil or an EInvalid *vanthu.Error with one
// problem per bad row.
func CheckParents(rows []Row, existing map[string]bool) error {
	inFile := make(map[string]string, len(rows)) // code → parent code
	for _, r := range rows {
		inFile[r.Unit.Code] = r.Unit.ParentCode
	}
	var ps []vanthu.Problem
	for _, r := range rows {
		p := r.Unit.ParentCode
		if p == "" {
			continue
		}
		if _, ok := inFile[p]; !ok && !existing[p] {
			ps = append(ps, vanthu.Problem{Line: r.Line, Field: "parent_code",
				Message: fmt.Sprintf("Không tìm thấy đơn vị cấp trên có mã %s (không có trong tệp và chưa có trong hệ thống).", p)})
			continue
		}
		// Follow the chain inside the file; at most len(rows) steps
		// without a loop.
		for code, steps := p, 0; code != "" && steps <= len(rows); steps++ {
			if code == r.Unit.Code {
				ps = append(ps, vanthu.Problem{Line: r.Line, Field: "parent_code",
					Message: fmt.Sprintf("Đơn vị %s nằm trong một vòng cấp trên – cấp dưới khép kín.", r.Unit.Code)})
				break
			}
			next, ok := inFile[code]
			if !ok {
				break
			}
			code = next
		}
	}
	if len(ps) > 0 {
		return vanthu.Invalid(fmt.Sprintf("Tệp có %d dòng ghi mã cấp trên không hợp lệ.", countLines(ps)), ps...)
	}
	return nil
}
