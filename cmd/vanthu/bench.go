package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sonoivu/vanthu"
	"github.com/sonoivu/vanthu/internal/memstat"
	"github.com/sonoivu/vanthu/internal/render"
	"github.com/sonoivu/vanthu/internal/render/sheet"
	"github.com/sonoivu/vanthu/internal/report"
	"github.com/sonoivu/vanthu/templates"
)

// benchCmd runs the named benchmark: `vanthu bench render`, `vanthu
// bench send` or `vanthu bench report`. Its last line
// is machine-readable: "RESULT <name> key=value …".
func benchCmd(ctx context.Context, args []string, getenv func(string) string, out, errOut io.Writer) error {
	if len(args) == 0 {
		return errors.New("usage: vanthu bench render|send|report [flags]")
	}
	switch args[0] {
	case "render":
		return benchRender(ctx, args[1:], getenv, out, errOut)
	case "send":
		return benchSend(ctx, args[1:], getenv, out, errOut)
	case "report":
		return benchReport(ctx, args[1:], getenv, out, errOut)
	}
	return fmt.Errorf("bench: unknown benchmark %q (known: render, send, report)", args[0])
}

// benchRender measures the document engine on the four workloads issue 3
// names: a 2-page directive PDF, a 40-page report PDF with tables, the
// tracking sheet for 1,000 units and a 100,000-row annex workbook written
// with the stream writer. The 100,000-row case runs first, so the process's
// peak resident memory right after it is that case's peak.
func benchRender(ctx context.Context, args []string, getenv func(string) string, out, errOut io.Writer) error {
	fs := flag.NewFlagSet("vanthu bench render", flag.ContinueOnError)
	fs.SetOutput(errOut)
	runs := fs.Int("runs", 20, "runs of the directive; the report and the sheets run a quarter as often (at least 3)")
	rows := fs.Int("rows", 100000, "rows of the large annex workbook")
	units := fs.Int("units", 1000, "units of the tracking sheet")
	pages := fs.Int("pages", 40, "pages of the report")
	dir := fs.String("templates-dir", getenv("VANTHU_TEMPLATES_DIR"), "directory overriding the built-in templates")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *runs < 1 || *rows < 1 || *units < 1 || *pages < 1 {
		return errors.New("bench render: --runs, --rows, --units and --pages must be positive")
	}
	set, err := templates.Load(*dir)
	if err != nil {
		return err
	}
	few := max(3, *runs/4)
	res := []string{"RESULT render"}
	add := func(k string, v any) { res = append(res, fmt.Sprintf("%s=%v", k, v)) }

	// 1. The large annex, streamed, first: see the doc comment.
	annex := annexData(*rows)
	runtime.GC()
	var written countingWriter
	stop := make(chan struct{})
	peak := memstat.PeakHeap(stop, 5*time.Millisecond)
	start := time.Now()
	err = set.StreamSheet(ctx, "annexes", annex, &written)
	elapsed := time.Since(start)
	close(stop)
	peakHeapMB := float64(<-peak) / (1 << 20)
	if err != nil {
		return fmt.Errorf("bench render: annex: %w", err)
	}
	rss := peakRSSMB()
	fmt.Fprintf(out, "annex %d rows (stream)     %8.0f ms   %.1f MB written, peak heap %.0f MB, peak RSS %.0f MB (targets ≤ 3000 ms, ≤ 250 MB)\n",
		*rows, ms(elapsed), float64(written)/(1<<20), peakHeapMB, rss)
	add("annex_rows", *rows)
	add("annex_ms", round(ms(elapsed)))
	add("annex_peak_heap_mb", round(peakHeapMB))
	add("annex_peak_rss_mb", round(rss))

	// 2. The directive.
	directive := render.SampleDirective()
	med, err := median(ctx, *runs, func() error { _, err := render.PDF(directive); return err })
	if err != nil {
		return fmt.Errorf("bench render: directive: %w", err)
	}
	fmt.Fprintf(out, "directive PDF              %8.1f ms   median of %d (target ≤ 30 ms)\n", med, *runs)
	add("directive_ms", round(med))

	// 3. The report.
	report := render.SampleReport(*pages)
	var pdf []byte
	med, err = median(ctx, few, func() (err error) { pdf, err = render.PDF(report); return err })
	if err != nil {
		return fmt.Errorf("bench render: report: %w", err)
	}
	got := pageCount(pdf)
	fmt.Fprintf(out, "report PDF, %d pages        %8.1f ms   median of %d\n", got, med, few)
	add("report_pages", got)
	add("report_ms", round(med))

	// 4. The tracking sheet.
	tracking := trackingData(*units)
	med, err = median(ctx, few, func() error { _, err := set.FillSheet(ctx, "tracking", tracking); return err })
	if err != nil {
		return fmt.Errorf("bench render: tracking: %w", err)
	}
	fmt.Fprintf(out, "tracking sheet, %d units  %8.1f ms   median of %d\n", *units, med, few)
	add("tracking_units", *units)
	add("tracking_ms", round(med))

	fmt.Fprintln(out, strings.Join(res, " "))
	return nil
}

// median runs fn n times and returns the median duration in milliseconds:
// on a shared machine the median resists the odd slow run.
func median(ctx context.Context, n int, fn func() error) (float64, error) {
	d := make([]float64, 0, n)
	for range n {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		start := time.Now()
		if err := fn(); err != nil {
			return 0, err
		}
		d = append(d, ms(time.Since(start)))
	}
	slices.Sort(d)
	return d[len(d)/2], nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func round(f float64) float64 {
	v, _ := strconv.ParseFloat(strconv.FormatFloat(f, 'f', 1, 64), 64)
	return v
}

// countingWriter discards what it is given and counts the bytes.
type countingWriter int64

func (c *countingWriter) Write(p []byte) (int, error) {
	*c += countingWriter(len(p))
	return len(p), nil
}

// peakRSSMB returns the process's peak resident set (VmHWM), or 0 where
// /proc is not available.
func peakRSSMB() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmHWM:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return 0
}

// pageCount counts a PDF's page objects; fpdf writes one "/Type /Page"
// per page (the page tree is "/Type /Pages").
func pageCount(pdf []byte) int {
	return strings.Count(string(pdf), "/Type /Page\n")
}

// benchUnit names the n-th synthetic unit.
func benchUnit(i int) string {
	kinds := []string{"Ủy ban nhân dân xã", "Ủy ban nhân dân phường", "Trường Trung học cơ sở", "Trạm Y tế xã"}
	places := []string{"Tân Hạnh", "Long Châu", "Phước Hậu", "Thanh Đức", "Trường An", "Hòa Phú", "Mỹ Thuận", "Lộc Hòa"}
	return fmt.Sprintf("%s %s %d", kinds[i%len(kinds)], places[i/len(kinds)%len(places)], i+1)
}

// trackingData is a tracking sheet for n units with a mix of read,
// acknowledged, reminded and overdue dispatches.
func trackingData(n int) sheet.Data {
	sent := time.Date(2026, 11, 25, 9, 0, 0, 0, vanthu.Location)
	recs := make([]map[string]any, n)
	for i := range recs {
		r := map[string]any{
			"Code": fmt.Sprintf("DV%05d", i+1), "Name": benchUnit(i), "SentAt": sent.Add(time.Duration(i) * time.Second),
			"Reminders": i % 3, "Overdue": "Không",
		}
		if i%4 != 0 {
			r["ReadAt"] = sent.Add(time.Duration(i) * time.Minute)
		}
		if i%3 != 0 {
			r["AckAt"] = sent.Add(time.Duration(i) * time.Hour)
		} else {
			r["Overdue"], r["Note"] = "Có", "Đã đôn đốc qua điện thoại"
		}
		recs[i] = r
	}
	return sheet.Data{
		Values: map[string]any{"Number": "02/CT-UBND", "Subject": "Về tăng cường kỷ luật, kỷ cương hành chính"},
		Rows:   map[string][]map[string]any{"": recs},
	}
}

// annexData is the quarterly annex workbook with n rows in Biểu 1 (the
// inspections) and a few in the other tables.
func annexData(n int) sheet.Data {
	f := vanthu.ReportFigures{Period: vanthu.QuarterPeriod(2026, 4, vanthu.CutOffCalendar)}
	f.From, f.Until = f.Period.Range()
	f.AsOf = f.Until
	for i := range n {
		staff := 15 + i%40
		f.InspectionRows = append(f.InspectionRows, vanthu.InspectionRow{
			UnitName: benchUnit(i), StartedAt: f.From.AddDate(0, 0, i%90).Add(8 * time.Hour), Surprise: i%2 == 0,
			Listed: staff, Present: staff - i%4 - i%3, AbsentExcused: i % 4, AbsentUnexcused: i % 3, Late: i % 5, Violators: i%3 + i%5,
		})
	}
	for _, e := range vanthu.DefaultCatalog() {
		c := vanthu.CodeCount{Code: e.Code, Name: e.Name, Count: 1 + e.Order%7}
		if e.Kind == vanthu.CatalogViolation {
			f.Violations = append(f.Violations, c)
		} else {
			f.Handling = append(f.Handling, c)
		}
	}
	for i := range 20 {
		f.UnitViolations = append(f.UnitViolations, vanthu.UnitViolationCount{UnitName: benchUnit(i), Code: f.Violations[i%len(f.Violations)].Code, Name: f.Violations[i%len(f.Violations)].Name, Count: 1 + i%4})
		f.ReceiptRows = append(f.ReceiptRows, vanthu.UnitReceiptRow{UnitName: benchUnit(i), Dispatches: 3, Received: 3, Read: 2 + i%2, Acknowledged: 1 + i%3, Overdue: i % 2})
	}
	return report.WorkbookData(f)
}
