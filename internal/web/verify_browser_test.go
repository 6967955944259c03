package web_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/sonoivu/vanthu"
	"github.com/sonoivu/vanthu/internal/sign"
	"github.com/sonoivu/vanthu/internal/testenv"
)

// TestBrowserVerify drives headless Chromium as a phone of someone who
// received signed minutes: without logging in, pick the PDF in the form and
// read the verdict; then the same with a copy changed after signing.
func TestBrowserVerify(t *testing.T) {
	chromium := testenv.Chromium(t)
	m := newSignedMinutes(t)
	f := newFixture(t, withRoots(m.roots))
	dir := t.TempDir()
	good, bad := filepath.Join(dir, "bien-ban-kiem-tra.pdf"), filepath.Join(dir, "bien-ban-da-sua.pdf")
	if err := os.WriteFile(good, m.pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, tampered(t, m.pdf), 0o600); err != nil {
		t.Fatal(err)
	}

	bctx := newBrowser(t, chromium, 90*time.Second)
	upload := func(path string) (verdict, banner, first string) {
		t.Helper()
		// The verdict of the previous upload goes first, so that waiting
		// for #verdict waits for the new page.
		if _, err := chromedp.Run(bctx, chromedp.Evaluate[bool](`(() => { document.getElementById('verdict')?.remove(); return true })()`)); err != nil {
			t.Fatal(err)
		}
		if err := chromedp.Do(bctx,
			chromedp.WaitVisible(chromedp.ID("verify-file")),
			chromedp.SetUploadFiles(chromedp.ID("verify-file"), []string{path}),
			chromedp.Click(chromedp.ID("verify-button")),
			chromedp.WaitVisible(chromedp.ID("verdict")),
		); err != nil {
			t.Fatalf("upload %s: %v", filepath.Base(path), err)
		}
		var err error
		if verdict, err = chromedp.Run(bctx, chromedp.Evaluate[string](`document.getElementById('verdict').dataset.verdict`)); err != nil {
			t.Fatal(err)
		}
		if banner, err = chromedp.Run(bctx, chromedp.Text(chromedp.ID("verdict"))); err != nil {
			t.Fatal(err)
		}
		if first, err = chromedp.Run(bctx, chromedp.Text(chromedp.ID("sig-1"))); err != nil {
			t.Fatal(err)
		}
		return verdict, banner, first
	}

	if err := chromedp.Do(bctx,
		chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(3), chromedp.EmulateMobile),
		chromedp.Navigate(f.http.URL+"/xac-minh"),
	); err != nil {
		t.Fatalf("open the page: %v", err)
	}
	verdict, banner, first := upload(good)
	if verdict != "valid" || !strings.Contains(banner, "Chữ ký số hợp lệ") {
		t.Errorf("signed minutes: verdict %q, banner %q", verdict, banner)
	}
	for _, want := range []string{sign.DevInspectorName, sign.DevInspectorOrg, m.at.In(vanthu.Location).Format("02/01/2006 15:04"), "Chữ ký hợp lệ", "Văn bản không bị thay đổi sau khi ký", "Chứng thư số do cơ quan tin cậy cấp"} {
		if !strings.Contains(first, want) {
			t.Errorf("signature block lacks %q:\n%s", want, first)
		}
	}
	info, _ := chromedp.Run(bctx, chromedp.Text(chromedp.ID("verify-file-info")))
	if !strings.Contains(info, "bien-ban-kiem-tra.pdf") {
		t.Errorf("file line = %q", info)
	}
	fits, err := chromedp.Run(bctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth <= window.innerWidth`))
	if err != nil || !fits {
		t.Errorf("the report is wider than the phone's screen (%v)", err)
	}

	// The form under the report checks another file.
	verdict, banner, first = upload(bad)
	if verdict != "invalid" || !strings.Contains(banner, "Chữ ký số không hợp lệ") || !strings.Contains(first, "Chữ ký không hợp lệ: mã băm không khớp") {
		t.Errorf("changed minutes: verdict %q, banner %q, signature:\n%s", verdict, banner, first)
	}
}
