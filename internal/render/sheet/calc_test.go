package sheet

import (
	"maps"
	"slices"
	"testing"
)

// TestReadColumns: the memo key of a row's formulas holds every column
// they read; a column left out would hand one row's result to another.
func TestReadColumns(t *testing.T) {
	tests := []struct {
		formula string
		want    []int
	}{
		{"IF(E5>0,F5/E5,0)", []int{5, 6}},
		{"SUM(C5:G5)", []int{3, 4, 5, 6, 7}},
		{"$C$5-D$5", []int{3, 4}},
		{"SUM(G5:C5)+AA5", []int{3, 4, 5, 6, 7, 27}},
		{`IF(H5="Có",1,0)`, []int{8}},
		{"1+2", nil},
	}
	for _, tt := range tests {
		got := slices.Sorted(maps.Keys(readColumns(tt.formula)))
		if !slices.Equal(got, tt.want) {
			t.Errorf("readColumns(%q) = %v, want %v", tt.formula, got, tt.want)
		}
	}
	for _, f := range []string{"INDIRECT(\"E\"&ROW())", "offset(C5,0,1)", "INDEX(C5:G5,1,2)"} {
		if !indirect.MatchString(f) {
			t.Errorf("%q reads cells its text does not name, yet is memoised", f)
		}
	}
}
