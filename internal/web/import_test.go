package web_test

import (
	"bytes"
	"context"
	"fmt"
	"mime/multipart"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/sonoivu/vanthu"
)

// unitsCSV builds a units file of n communes; bad maps a 1-based data row
// to a broken variant of it. File line = data row + 1 (the header).
func unitsCSV(n int, bad map[int]string) string {
	var b strings.Builder
	b.WriteString("code,name,emails,group,parent_code,order\n")
	for i := 1; i <= n; i++ {
		if row, ok := bad[i]; ok {
			b.WriteString(row + "\n")
			continue
		}
		fmt.Fprintf(&b, "XA-%02d,Ủy ban nhân dân xã Hòa Bình %d,xa%02d@vinhlong.gov.vn,xa-phuong,,%d\n", i, i, i, i)
	}
	return b.String()
}

func multipartFile(t *testing.T, name, content string) (*bytes.Buffer, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, err := mw.CreateFormFile("file", name)
	if err != nil {
		t.Fatal(err)
	}
	fw.Write([]byte(content))
	mw.Close()
	return &buf, mw.FormDataContentType()
}

type importResp struct {
	Rows    int  `json:"rows"`
	Created int  `json:"created"`
	Updated int  `json:"updated"`
	DryRun  bool `json:"dry_run"`
}

func countUnits(t *testing.T, f *fixture) int {
	t.Helper()
	us, err := f.store.ListUnits(context.Background(), vanthu.UnitFilter{})
	if err != nil {
		t.Fatal(err)
	}
	return len(us)
}

func TestImportAPI(t *testing.T) {
	f := newFixture(t)
	clerk := bearer(vanthu.RoleClerk)

	t.Run("bad rows reject the whole file", func(t *testing.T) {
		file := unitsCSV(50, map[int]string{
			6:  "XA-06,Xã Sáu,không-phải-thư,xa-phuong,,6",
			20: "XA-20,,xa20@vinhlong.gov.vn,xa-phuong,,20",
			41: "XA-41,Xã Bốn Mốt,xa41@vinhlong.gov.vn,huyen,,41",
		})
		body, ctype := multipartFile(t, "don-vi.csv", file)
		resp := f.do("POST", "/api/v1/units/import", body, clerk, "Content-Type", ctype)
		wantStatus(t, resp, http.StatusUnprocessableEntity)
		e := decode[apiError](t, resp)
		var lines []int
		for _, p := range e.Error.Problems {
			if !slices.Contains(lines, p.Line) {
				lines = append(lines, p.Line)
			}
		}
		if want := []int{7, 21, 42}; !slices.Equal(lines, want) {
			t.Errorf("lines %v, want %v (problems %+v)", lines, want, e.Error.Problems)
		}
		if n := countUnits(t, f); n != 0 {
			t.Errorf("%d units imported from a rejected file", n)
		}
	})

	t.Run("dry run changes nothing", func(t *testing.T) {
		resp := f.do("POST", "/api/v1/units/import?dry_run=true", strings.NewReader(unitsCSV(5, nil)), clerk, "Content-Type", "text/csv")
		wantStatus(t, resp, http.StatusOK)
		if r := decode[importResp](t, resp); r != (importResp{Rows: 5, Created: 5, DryRun: true}) {
			t.Errorf("dry run = %+v", r)
		}
		if n := countUnits(t, f); n != 0 {
			t.Errorf("dry run imported %d units", n)
		}
	})

	t.Run("good file as raw body", func(t *testing.T) {
		resp := f.do("POST", "/api/v1/units/import", strings.NewReader(unitsCSV(50, nil)), clerk, "Content-Type", "text/csv; charset=utf-8")
		wantStatus(t, resp, http.StatusOK)
		if r := decode[importResp](t, resp); r != (importResp{Rows: 50, Created: 50}) {
			t.Errorf("import = %+v", r)
		}
		if n := countUnits(t, f); n != 50 {
			t.Errorf("%d units after import", n)
		}
	})

	t.Run("again as multipart updates", func(t *testing.T) {
		body, ctype := multipartFile(t, "don-vi.csv", unitsCSV(52, nil))
		resp := f.do("POST", "/api/v1/units/import", body, clerk, "Content-Type", ctype)
		wantStatus(t, resp, http.StatusOK)
		if r := decode[importResp](t, resp); r != (importResp{Rows: 52, Created: 2, Updated: 50}) {
			t.Errorf("import = %+v", r)
		}
	})

	t.Run("unknown parent", func(t *testing.T) {
		file := "code,name,emails,group,parent_code,order\nTHON-1,Thôn Một,thon1@vinhlong.gov.vn,khac,KHONG-CO,1\n"
		resp := f.do("POST", "/api/v1/units/import", strings.NewReader(file), clerk, "Content-Type", "text/csv")
		wantStatus(t, resp, http.StatusUnprocessableEntity)
		e := decode[apiError](t, resp)
		if len(e.Error.Problems) != 1 || e.Error.Problems[0].Line != 2 || e.Error.Problems[0].Field != "parent_code" {
			t.Errorf("problems = %+v", e.Error.Problems)
		}
	})

	t.Run("unsupported format", func(t *testing.T) {
		resp := f.do("POST", "/api/v1/units/import", strings.NewReader("%PDF-1.7"), clerk, "Content-Type", "application/pdf")
		wantStatus(t, resp, http.StatusUnprocessableEntity)
		if e := decode[apiError](t, resp); len(e.Error.Problems) != 1 || e.Error.Problems[0].Field != "file" {
			t.Errorf("error = %+v", e)
		}
	})

	t.Run("upload too large", func(t *testing.T) {
		resp := f.do("POST", "/api/v1/units/import", strings.NewReader(unitsCSV(2000, nil)), clerk, "Content-Type", "text/csv")
		wantStatus(t, resp, http.StatusRequestEntityTooLarge)
		body, ctype := multipartFile(t, "don-vi.csv", unitsCSV(2000, nil))
		resp = f.do("POST", "/api/v1/units/import", body, clerk, "Content-Type", ctype)
		wantStatus(t, resp, http.StatusRequestEntityTooLarge)
		if e := decode[apiError](t, resp); e.Error.Code != "too_large" {
			t.Errorf("error = %+v", e)
		}
	})
}

func TestImportPage(t *testing.T) {
	f := newFixture(t)
	file := unitsCSV(10, map[int]string{6: "XA-06,Xã Sáu,không-phải-thư,xa-phuong,,6"})
	body, ctype := multipartFile(t, "don-vi.csv", file)
	resp := f.do("POST", "/units/import", body, session(vanthu.RoleClerk), "Content-Type", ctype)
	wantStatus(t, resp, http.StatusUnprocessableEntity)
	page := bodyString(t, resp)
	if !strings.Contains(page, "Dòng 7 — Thư điện tử:") || !strings.Contains(page, "chưa nhập đơn vị nào") {
		t.Errorf("page does not list the bad line:\n%s", page)
	}
	if n := countUnits(t, f); n != 0 {
		t.Errorf("%d units imported", n)
	}

	body, ctype = multipartFile(t, "don-vi.csv", unitsCSV(10, nil))
	resp = f.do("POST", "/units/import", body, session(vanthu.RoleClerk), "Content-Type", ctype)
	wantStatus(t, resp, http.StatusOK)
	page = bodyString(t, resp)
	if !strings.Contains(page, "Đã nhập 10 dòng: thêm 10, cập nhật 0 đơn vị.") || !strings.Contains(page, "Ủy ban nhân dân xã Hòa Bình 7") {
		t.Errorf("page does not show the result:\n%s", page)
	}
}
