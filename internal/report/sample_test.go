package report

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/sonoivu/vanthu"
)

var update = flag.Bool("update", false, "rewrite the samples of the report and annexes templates from sampleFigures")

// Paths of the template samples this package's data must match.
var (
	reportSample = filepath.Join("..", "..", "templates", "documents", "report.sample.json")
	annexSample  = filepath.Join("..", "..", "templates", "sheets", "annexes.sample.json")
)

// sampleNarrative is the clerk's text of the sample report.
func sampleNarrative() vanthu.ReportNarrative {
	return vanthu.ReportNarrative{
		Assessment: "Kỷ luật, kỷ cương hành chính tiếp tục được duy trì; tỷ lệ vắng không có lý do giảm so với quý trước.\n" +
			"Một số đơn vị chưa xác nhận văn bản đúng hạn, chưa kịp thời xử lý cán bộ vi phạm.",
		NextTasks: []string{
			"Tiếp tục kiểm tra đột xuất tại các xã, phường có tỷ lệ vi phạm cao.",
			"Đôn đốc các đơn vị xác nhận văn bản chỉ đạo đúng hạn.",
			"Tổng hợp kết quả thực hiện Chỉ thị số 02/CT-UBND cả năm 2026.",
		},
		Proposals: "Đề nghị Ủy ban nhân dân tỉnh chỉ đạo người đứng đầu các cơ quan, đơn vị có cán bộ vi phạm nhiều lần kiểm điểm trách nhiệm.",
	}
}

// encode writes v as indented JSON, keeping "<" and "&" readable.
func encode(t *testing.T, v any) []byte {
	t.Helper()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestReportSampleIsData checks that the report template's sample data is
// exactly what Data returns for sampleFigures and sampleNarrative, so that
// the template, checked at load time with its sample, is checked against
// the real shape. With -update the sample's data is rewritten.
func TestReportSampleIsData(t *testing.T) {
	raw, err := os.ReadFile(reportSample)
	if err != nil {
		t.Fatal(err)
	}
	var sample struct {
		Document json.RawMessage `json:"document"`
		Data     json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(raw, &sample); err != nil {
		t.Fatal(err)
	}
	data := Data(sampleFigures(), sampleNarrative())
	if *update {
		out := encode(t, struct {
			Document json.RawMessage `json:"document"`
			Data     map[string]any  `json:"data"`
		}{sample.Document, data})
		if err := os.WriteFile(reportSample, out, 0o644); err != nil {
			t.Fatal(err)
		}
		sample.Data, _ = json.Marshal(data)
	}
	var got, want any
	if err := json.Unmarshal(encode(t, data), &got); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(sample.Data, &want); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Data differs from the \"data\" of %s (run go test ./internal/report -run TestReportSampleIsData -update):\n got %s", reportSample, encode(t, data))
	}
}

// annexSampleJSON is the annex workbook's sample: WorkbookData of
// sampleFigures with the first persons of the detail sheet, in the form
// templates.ParseSheetInput reads.
func annexSampleJSON(t *testing.T) []byte {
	t.Helper()
	d := WorkbookData(sampleFigures())
	var detail []map[string]any
	err := personRows(samplePersons(12))(context.Background(), func(r map[string]any) error {
		c := make(map[string]any, len(r))
		for k, v := range r {
			c[k] = v
		}
		detail = append(detail, c)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	d.Rows[DetailSheet] = detail
	return encode(t, map[string]any{"values": d.Values, "rows": d.Rows})
}

// TestAnnexSampleIsWorkbookData checks that the annex template's sample is
// what Workbook fills it with for sampleFigures; -update rewrites it.
func TestAnnexSampleIsWorkbookData(t *testing.T) {
	got := annexSampleJSON(t)
	if *update {
		if err := os.WriteFile(annexSample, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(annexSample)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from WorkbookData(sampleFigures()) (run go test ./internal/report -run TestAnnexSampleIsWorkbookData -update)", annexSample)
	}
}
