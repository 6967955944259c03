package unitfile

import (
	"bytes"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/sonoivu/vanthu"
)

// problemLines returns the sorted distinct lines of err's problems.
func problemLines(err error) []int {
	var lines []int
	for _, p := range vanthu.ProblemsOf(err) {
		if !slices.Contains(lines, p.Line) {
			lines = append(lines, p.Line)
		}
	}
	slices.Sort(lines)
	return lines
}

func wantCode(t *testing.T, err error, code vanthu.ErrorCode) {
	t.Helper()
	if got := vanthu.ErrorCodeOf(err); got != code {
		t.Fatalf("error code = %q, want %q (err: %v)", got, code, err)
	}
}

func TestParse50RowsWith3Bad(t *testing.T) {
	var b strings.Builder
	b.WriteString("code,name,emails,group,order\n")
	bad := map[int]string{} // file line → field
	for i := 1; i <= 50; i++ {
		line := i + 1
		code, name, email, group := fmt.Sprintf("XA-%02d", i), fmt.Sprintf("UBND xã Số %d", i), fmt.Sprintf("xa%02d@vinhlong.gov.vn", i), "xa-phuong"
		switch i {
		case 7:
			email, bad[line] = "xa07-at-vinhlong.gov.vn", "emails"
		case 23:
			name, bad[line] = "", "name"
		case 41:
			group, bad[line] = "huyen", "group"
		}
		fmt.Fprintf(&b, "%s,%s,%s,%s,%d\n", code, name, email, group, i)
	}
	rows, err := Parse(strings.NewReader(b.String()), FormatCSV)
	wantCode(t, err, vanthu.EInvalid)
	if rows != nil {
		t.Fatalf("rows returned with an error: %d", len(rows))
	}
	if got, want := problemLines(err), []int{8, 24, 42}; !slices.Equal(got, want) {
		t.Fatalf("problem lines = %v, want %v (%v)", got, want, err)
	}
	for _, p := range vanthu.ProblemsOf(err) {
		if bad[p.Line] != p.Field {
			t.Errorf("line %d: field %q, want %q", p.Line, p.Field, bad[p.Line])
		}
		if p.Message == "" {
			t.Errorf("line %d: empty message", p.Line)
		}
	}
	if !strings.Contains(vanthu.ErrorMessageOf(err), "3 dòng") {
		t.Errorf("message %q does not count 3 lines", vanthu.ErrorMessageOf(err))
	}
}

func TestParseCSV(t *testing.T) {
	tests := []struct {
		name  string
		input string
		want  []Row
	}{
		{
			name:  "english header, comma",
			input: "code,name,emails,parent_code,group,order,active\nsnv,Sở Nội vụ,snv@vinhlong.gov.vn,,so-nganh,2,true\n",
			want:  []Row{{2, vanthu.Unit{Code: "SNV", Name: "Sở Nội vụ", Emails: []string{"snv@vinhlong.gov.vn"}, Group: vanthu.GroupDepartment, Order: 2, Active: true}}},
		},
		{
			name: "vietnamese header any order, semicolons, BOM, labels, several emails",
			input: "\ufeffNhóm;Thứ tự;MÃ ĐƠN VỊ;Tên đơn vị;Hộp thư;Đơn vị cấp trên;Hoạt động\r\n" +
				"UBND xã, phường;5;xa-long-ho;UBND xã Long Hồ;a@vinhlong.gov.vn, B@VinhLong.gov.vn c@vinhlong.gov.vn;ubnd-tinh;không\r\n" +
				"Đơn vị sự nghiệp;;TT;Trung tâm;tt@vinhlong.gov.vn;;Có\r\n",
			want: []Row{
				{2, vanthu.Unit{Code: "XA-LONG-HO", Name: "UBND xã Long Hồ", Emails: []string{"a@vinhlong.gov.vn", "b@vinhlong.gov.vn", "c@vinhlong.gov.vn"},
					ParentCode: "UBND-TINH", Group: vanthu.GroupCommune, Order: 5, Active: false}},
				// No order: the row's position among the data rows.
				{3, vanthu.Unit{Code: "TT", Name: "Trung tâm", Emails: []string{"tt@vinhlong.gov.vn"}, Group: vanthu.GroupPublic, Order: 2, Active: true}},
			},
		},
		{
			name: "unaccented headers, blank lines keep file line numbers, quoted field",
			input: "ma,ten,thu dien tu,nhom\n\n" +
				"STC,\"Sở Tài chính, tỉnh Vĩnh Long\",stc@vinhlong.gov.vn,Sở\n" +
				",,,\n" +
				"KHAC-1,Hội Cựu chiến binh,hcb@vinhlong.gov.vn,khác\n",
			want: []Row{
				{3, vanthu.Unit{Code: "STC", Name: "Sở Tài chính, tỉnh Vĩnh Long", Emails: []string{"stc@vinhlong.gov.vn"}, Group: vanthu.GroupDepartment, Order: 1, Active: true}},
				{5, vanthu.Unit{Code: "KHAC-1", Name: "Hội Cựu chiến binh", Emails: []string{"hcb@vinhlong.gov.vn"}, Group: vanthu.GroupOther, Order: 2, Active: true}},
			},
		},
		{
			name:  "NFD input comes back NFC",
			input: "code;name;email;group\nXA-HOA;Xa\u0303 Ho\u0300a Thua\u0302\u0323n;hoathuan@vinhlong.gov.vn;xa-phuong\n",
			want:  []Row{{2, vanthu.Unit{Code: "XA-HOA", Name: "Xã Hòa Thuận", Emails: []string{"hoathuan@vinhlong.gov.vn"}, Group: vanthu.GroupCommune, Order: 1, Active: true}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows, err := Parse(strings.NewReader(tt.input), FormatCSV)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			assertRows(t, rows, tt.want)
		})
	}
}

func assertRows(t *testing.T, got, want []Row) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d rows, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Line != w.Line || g.Unit.Code != w.Unit.Code || g.Unit.Name != w.Unit.Name || !slices.Equal(g.Unit.Emails, w.Unit.Emails) ||
			g.Unit.ParentCode != w.Unit.ParentCode || g.Unit.Group != w.Unit.Group || g.Unit.Order != w.Unit.Order || g.Unit.Active != w.Unit.Active {
			t.Errorf("row %d =\n %+v\nwant\n %+v", i, g, w)
		}
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name   string
		input  string
		code   vanthu.ErrorCode
		lines  []int
		fields []string
		msg    string // in some problem's message
	}{
		{"missing columns", "code,ten don vi,nhom\nA,B,khac\n", vanthu.EInvalid, []int{1}, []string{"emails"}, "Thư điện tử"},
		{"empty file", "", vanthu.EInvalid, []int{1}, []string{"file"}, ""},
		{"duplicate code on the later line", "code,name,emails,group\nSNV,Sở Nội vụ,a@x.vn,so-nganh\nstc,Sở Tài chính,b@x.vn,so-nganh\nsnv,Sở Nội vụ 2,c@x.vn,so-nganh\n",
			vanthu.EInvalid, []int{4}, []string{"code"}, "dòng 2"},
		{"bad order and active", "code,name,emails,group,order,active\nA,Tên,a@x.vn,khac,-1,ok\nB,Tên,b@x.vn,khac,1.5,1\n",
			vanthu.EInvalid, []int{2, 3}, []string{"order", "active", "order"}, "có/không"},
		{"unknown group names the value", "code,name,emails,group\nA,Tên,a@x.vn,Huyện\n", vanthu.EInvalid, []int{2}, []string{"group"}, "Huyện"},
		{"not utf-8", "code,name,emails,group\nA,T\xean,a@x.vn,khac\n", vanthu.EInvalid, []int{0}, []string{"file"}, "UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(strings.NewReader(tt.input), FormatCSV)
			wantCode(t, err, tt.code)
			if got := problemLines(err); !slices.Equal(got, tt.lines) {
				t.Errorf("lines = %v, want %v (%v)", got, tt.lines, err)
			}
			var fields []string
			for _, p := range vanthu.ProblemsOf(err) {
				fields = append(fields, p.Field)
			}
			if !slices.Equal(fields, tt.fields) {
				t.Errorf("fields = %v, want %v", fields, tt.fields)
			}
			if tt.msg != "" && !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %q does not contain %q", err, tt.msg)
			}
		})
	}
}

func TestParseTooManyRows(t *testing.T) {
	var b strings.Builder
	b.WriteString("code,name,emails,group\n")
	for i := range MaxRows + 1 {
		fmt.Fprintf(&b, "U%d,Đơn vị %d,u%d@vinhlong.gov.vn,khac\n", i, i, i)
	}
	_, err := Parse(strings.NewReader(b.String()), FormatCSV)
	wantCode(t, err, vanthu.ETooLarge)

	// Exactly MaxRows is fine.
	s := b.String()
	s = s[:strings.LastIndex(strings.TrimSuffix(s, "\n"), "\n")+1]
	rows, err := Parse(strings.NewReader(s), FormatCSV)
	if err != nil || len(rows) != MaxRows {
		t.Fatalf("Parse(%d rows) = %d, %v", MaxRows, len(rows), err)
	}
}

func TestParseXLSX(t *testing.T) {
	f := excelize.NewFile()
	defer f.Close()
	sheet := f.GetSheetName(0)
	data := [][]any{
		{"STT", "Mã đơn vị", "Tên đơn vị", "Thư điện tử", "Mã cấp trên", "Nhóm", "Hoạt động"},
		{1, "UBND-TINH", "Ủy ban nhân dân tỉnh", "ubnd@vinhlong.gov.vn", "", "Khác", "có"},
		{}, // blank row 3
		{2, "SNV", "Sở Nội vụ", "snv@vinhlong.gov.vn; vanthu.snv@vinhlong.gov.vn", "UBND-TINH", "Sở, ban, ngành", true},
		{3, "XA-1", "Xa\u0303 Mô\u0323t", "khong-hop-le", "UBND-TINH", "xa-phuong", "không"},
		{4, "XA-2", "=1+1", "xa2@vinhlong.gov.vn", "", "xa-phuong", 0},
	}
	for i, row := range data {
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		if err := f.SetSheetRow(sheet, cell, &row); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		t.Fatal(err)
	}
	if got := DetectFormat("danh-sach.xlsx", "application/octet-stream", buf.Bytes()[:512]); got != FormatXLSX {
		t.Fatalf("DetectFormat = %q", got)
	}

	_, err := Parse(bytes.NewReader(buf.Bytes()), FormatXLSX)
	wantCode(t, err, vanthu.EInvalid)
	if got := problemLines(err); !slices.Equal(got, []int{5}) {
		t.Fatalf("problem lines = %v, want [5] (%v)", got, err)
	}

	// Fix the bad e-mail and read it all back.
	if err := f.SetCellStr(sheet, "D5", "xa1@vinhlong.gov.vn"); err != nil {
		t.Fatal(err)
	}
	buf.Reset()
	if err := f.Write(&buf); err != nil {
		t.Fatal(err)
	}
	rows, err := Parse(bytes.NewReader(buf.Bytes()), FormatXLSX)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	assertRows(t, rows, []Row{
		{2, vanthu.Unit{Code: "UBND-TINH", Name: "Ủy ban nhân dân tỉnh", Emails: []string{"ubnd@vinhlong.gov.vn"}, Group: vanthu.GroupOther, Order: 1, Active: true}},
		{4, vanthu.Unit{Code: "SNV", Name: "Sở Nội vụ", Emails: []string{"snv@vinhlong.gov.vn", "vanthu.snv@vinhlong.gov.vn"}, ParentCode: "UBND-TINH", Group: vanthu.GroupDepartment, Order: 2, Active: true}},
		{5, vanthu.Unit{Code: "XA-1", Name: "Xã Một", Emails: []string{"xa1@vinhlong.gov.vn"}, ParentCode: "UBND-TINH", Group: vanthu.GroupCommune, Order: 3, Active: false}},
		// Text that looks like a formula stays text.
		{6, vanthu.Unit{Code: "XA-2", Name: "=1+1", Emails: []string{"xa2@vinhlong.gov.vn"}, Group: vanthu.GroupCommune, Order: 4, Active: false}},
	})

	_, err = Parse(strings.NewReader("PK\x03\x04 not really a zip"), FormatXLSX)
	wantCode(t, err, vanthu.EInvalid)
}

func TestSampleFile(t *testing.T) {
	f, err := os.Open("testdata/sample_units.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := Parse(f, FormatCSV)
	if err != nil {
		t.Fatalf("Parse sample: %v", err)
	}
	if len(rows) != 10 {
		t.Fatalf("sample has %d rows, want 10", len(rows))
	}
	if err := CheckParents(rows, nil); err != nil {
		t.Fatalf("CheckParents(sample): %v", err)
	}
	if u := rows[1].Unit; u.Code != "SNV" || len(u.Emails) != 2 || u.Group != vanthu.GroupDepartment {
		t.Fatalf("SNV row = %+v", u)
	}
}

func TestCheckParents(t *testing.T) {
	row := func(line int, code, parent string) Row {
		return Row{Line: line, Unit: vanthu.Unit{Code: code, ParentCode: parent}}
	}
	tests := []struct {
		name     string
		rows     []Row
		existing map[string]bool
		lines    []int
	}{
		{"parent later in the file", []Row{row(2, "XA", "TINH"), row(3, "TINH", "")}, nil, nil},
		{"parent already stored", []Row{row(2, "XA", "SNV")}, map[string]bool{"SNV": true}, nil},
		{"unknown parents", []Row{row(2, "XA", "NOPE"), row(3, "SNV", ""), row(4, "XB", "SNV"), row(5, "XC", "GONE")}, map[string]bool{"TINH": true}, []int{2, 5}},
		{"cycle within the file", []Row{row(2, "A", "B"), row(3, "B", "C"), row(4, "C", "A"), row(5, "D", "A")}, nil, []int{2, 3, 4}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckParents(tt.rows, tt.existing)
			if tt.lines == nil {
				if err != nil {
					t.Fatalf("CheckParents: %v", err)
				}
				return
			}
			wantCode(t, err, vanthu.EInvalid)
			if got := problemLines(err); !slices.Equal(got, tt.lines) {
				t.Fatalf("lines = %v, want %v (%v)", got, tt.lines, err)
			}
		})
	}
}

func TestDetectFormat(t *testing.T) {
	tests := []struct {
		name, filename, ctype string
		head                  []byte
		want                  string
	}{
		{"zip magic wins over the name", "units.csv", "text/csv", []byte("PK\x03\x04rest"), FormatXLSX},
		{"csv by extension", "Danh sách.CSV", "", []byte("code,name\n"), FormatCSV},
		{"csv sent by Windows browsers", "units", "application/vnd.ms-excel", []byte("\ufeffmã;tên\n"), FormatCSV},
		{"text/csv with charset", "upload", "text/csv; charset=utf-8", []byte("code,name\n"), FormatCSV},
		{"xlsx name but not a zip", "units.xlsx", "", []byte("code,name\n"), ""},
		{"legacy xls", "units.xls", "application/vnd.ms-excel", []byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1}, ""},
		{"binary", "units.csv", "", []byte{0x00, 0x01, 0x02}, ""},
		{"pdf", "units.pdf", "application/pdf", []byte("%PDF-1.7"), ""},
		{"utf-8 cut at the end of head", "u.csv", "", []byte("tên\xe1\xbb"), FormatCSV},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := DetectFormat(tt.filename, tt.ctype, tt.head); got != tt.want {
				t.Fatalf("DetectFormat(%q, %q) = %q, want %q", tt.filename, tt.ctype, got, tt.want)
			}
		})
	}
}
