package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/sonoivu/vanthu"
	"github.com/sonoivu/vanthu/internal/testenv"
)

// TestDevInspection is issue 6's walk-through on `vanthu dev`: the seeded
// inspector, on a phone-sized touch screen, records an inspection of a
// seeded unit (team, representative, attendance, checklist, three persons
// with two kinds of violation, explanation, conclusions, handling), reloads
// midway and finds everything typed still there, presses "finalize" twice
// in a row, waits for the numbered minutes and downloads the signed PDF in
// the browser's session. pdfsig and `vanthu verify` accept it; with one
// byte of the signed content changed, both reject it.
func TestDevInspection(t *testing.T) {
	if testing.Short() {
		t.Skip("drives Chromium against vanthu dev")
	}
	chromium := testenv.Chromium(t)
	testenv.PDFTool(t, "pdfsig")
	testenv.PDFTool(t, "pdftotext")
	dev := startDev(t, nil, 2*time.Minute)
	base, out, logs := dev.base, dev.out, dev.logs
	caCert := firstMatch(t, out.String(), `dev CA \(trust anchor\): (\S+)`)
	bctx := devBrowser(t, chromium, 390, 844, 4*time.Minute)

	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(bctx, steps...); err != nil {
			t.Fatalf("%s: %v\n%s", what, err, logs.String())
		}
	}
	eval := func(js string) bool {
		t.Helper()
		v, err := chromedp.Run(bctx, chromedp.Evaluate[bool](js))
		if err != nil {
			t.Fatalf("%s: %v", js, err)
		}
		return v
	}
	pageState := func() string {
		s, _ := chromedp.Run(bctx, chromedp.Evaluate[string](`(function () {
			const t = id => (document.getElementById(id) || {}).textContent || '';
			return location.href + ' | ' + t('save-status') + ' | ' + t('save-problems') + ' | ' + t('older-local');
		})()`))
		return s
	}
	poll := func(what, cond string) {
		t.Helper()
		if _, err := chromedp.Run(bctx, chromedp.Poll[bool](cond,
			chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(30*time.Second))); err != nil {
			t.Fatalf("%s: %v (%s)", what, err, pageState())
		}
	}
	// typeInto empties a field, then types into it key by key.
	typeInto := func(sel, text string) {
		t.Helper()
		eval(fmt.Sprintf(`(function () { document.querySelector(%q).value = ''; return true; })()`, sel))
		do("type into "+sel, chromedp.SendKeys(css(sel), text))
	}
	// setInput sets a date or time input as its picker does, with the
	// events a picker fires.
	setInput := func(sel, value string) {
		t.Helper()
		if !eval(fmt.Sprintf(`(function () {
			const e = document.querySelector(%q);
			e.value = %q;
			e.dispatchEvent(new Event('input', {bubbles: true}));
			e.dispatchEvent(new Event('change', {bubbles: true}));
			return e.value === %q;
		})()`, sel, value, value)) {
			t.Fatalf("%s does not take %q", sel, value)
		}
	}
	// choose picks an option of a select as a tap would, by value or,
	// with byLabel, by its text.
	choose := func(sel, v string, byLabel bool) {
		t.Helper()
		if !eval(fmt.Sprintf(`(function () {
			const s = document.querySelector(%q);
			const o = Array.from(s.options).find(o => %t ? o.textContent.trim() === %q : o.value === %q);
			if (!o) { return false; }
			s.value = o.value;
			s.dispatchEvent(new Event('change', {bubbles: true}));
			return true;
		})()`, sel, byLabel, v, v)) {
			t.Fatalf("%s has no option %q", sel, v)
		}
	}
	row := func(list string, i int) string {
		return fmt.Sprintf(`[data-list="%s"] > [data-row]:nth-child(%d)`, list, i)
	}
	const saved = `document.getElementById('save-status').getAttribute('data-state') === 'saved'`

	// The inspector logs in on the phone and starts a record.
	now := time.Now().In(vanthu.Location).Truncate(time.Minute)
	started, ended := now.Add(-90*time.Minute), now.Add(-15*time.Minute)
	const unit, place = "Sở Tài chính", "Trụ sở Sở Tài chính, số 12 đường 3/2"
	do("log in and start a record",
		chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(3), chromedp.EmulateMobile, chromedp.EmulateTouch),
		chromedp.Navigate(base+"/inspections"),
		chromedp.WaitVisible(css("#username")),
		chromedp.SendKeys(css("#username"), "kiemtra"),
		chromedp.SendKeys(css("#password"), "kiemtra@2026"),
		chromedp.Tap(css("form.login button[type=submit]")),
		chromedp.WaitVisible(css("#new-inspection")),
		chromedp.Tap(css("#new-inspection")),
		chromedp.WaitVisible(css("#new-inspection-form")),
	)
	choose("#n-unit", unit, true)
	typeInto("#n-place", place)
	setInput("#n-started", started.Format("2006-01-02T15:04"))
	do("create", chromedp.Tap(css("#n-create")), chromedp.WaitVisible(css("#inspection-form")))
	loc, err := chromedp.Run(bctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	id, err := strconv.ParseInt(strings.TrimPrefix(loc, base+"/inspections/"), 10, 64)
	if err != nil {
		t.Fatalf("landed on %s", loc)
	}
	if !eval(`document.documentElement.scrollWidth <= window.innerWidth`) {
		t.Error("the form is wider than the phone's screen")
	}

	// The frame of the record, the team, the representative, the counts.
	do("legal basis", chromedp.SendKeys(css(`textarea[name="legal_basis"]`), "Quyết định số 125/QĐ-SNV ngày 20/11/2026 của Giám đốc Sở Nội vụ"))
	setInput(`input[name="ended_at"]`, ended.Format("2006-01-02T15:04"))
	for i, m := range []struct{ name, position, role string }{
		{"Phạm Quốc Việt", "Phó Giám đốc Sở Nội vụ", string(vanthu.RoleLeader)},
		{"Đỗ Thị Mai", "Chuyên viên Phòng Công chức", string(vanthu.RoleSecretary)},
	} {
		do("add a team member", chromedp.Tap(css(`[data-add="team"]`)))
		do("team name", chromedp.SendKeys(css(row("team", i+1)+` [data-f="name"]`), m.name))
		typeInto(row("team", i+1)+` [data-f="position"]`, m.position)
		choose(row("team", i+1)+` [data-f="role"]`, m.role, false)
	}
	do("add a representative", chromedp.Tap(css(`[data-add="representatives"]`)))
	do("representative", chromedp.SendKeys(css(row("representatives", 1)+` [data-f="name"]`), "Võ Văn Tâm"))
	typeInto(row("representatives", 1)+` [data-f="position"]`, "Phó Giám đốc Sở Tài chính")
	for _, c := range []struct {
		name string
		n    int
	}{{"listed", 30}, {"present", 25}, {"absent_leave", 2}, {"absent_assignment", 1}, {"absent_unexcused", 2}, {"late", 1}} {
		typeInto(fmt.Sprintf(`input[name="attendance.%s"]`, c.name), strconv.Itoa(c.n))
	}
	poll("attendance adds up", `document.getElementById('attendance-check').textContent === 'Số liệu khớp: 25 có mặt + 5 vắng = 30.' &&
		document.getElementById('rate-present').textContent === 'Có mặt 25/30 (83,33%)'`)
	// Checklist: badges not worn, drinking seen, the rest checked fine.
	for i, result := range []vanthu.CheckResult{vanthu.CheckFail, vanthu.CheckPass, vanthu.CheckFail, vanthu.CheckPass} {
		do("checklist", chromedp.Tap(css(row("checklist", i+1)+fmt.Sprintf(` input[value="%s"]`, result))))
	}

	// Reload midway, before the debounced save had its turn: nothing
	// typed is lost.
	do("reload", chromedp.Reload(), chromedp.WaitVisible(css("#inspection-form")))
	poll("what was typed survives the reload", fmt.Sprintf(`(function () {
		const v = s => (document.querySelector(s) || {}).value;
		const checked = i => (document.querySelector('[data-list="checklist"] > [data-row]:nth-child(' + i + ') [data-f="result"]:checked') || {}).value;
		return v('input[name="place"]') === %q && v('input[name="ended_at"]') === %q &&
			v('textarea[name="legal_basis"]').startsWith('Quyết định số 125/QĐ-SNV') &&
			document.querySelectorAll('[data-list="team"] > [data-row]').length === 2 &&
			v('%s [data-f="name"]') === 'Phạm Quốc Việt' && v('%s [data-f="role"]') === 'truong-doan' &&
			v('%s [data-f="role"]') === 'thu-ky' && v('%s [data-f="name"]') === 'Võ Văn Tâm' &&
			v('input[name="attendance.listed"]') === '30' && v('input[name="attendance.absent_unexcused"]') === '2' &&
			checked(1) === 'khong-dat' && checked(3) === 'khong-dat' && checked(4) === 'dat';
	})()`, place, ended.Format("2006-01-02T15:04"),
		row("team", 1), row("team", 1), row("team", 2), row("representatives", 1)))
	poll("saved after the reload", saved)

	// Three persons in violation, two kinds of violation, added with the
	// form's own button.
	persons := []struct{ name, position, section, violation, explanation string }{
		{"Nguyễn Văn Thưởng", "Chuyên viên", "Phòng Quản lý ngân sách", "khong-deo-the", "Quên thẻ ở nhà."},
		{"Lê Thị Hoà", "Kế toán viên", "Văn phòng Sở", "khong-deo-the", ""},
		{"Trần Minh Khôi", "Chuyên viên", "Phòng Tài chính đầu tư", "ruou-bia", "Uống bia trong bữa trưa."},
	}
	for i, p := range persons {
		r := row("findings", i+1)
		do("add a person", chromedp.Tap(css("#add-finding")), chromedp.WaitVisible(css(r+` [data-f="name"]`)))
		if !eval(fmt.Sprintf(`document.activeElement === document.querySelector('%s [data-f="name"]')`, r)) {
			t.Errorf("person %d: the name field is not focused after adding", i+1)
		}
		do("person's name", chromedp.SendKeys(css(r+` [data-f="name"]`), p.name))
		typeInto(r+` [data-f="position"]`, p.position)
		typeInto(r+` [data-f="section"]`, p.section)
		choose(r+` [data-f="violation"]`, p.violation, false)
		if p.explanation != "" {
			do("person's explanation", chromedp.SendKeys(css(r+` [data-f="explanation"]`), p.explanation))
		}
	}
	do("the unit's explanation and the conclusions",
		chromedp.SendKeys(css(`textarea[name="unit_explanation"]`), "Đơn vị tiếp thu, sẽ chấn chỉnh ngay."),
		chromedp.SendKeys(css(`textarea[name="conclusions"]`), "Đơn vị chưa chấp hành nghiêm kỷ luật, kỷ cương hành chính."),
	)
	for i, h := range []struct{ code, person string }{{"kiem-diem", "Trần Minh Khôi"}, {"nhac-nho", ""}} {
		do("add a handling", chromedp.Tap(css(`[data-add="handling"]`)))
		choose(row("handling", i+1)+` [data-f="code"]`, h.code, false)
		if h.person != "" {
			do("handling's person", chromedp.SendKeys(css(row("handling", i+1)+` [data-f="person"]`), h.person))
		}
	}
	setInput(`input[name="report_deadline"]`, now.AddDate(0, 0, 10).Format("2006-01-02"))
	poll("all saved", saved+` && document.getElementById('save-problems').hidden`)

	// What the server holds is what was typed.
	var rec vanthu.Inspection
	apiGet(bctx, t, fmt.Sprintf("/api/v1/inspections/%d", id), &rec)
	if rec.UnitName != unit || rec.Place != place || len(rec.Team) != 2 || len(rec.Representatives) != 1 ||
		len(rec.Findings) != 3 || len(rec.Handling) != 2 || rec.ReportDeadline == nil || rec.EndedAt == nil ||
		!rec.EndedAt.Equal(ended) || rec.Attendance.Listed != 30 || rec.Attendance.Present != 25 {
		t.Fatalf("stored record: %+v", rec)
	}
	for i, p := range persons {
		if f := rec.Findings[i]; f.Name != p.name || f.Violation != p.violation || f.Section != p.section {
			t.Errorf("person %d stored as %+v", i+1, f)
		}
	}

	// startDev seeds no sample quarters, so these are the first minutes
	// of the team's series. That a number follows the minutes already
	// issued is the store's to test (testIssueMinutes in
	// internal/store/minutes_test.go).
	const first = "01/BB-ĐKT"

	// Finalize with the page's button, pressed twice in a row as an
	// impatient thumb does: two requests reach the server.
	if !eval(`(function () {
		let asked = 0;
		const f = window.fetch;
		window.fetch = function (url, opts) {
			if (String(url).endsWith('/finalize') && opts && opts.method === 'POST') { asked++; }
			return f.apply(this, arguments);
		};
		const b = document.getElementById('finalize-button');
		b.click(); b.click();
		return asked === 2;
	})()`) {
		t.Fatalf("two presses of the finalize button did not send two requests (%s)", pageState())
	}
	// The page says the minutes are being made, reloads itself until they
	// are, then shows the record finalized with the signed document.
	waitPage(bctx, t, 90*time.Second, "the finalized record", `(function () {
		const s = document.getElementById('inspection-state');
		return !!s && s.textContent.startsWith('Đã hoàn tất') && !!document.querySelector('#inspection-head a[href^="/documents/"]');
	})()`, pageState)
	do("open the signed minutes",
		chromedp.Tap(css(`#inspection-head a[href^="/documents/"]`)),
		chromedp.WaitVisible(css("#doc-symbol")),
	)
	poll("the minutes number and the PDF link", `/^\d+\/BB-/.test(document.getElementById('doc-symbol').textContent.trim()) &&
		!!document.querySelector('a.button[href$="/pdf"]')`)
	symbol, err := chromedp.Run(bctx, chromedp.Text(css("#doc-symbol")))
	if err != nil {
		t.Fatal(err)
	}
	symbol = strings.TrimSpace(symbol)
	if symbol != first {
		t.Errorf("minutes number %q, want %s (the first of the series)", symbol, first)
	}

	// Download the PDF through the browser's own session.
	b64, err := chromedp.Run(bctx, chromedp.Evaluate[string](`(async function () {
		const r = await fetch(document.querySelector('a.button[href$="/pdf"]').href, {credentials: 'same-origin'});
		if (!r.ok || r.headers.get('Content-Type') !== 'application/pdf') { throw new Error('HTTP ' + r.status + ' ' + r.headers.get('Content-Type')); }
		const b = new Uint8Array(await r.arrayBuffer());
		let s = '';
		for (let i = 0; i < b.length; i += 0x8000) { s += String.fromCharCode.apply(null, b.subarray(i, i + 0x8000)); }
		return btoa(s);
	})()`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("download the PDF: %v", err)
	}
	pdf, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || !bytes.HasPrefix(pdf, []byte("%PDF-")) {
		t.Fatalf("the download is not a PDF (%v): %.40q", err, pdf)
	}

	// One number, one document: the second press did no second minutes.
	var docs struct {
		Documents []vanthu.Document `json:"documents"`
	}
	apiGet(bctx, t, "/api/v1/documents?kind=minutes", &docs)
	apiGet(bctx, t, fmt.Sprintf("/api/v1/inspections/%d", id), &rec)
	made := docs.Documents
	if len(made) != 1 || made[0].Symbol != symbol || rec.State != vanthu.InspectionFinalized || rec.DocumentID != made[0].ID {
		t.Errorf("after two presses: %d new minutes documents %+v, record %s with document %d; want one, %s", len(made), made, rec.State, rec.DocumentID, symbol)
	}
	// The second press navigates again and the browser drops the first
	// navigation's request: a cancelled request is not a failure.
	for _, l := range strings.Split(logs.String(), "\n") {
		if strings.Contains(l, "level=ERROR") && !strings.Contains(l, "context canceled") {
			t.Errorf("the server logged an error: %s", l)
		}
	}

	// The signed minutes: valid, the whole document, the right content.
	sig := testenv.RunPDFTool(t, pdf, true, "pdfsig")
	if !strings.Contains(sig, "Signature Validation: Signature is Valid.") || !strings.Contains(sig, "Total document signed") ||
		len(regexp.MustCompile(`(?m)^Signature #\d+:`).FindAllString(sig, -1)) != 1 {
		t.Errorf("pdfsig on the downloaded minutes:\n%s", sig)
	}
	text := strings.Join(strings.Fields(testenv.RunPDFTool(t, pdf, false, "pdftotext")), " ")
	for _, want := range append([]string{symbol, unit, "Phạm Quốc Việt", "Võ Văn Tâm", "Không đeo thẻ công chức, viên chức", "Uống rượu, bia trong giờ làm việc"},
		persons[0].name, persons[1].name, persons[2].name) {
		if !strings.Contains(text, want) {
			t.Errorf("the minutes lack %q:\n%s", want, text)
		}
	}
	dir := t.TempDir()
	signedPath := filepath.Join(dir, "bien-ban.pdf")
	if err := os.WriteFile(signedPath, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	// The dev CA the banner names is the trust anchor the minutes chain to.
	if out, err := runCmd(t, nil, "verify", "--roots", caCert, signedPath); err != nil || !strings.Contains(out, "Kết quả: HỢP LỆ") ||
		!strings.Contains(out, "toàn bộ tài liệu") || !strings.Contains(out, "tin cậy (dẫn tới chứng thư gốc đã cấu hình)") {
		t.Errorf("vanthu verify on the downloaded minutes: %v\n%s", err, out)
	}

	// One byte of the signed content changed: inside the first signed
	// range, in a content stream (the file still parses), away from the
	// signature's own /Contents.
	br := regexp.MustCompile(`/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]`).FindSubmatch(pdf)
	if br == nil {
		t.Fatal("no /ByteRange in the signed PDF")
	}
	firstEnd, _ := strconv.Atoi(string(br[2]))
	at := bytes.Index(pdf, []byte("stream\n")) + len("stream\n") + 16
	if at < len("stream\n")+16 || at >= firstEnd {
		t.Fatalf("no stream byte inside the signed range [0, %d)", firstEnd)
	}
	tampered := bytes.Clone(pdf)
	tampered[at] ^= 0x01
	sig = testenv.RunPDFTool(t, tampered, true, "pdfsig")
	if strings.Contains(sig, "Signature is Valid") || !strings.Contains(sig, "Signature Validation: Digest Mismatch.") {
		t.Errorf("pdfsig on the changed minutes:\n%s", sig)
	}
	tamperedPath := filepath.Join(dir, "bien-ban-sua.pdf")
	if err := os.WriteFile(tamperedPath, tampered, 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := runCmd(t, nil, "verify", "--roots", caCert, tamperedPath); err == nil || !strings.Contains(out, "Kết quả: KHÔNG HỢP LỆ") || !strings.Contains(out, "mã băm không khớp") {
		t.Errorf("vanthu verify on the changed minutes: %v, want an error\n%s", err, out)
	}
}

// apiGet reads an API resource in the browser's session into v.
func apiGet(bctx context.Context, t *testing.T, path string, v any) {
	t.Helper()
	body, err := chromedp.Run(bctx, chromedp.Evaluate[string](fmt.Sprintf(`(async function () {
		const r = await fetch(%q, {credentials: 'same-origin', headers: {'Accept': 'application/json'}});
		if (!r.ok) { throw new Error('HTTP ' + r.status + ' ' + await r.text()); }
		return await r.text();
	})()`, path), chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	if err := json.Unmarshal([]byte(body), v); err != nil {
		t.Fatalf("GET %s: %v\n%s", path, err, body)
	}
}

// waitPage polls the DOM until cond holds across the page's own reloads:
// a navigation ends one poll, the next starts on the new page.
func waitPage(bctx context.Context, t *testing.T, d time.Duration, what, cond string, state func() string) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		_, err := chromedp.Run(bctx, chromedp.Steps(
			chromedp.WaitReady(chromedp.CSS("body")),
			chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
				_, err := chromedp.Poll[bool](cond, chromedp.WithPollingInterval(200*time.Millisecond), chromedp.WithPollingTimeout(5*time.Second))(ctx, tg)
				return err
			}),
		))
		if err == nil {
			return
		}
		if time.Now().After(deadline) || bctx.Err() != nil {
			t.Fatalf("no %s after %s: %v (%s)", what, d, err, state())
		}
	}
}
