package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/emersion/go-message/mail"
	"github.com/hibiken/asynq"
	"github.com/xuri/excelize/v2"

	"github.com/sonoivu/vanthu"
	"github.com/sonoivu/vanthu/internal/testenv"
	"github.com/sonoivu/vanthu/worker"
)

// TestDevReport is issue 7's walk-through on `vanthu dev`: the seeded
// clerk opens the reports page, which proposes the quarter that ended
// last, generates its report, watches the progress bar until the figures
// appear, rewrites the assessment, and downloads the PDF and the annex
// workbook in the browser's session. The figures of the PDF, of the
// workbook's summary sheet and of the sums of its Biểu agree, and equal
// the figures counted here from the inspections and dispatches the API
// lists. Then the clerk issues the report from its document page: it is
// numbered BC-SNV, sent to the configured leadership unit (VP-UBND) and
// tracked like any directive, and the report is frozen.
func TestDevReport(t *testing.T) {
	if testing.Short() {
		t.Skip("drives Chromium against vanthu dev")
	}
	chromium := testenv.Chromium(t)
	testenv.PDFTool(t, "pdftotext")
	const token = "dev-report-admin-token-0123456789"
	dev := startDev(t, map[string]string{"VANTHU_DEV_ADMIN_TOKEN": token, "VANTHU_DEV_SAMPLE_QUARTERS": "2"}, 2*time.Minute)
	base, out, logs := dev.base, dev.out, dev.logs
	queues := asynq.NewInspector(asynq.RedisClientOpt{Addr: redisAddrFrom(t, out.String())})
	defer queues.Close()
	bctx := devBrowser(t, chromium, 1280, 900, 4*time.Minute)

	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(bctx, steps...); err != nil {
			t.Fatalf("%s: %v\n%s", what, err, logs.String())
		}
	}
	evalString := func(js string) string {
		t.Helper()
		v, err := chromedp.Run(bctx, chromedp.Evaluate[string](js))
		if err != nil {
			t.Fatalf("%s: %v", js, err)
		}
		return v
	}
	pageState := func() string {
		s, _ := chromedp.Run(bctx, chromedp.Evaluate[string](`(function () {
			const t = id => ((document.getElementById(id) || {}).textContent || '').trim();
			return location.href + ' | ' + t('report-state') + ' | ' + t('report-progress-text') + ' | ' + t('report-failure') + ' | ' + t('report-errors') + ' | ' + t('progress');
		})()`))
		return s
	}
	poll := func(what, cond string, d time.Duration) {
		t.Helper()
		if _, err := chromedp.Run(bctx, chromedp.Poll[bool](cond,
			chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(d))); err != nil {
			t.Fatalf("%s: %v (%s)\n%s", what, err, pageState(), logs.String())
		}
	}

	// The clerk logs in on the reports page; the form proposes the
	// quarter that ended last, under the configured (calendar) rule.
	last := vanthu.LastEndedQuarter(time.Now(), vanthu.CutOffCalendar)
	do("log in and open the reports",
		chromedp.Navigate(base+"/reports"),
		chromedp.WaitVisible(css("#username")),
		chromedp.SendKeys(css("#username"), "vanthu"),
		chromedp.SendKeys(css("#password"), "vanthu@2026"),
		chromedp.Click(css("form.login button[type=submit]")),
		chromedp.WaitVisible(css("#report-form")),
	)
	proposed := evalString(`['rp-year', 'rp-kind', 'rp-quarter', 'rp-cutoff'].map(id => document.getElementById(id).value).join(' ')`)
	if want := fmt.Sprintf("%d quy %d calendar", last.Year, last.Quarter); proposed != want {
		t.Fatalf("the form proposes %q, want the last ended quarter %q", proposed, want)
	}

	// Generate. The generation queue is held while the page first loads,
	// so that the progress bar is seen whatever the speed of the worker;
	// released, the page follows the task by itself to the figures.
	if err := queues.PauseQueue(worker.QueueDefault); err != nil {
		t.Fatal(err)
	}
	paused := true
	defer func() {
		if paused {
			queues.UnpauseQueue(worker.QueueDefault)
		}
	}()
	do("generate", chromedp.Click(css(`#report-form button[type=submit]`)), chromedp.WaitVisible(css("#report-progress")))
	loc, err := chromedp.Run(bctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	reportID, err := strconv.ParseInt(strings.TrimPrefix(loc, base+"/reports/"), 10, 64)
	if err != nil {
		t.Fatalf("generating landed on %s", loc)
	}
	if s := evalString(`document.getElementById('report-status').getAttribute('data-state') + ' ' + document.getElementById('report-state').textContent`); s != "generating Đang lập" {
		t.Errorf("while generating the page says %q", s)
	}
	if err := queues.UnpauseQueue(worker.QueueDefault); err != nil {
		t.Fatal(err)
	}
	paused = false
	waitPage(bctx, t, 90*time.Second, "the generated report", `(function () {
		const s = document.getElementById('report-status');
		return !!s && s.getAttribute('data-state') === 'ready' && !document.getElementById('report-progress') &&
			!!document.querySelector('#report-figures tbody tr') && !!document.getElementById('report-pdf') &&
			!!document.getElementById('report-xlsx') && !!document.getElementById('narrative-form');
	})()`, pageState)
	var pageFigures map[string]string
	if err := json.Unmarshal([]byte(evalString(`JSON.stringify(Object.fromEntries(Array.from(document.querySelectorAll('#report-figures tbody tr'))
		.map(tr => [tr.cells[0].textContent.trim(), tr.cells[1].textContent.trim()])))`)), &pageFigures); err != nil {
		t.Fatal(err)
	}

	// The clerk rewrites the assessment and saves: the draft is laid out
	// again with it.
	assessment := fmt.Sprintf("Đánh giá của văn thư cho %s: các đơn vị cơ bản chấp hành tốt giờ giấc, cần chấn chỉnh việc đeo thẻ (mã kiểm thử %d).", last.Label(), time.Now().UnixNano()%100000)
	do("write the assessment",
		chromedp.SetValue(css("#rp-assessment"), assessment),
		chromedp.Click(css(`#narrative-form button[type=submit]`)),
	)
	waitPage(bctx, t, 30*time.Second, "the saved narrative", fmt.Sprintf(`(function () {
		const ok = document.querySelector('p.ok[role=status]');
		const a = document.getElementById('rp-assessment');
		return !!ok && ok.textContent.startsWith('Đã lưu nội dung') && !!a && a.value === %q;
	})()`, assessment), pageState)

	// Both files, downloaded in the browser's session.
	pdf := browserDownload(bctx, t, "#report-pdf", "application/pdf")
	if !bytes.HasPrefix(pdf, []byte("%PDF-")) {
		t.Fatalf("the PDF download is not a PDF: %.40q", pdf)
	}
	xlsx := browserDownload(bctx, t, "#report-xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")

	// What the PDF says.
	text := strings.Join(strings.Fields(testenv.RunPDFTool(t, pdf, false, "pdftotext", "-raw")), " ")
	inPDF := func(re string) []int {
		t.Helper()
		m := regexp.MustCompile(re).FindStringSubmatch(text)
		if m == nil {
			t.Fatalf("the PDF has no %s:\n%s", re, text)
		}
		ns := make([]int, len(m)-1)
		for i, s := range m[1:] {
			ns[i] = count(t, s)
		}
		return ns
	}
	var pdfFig reportCheck
	d := inPDF(`đã ban hành ([\d.]+) văn bản chỉ đạo, gửi ([\d.]+) lượt văn bản đến`)
	pdfFig.issued, pdfFig.dispatches = d[0], d[1]
	pdfFig.onTime = inPDF(`Xác nhận đúng hạn: ([\d.]+) lượt`)[0]
	pdfFig.late = inPDF(`Xác nhận trễ hạn: ([\d.]+) lượt`)[0]
	pdfFig.inspections = inPDF(`Đã kiểm tra ([\d.]+) cuộc`)[0]
	a := inPDF(`được kiểm tra là ([\d.]+) người: có mặt ([\d.]+)/([\d.]+) người`)
	pdfFig.listed, pdfFig.present = a[0], a[1]
	if a[2] != a[0] {
		t.Errorf("the PDF says %d checked and present out of %d", a[0], a[2])
	}
	pdfFig.unexcused = inPDF(`Vắng không có lý do: ([\d.]+) người`)[0]
	pdfFig.violators = inPDF(`Số người vi phạm được ghi nhận: ([\d.]+) người`)[0]
	for _, want := range []string{"BÁO CÁO", "Kính gửi: Ủy ban nhân dân tỉnh", last.Label(), periodSpan(last), assessment} {
		if !strings.Contains(text, want) {
			t.Errorf("the PDF lacks %q:\n%s", want, text)
		}
	}

	// What the workbook says: the summary sheet, and the annex tables
	// summed here.
	book := readWorkbook(t, xlsx)
	sum := book.summary(t)
	sumFig := reportCheck{
		issued: sum["Văn bản chỉ đạo ban hành"], dispatches: sum["Lượt văn bản gửi đến đơn vị"],
		onTime: sum["Xác nhận đúng hạn"], late: sum["Xác nhận trễ hạn"],
		inspections: sum["Số cuộc kiểm tra"], listed: sum["Số CBCCVC được kiểm tra"], present: sum["Có mặt"],
		unexcused: sum["Vắng không có lý do"], violators: sum["Số người vi phạm"],
	}
	b1, b1n := book.table(t, "Biểu 1", "E", "F", "H", "J")
	b2, _ := book.table(t, "Biểu 2", "D")
	b4, _ := book.table(t, "Biểu 4", "C", "F", "G")
	_, persons := book.table(t, "Chi tiết")
	annexFig := reportCheck{
		issued:     sumFig.issued, // no annex counts directives
		dispatches: b4["C"], onTime: b4["F"] - b4["G"], late: b4["G"],
		inspections: b1n, listed: b1["E"], present: b1["F"], unexcused: b1["H"], violators: b1["J"],
	}
	if b2["D"] != b1["J"] || persons != b1["J"] {
		t.Errorf("violators: Biểu 1 sums %d, Biểu 2 %d, the detail sheet has %d rows", b1["J"], b2["D"], persons)
	}

	// What the data says, counted here from the API with the admin's
	// token: the finalized inspections that started in the quarter, and
	// the dispatches of the directives issued in it.
	api := func(path string, v any) {
		t.Helper()
		req, _ := http.NewRequest("GET", base+path, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %s %s", path, resp.Status, b)
		}
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
	}
	data := countQuarter(t, api, last)
	if data.inspections == 0 || data.violators == 0 || data.dispatches == 0 || data.onTime == 0 || data.late == 0 {
		t.Fatalf("the seeded quarter is not a realistic one: %+v", data)
	}
	t.Logf("%s counted from the API: %+v", last.Label(), data)
	for _, c := range []struct {
		what string
		got  reportCheck
	}{{"the PDF", pdfFig}, {"the workbook's summary sheet", sumFig}, {"the sums of the workbook's Biểu", annexFig}} {
		if c.got != data {
			t.Errorf("%s says\n\t%+v\nthe data\n\t%+v", c.what, c.got, data)
		}
	}
	for label, want := range map[string]int{
		"Văn bản chỉ đạo đã ban hành": data.issued, "Lượt gửi tới đơn vị": data.dispatches, "Cuộc kiểm tra": data.inspections,
		"CBCCVC được kiểm tra": data.listed, "Vắng không có lý do": data.unexcused, "Người vi phạm được ghi nhận": data.violators,
	} {
		if got := pageFigures[label]; got != strconv.Itoa(want) {
			t.Errorf("the report page shows %s = %q, want %d", label, got, want)
		}
	}

	// Issue: from the report to its draft, the clerk confirms and issues.
	do("open the draft", chromedp.Click(css("#report-document")), chromedp.WaitVisible(css("#issue")))
	do("issue",
		chromedp.Click(css(`input[name="confirm_issue"]`)),
		chromedp.Click(css("#issue")),
		chromedp.WaitVisible(css("#progress")),
	)
	poll("the report sent to its one recipient", `(function () {
		const n = s => Number(document.querySelector('[data-count="' + s + '"]').textContent);
		return document.querySelectorAll('#dispatches tr[data-id]').length === 1 && n('queued') === 0 && n('failed') === 0 &&
			n('bounced') === 0 && n('sent') + n('read') + n('acknowledged') === 1;
	})()`, 90*time.Second)
	symbol := strings.TrimSpace(evalString(`document.getElementById('doc-symbol').textContent`))
	if !regexp.MustCompile(`^\d+/BC-SNV$`).MatchString(symbol) {
		t.Errorf("the report is numbered %q, want n/BC-SNV", symbol)
	}
	var rep struct {
		DocumentID int64 `json:"document_id"`
		State      string
	}
	api(fmt.Sprintf("/api/v1/reports/%d", reportID), &rep)
	var sent struct {
		Dispatches []vanthu.Dispatch `json:"dispatches"`
	}
	api(fmt.Sprintf("/api/v1/documents/%d/dispatches", rep.DocumentID), &sent)
	const leadership = "vpubnd@vinhlong.gov.vn"
	if rep.State != string(vanthu.ReportIssued) || len(sent.Dispatches) != 1 || sent.Dispatches[0].UnitCode != "VP-UBND" ||
		sent.Dispatches[0].Email != leadership || sent.Dispatches[0].SentAt == nil {
		t.Errorf("after issuing: report %s, dispatches %+v; want issued, one sent to VP-UBND", rep.State, sent.Dispatches)
	}

	// The leadership's mailbox: one message, the numbered report attached.
	jar, _ := cookiejar.New(nil)
	clerk := &http.Client{Jar: jar}
	resp, err := clerk.PostForm(base+"/login", url.Values{"username": {"vanthu"}, "password": {"vanthu@2026"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	get := func(path string) []byte {
		t.Helper()
		resp, err := clerk.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %s", path, resp.Status)
		}
		return b
	}
	box := string(get("/dev/mail/" + url.PathEscape(leadership)))
	uids := regexp.MustCompile(`href="/dev/mail/[^/"]+/([0-9]+)"`).FindAllStringSubmatch(box, -1)
	if n := distinct(uids); n != 1 {
		t.Fatalf("mailbox %s holds %d messages, want exactly 1", leadership, n)
	}
	subject, attached, annex := mailFiles(t, get("/dev/mail/"+url.PathEscape(leadership)+"/"+uids[0][1]+"/raw"))
	if !bytes.Equal(annex, xlsx) {
		t.Errorf("the workbook sent (%d bytes) is not the report's annex workbook (%d bytes)", len(annex), len(xlsx))
	}
	if !strings.Contains(subject, symbol) {
		t.Errorf("the message's subject %q does not name %s", subject, symbol)
	}
	sentText := strings.Join(strings.Fields(testenv.RunPDFTool(t, attached, false, "pdftotext", "-raw")), " ")
	for _, want := range []string{symbol, assessment, fmt.Sprintf("đã ban hành %d văn bản chỉ đạo", data.issued)} {
		if !strings.Contains(sentText, want) {
			t.Errorf("the PDF sent lacks %q:\n%s", want, sentText)
		}
	}

	// The report is issued: frozen, no narrative form, tracked.
	do("back to the report", chromedp.Navigate(fmt.Sprintf("%s/reports/%d", base, reportID)), chromedp.WaitVisible(css("#report-state")))
	if s := evalString(`document.getElementById('report-state').textContent.trim() + ' | ' + !!document.getElementById('narrative-form') + ' | ' +
		document.getElementById('report-document').textContent.trim()`); s != "Đã ban hành | false | Theo dõi tiếp nhận" {
		t.Errorf("the issued report's page: %q", s)
	}
	// Its PDF link now serves the numbered report that was sent.
	if issued := browserDownload(bctx, t, "#report-pdf", "application/pdf"); !bytes.Equal(issued, attached) {
		t.Errorf("the issued report's PDF (%d bytes) is not the one sent (%d bytes)", len(issued), len(attached))
	}

	for _, l := range strings.Split(logs.String(), "\n") {
		if strings.Contains(l, "level=ERROR") {
			t.Errorf("the server logged an error: %s", l)
		}
	}
}

// reportCheck is the figures the walk-through compares: the same ones
// from the PDF, from the workbook and from the data.
type reportCheck struct {
	issued, dispatches, onTime, late                   int
	inspections, listed, present, unexcused, violators int
}

// countQuarter counts the figures of p from the API: the finalized
// inspections started in p that no finalized correction supersedes, and
// the dispatches of the directives issued in p with their milestones as
// known now.
func countQuarter(t *testing.T, api func(string, any), p vanthu.Period) reportCheck {
	t.Helper()
	from, until := p.Range()
	var c reportCheck
	var ins struct {
		Inspections []vanthu.Inspection `json:"inspections"`
	}
	api(fmt.Sprintf("/api/v1/inspections?state=finalized&from=%s&until=%s&limit=1000", from.Format("2006-01-02"), p.LastDay().Format("2006-01-02")), &ins)
	superseded := map[int64]bool{}
	for _, in := range ins.Inspections {
		superseded[in.Previous] = true
	}
	for _, in := range ins.Inspections {
		if superseded[in.ID] || in.StartedAt == nil || in.StartedAt.Before(from) || !in.StartedAt.Before(until) {
			continue
		}
		c.inspections++
		c.listed += in.Attendance.Listed
		c.present += in.Attendance.Present
		c.unexcused += in.Attendance.AbsentUnexcused
		c.violators += len(in.Findings)
	}
	var docs struct {
		Documents []vanthu.Document `json:"documents"`
	}
	api("/api/v1/documents?kind=directive&state=issued&limit=1000", &docs)
	now := time.Now()
	known := func(at *time.Time) bool { return at != nil && !at.After(now) }
	for _, doc := range docs.Documents {
		if doc.IssuedAt == nil || doc.IssuedAt.Before(from) || !doc.IssuedAt.Before(until) {
			continue
		}
		c.issued++
		var ds struct {
			Dispatches []vanthu.Dispatch `json:"dispatches"`
		}
		api(fmt.Sprintf("/api/v1/documents/%d/dispatches", doc.ID), &ds)
		for _, d := range ds.Dispatches {
			c.dispatches++
			switch {
			case !known(d.AcknowledgedAt):
			case d.Deadline == nil || !d.AcknowledgedAt.After(*d.Deadline):
				c.onTime++
			default:
				c.late++
			}
		}
	}
	return c
}

// count reads a count as the report prints it, thousands grouped by ".".
func count(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(strings.ReplaceAll(s, ".", ""))
	if err != nil {
		t.Fatalf("not a count: %q", s)
	}
	return n
}

// periodSpan is the period's dates as the report's opening sentence
// writes them.
func periodSpan(p vanthu.Period) string {
	from, _ := p.Range()
	return "từ ngày " + from.Format("02/01/2006") + " đến ngày " + p.LastDay().Format("02/01/2006")
}

// browserDownload fetches the href of the link sel in the browser's
// session and returns the body, which must be of type contentType.
func browserDownload(bctx context.Context, t *testing.T, sel, contentType string) []byte {
	t.Helper()
	b64, err := chromedp.Run(bctx, chromedp.Evaluate[string](fmt.Sprintf(`(async function () {
		const r = await fetch(document.querySelector(%q).href, {credentials: 'same-origin'});
		if (!r.ok || r.headers.get('Content-Type') !== %q) { throw new Error('HTTP ' + r.status + ' ' + r.headers.get('Content-Type')); }
		const b = new Uint8Array(await r.arrayBuffer());
		let s = '';
		for (let i = 0; i < b.length; i += 0x8000) { s += String.fromCharCode.apply(null, b.subarray(i, i + 0x8000)); }
		return btoa(s);
	})()`, sel, contentType), chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("download %s: %v", sel, err)
	}
	b, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// workbook is the annex workbook's sheets as raw cell values (the cached
// values of formulas), by sheet name.
type workbook map[string][][]string

func readWorkbook(t *testing.T, xlsx []byte) workbook {
	t.Helper()
	f, err := excelize.OpenReader(bytes.NewReader(xlsx))
	if err != nil {
		t.Fatalf("open the workbook: %v", err)
	}
	defer f.Close()
	w := workbook{}
	for _, name := range f.GetSheetList() {
		rows, err := f.GetRows(name, excelize.Options{RawCellValue: true})
		if err != nil {
			t.Fatalf("sheet %s: %v", name, err)
		}
		w[name] = rows
	}
	for _, name := range []string{"Tổng hợp", "Biểu 1", "Biểu 2", "Biểu 3", "Biểu 4", "Chi tiết"} {
		if _, ok := w[name]; !ok {
			t.Fatalf("the workbook has no sheet %q (%v)", name, f.GetSheetList())
		}
	}
	return w
}

// cell is column col (a letter) of a row, "" past its end.
func cell(row []string, col string) string {
	i := int(col[0] - 'A')
	if i < len(row) {
		return strings.TrimSpace(row[i])
	}
	return ""
}

// cellCount reads a cell holding a count.
func cellCount(t *testing.T, sheet string, row []string, col string) int {
	t.Helper()
	v, err := strconv.ParseFloat(cell(row, col), 64)
	if err != nil || v != float64(int(v)) {
		t.Fatalf("%s: column %s of %q is not a count", sheet, col, row)
	}
	return int(v)
}

// summary is the headline table of the summary sheet, label to this
// period's count: the first table only (the violations table below it
// repeats some labels), rates left out.
func (w workbook) summary(t *testing.T) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, row := range w["Tổng hợp"][4:] {
		label := cell(row, "B")
		if label == "Hành vi vi phạm" {
			break
		}
		if label != "" && !strings.HasPrefix(label, "Tỷ lệ") {
			out[label] = cellCount(t, "Tổng hợp", row, "C")
		}
	}
	return out
}

// table sums columns cols over the data rows of an annex sheet (header
// on row 4, then a numbered row each, then the total row), checks the
// total row's cached values equal those sums, and returns them with the
// number of data rows.
func (w workbook) table(t *testing.T, sheet string, cols ...string) (map[string]int, int) {
	t.Helper()
	rows := w[sheet]
	if len(rows) < 4 || cell(rows[3], "A") != "STT" {
		t.Fatalf("%s: no header on row 4", sheet)
	}
	sums := map[string]int{}
	n := 0
	for _, row := range rows[4:] {
		if strings.HasPrefix(cell(row, "B"), "Tổng") {
			if cell(row, "A") != "" && cellCount(t, sheet, row, "A") != n {
				t.Errorf("%s: the total row counts %s rows, there are %d", sheet, cell(row, "A"), n)
			}
			for _, c := range cols {
				if got := cellCount(t, sheet, row, c); got != sums[c] {
					t.Errorf("%s: the total of column %s is %d, its rows sum to %d", sheet, c, got, sums[c])
				}
			}
			return sums, n
		}
		if cellCount(t, sheet, row, "A") != n+1 {
			t.Fatalf("%s: row %q out of sequence", sheet, row)
		}
		n++
		for _, c := range cols {
			sums[c] += cellCount(t, sheet, row, c)
		}
	}
	t.Fatalf("%s: no total row", sheet)
	return nil, 0
}

// mailFiles reads a raw message: its subject, its one PDF attachment and
// its one workbook attachment.
func mailFiles(t *testing.T, raw []byte) (string, []byte, []byte) {
	t.Helper()
	r, err := mail.CreateReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("read the message: %v", err)
	}
	subject, err := r.Header.Subject()
	if err != nil {
		t.Fatal(err)
	}
	var pdfs, books [][]byte
	for {
		p, err := r.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("read the message: %v", err)
		}
		h, ok := p.Header.(*mail.AttachmentHeader)
		if !ok {
			continue
		}
		ct, _, _ := h.ContentType()
		name, _ := h.Filename()
		b, err := io.ReadAll(p.Body)
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case ct == "application/pdf" && strings.HasSuffix(name, ".pdf") && bytes.HasPrefix(b, []byte("%PDF-")):
			pdfs = append(pdfs, b)
		case strings.HasSuffix(name, "-phu-luc.xlsx") && bytes.HasPrefix(b, []byte("PK\x03\x04")):
			books = append(books, b)
		}
	}
	if len(pdfs) != 1 || len(books) != 1 {
		t.Fatalf("the message %q carries %d PDF and %d workbook attachments, want 1 and 1", subject, len(pdfs), len(books))
	}
	return subject, pdfs[0], books[0]
}
