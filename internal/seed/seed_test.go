package seed

import (
	"testing"

	"github.com/sonoivu/vanthu"
)

func TestSampleProvinceIsValid(t *testing.T) {
	units := Units()
	if len(units) < 40 {
		t.Fatalf("%d units, want at least 40", len(units))
	}
	codes := map[string]bool{}
	emails := map[string]bool{}
	groups := map[vanthu.UnitGroup]int{}
	for _, u := range units {
		if err := u.Validate(); err != nil {
			t.Errorf("%s: %v", u.Code, err)
		}
		if codes[u.Code] {
			t.Errorf("duplicate code %s", u.Code)
		}
		codes[u.Code] = true
		if emails[u.Emails[0]] {
			t.Errorf("duplicate e-mail %s", u.Emails[0])
		}
		emails[u.Emails[0]] = true
		groups[u.Group]++
	}
	for _, u := range units {
		if u.ParentCode != "" && !codes[u.ParentCode] {
			t.Errorf("%s: unknown parent %s", u.Code, u.ParentCode)
		}
	}
	for _, g := range []vanthu.UnitGroup{vanthu.GroupDepartment, vanthu.GroupCommune, vanthu.GroupPublic} {
		if groups[g] < 5 {
			t.Errorf("group %s has %d units", g, groups[g])
		}
	}
	for _, a := range Accounts() {
		u := a.User
		if err := u.Validate(); err != nil {
			t.Errorf("account %s: %v", u.Username, err)
		}
	}
}
