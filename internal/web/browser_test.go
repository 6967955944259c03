package web_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/sonoivu/vanthu"
	"github.com/sonoivu/vanthu/internal/testenv"
)

// TestBrowserLogin drives a real headless Chromium: log in through the form
// as a clerk and find a seeded Vietnamese unit name in the units table.
func TestBrowserLogin(t *testing.T) {
	chromium := testenv.Chromium(t)
	f := newFixture(t)
	ctx := context.Background()
	for _, u := range []vanthu.Unit{
		{Code: "SNV", Name: "Sở Nội vụ", Emails: []string{"snv@vinhlong.gov.vn"}, Group: vanthu.GroupDepartment, Order: 1, Active: true},
		{Code: "XA-LONG-HO", Name: "Ủy ban nhân dân xã Long Hồ", Emails: []string{"longho@vinhlong.gov.vn"}, Group: vanthu.GroupCommune, Order: 2, Active: true},
		{Code: "TT-DVC", Name: "Trung tâm Phục vụ hành chính công tỉnh", Emails: []string{"dvc@vinhlong.gov.vn"}, Group: vanthu.GroupPublic, Order: 3, Active: true},
	} {
		if err := f.store.CreateUnit(ctx, &u, "test"); err != nil {
			t.Fatal(err)
		}
	}

	bctx := newBrowser(t, chromium, 60*time.Second)

	err := chromedp.Do(bctx,
		chromedp.Navigate(f.http.URL+"/"),
		// Not logged in: / → /units → /login?next=%2Funits
		chromedp.WaitVisible(chromedp.ID("username")),
		chromedp.SendKeys(chromedp.ID("username"), "u-clerk"),
		chromedp.SendKeys(chromedp.ID("password"), password),
		chromedp.Click(chromedp.CSS("form.login button[type=submit]")),
		chromedp.WaitVisible(chromedp.ID("units")),
	)
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
	loc, err := chromedp.Run(bctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	table, err := chromedp.Run(bctx, chromedp.Text(chromedp.ID("units")))
	if err != nil {
		t.Fatal(err)
	}
	header, err := chromedp.Run(bctx, chromedp.Text(chromedp.CSS("header.top")))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(loc, "/units") {
		t.Errorf("landed on %s, want /units", loc)
	}
	for _, want := range []string{"Ủy ban nhân dân xã Long Hồ", "Sở Nội vụ", "Trung tâm Phục vụ hành chính công tỉnh"} {
		if !strings.Contains(table, want) {
			t.Errorf("units table lacks %q:\n%s", want, table)
		}
	}
	if !strings.Contains(header, "Người dùng Văn thư") || !strings.Contains(header, "Đăng xuất") {
		t.Errorf("header = %q", header)
	}

	// Logging out through the button ends the session.
	err = chromedp.Do(bctx,
		chromedp.Click(chromedp.CSS("button.link")),
		chromedp.WaitVisible(chromedp.ID("username")),
		chromedp.Navigate(f.http.URL+"/units"),
		chromedp.WaitVisible(chromedp.ID("username")),
	)
	if err != nil {
		t.Fatalf("logout: %v", err)
	}
}
