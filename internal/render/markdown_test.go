package render

import (
	"fmt"
	"strings"
	"testing"
)

// texts returns the text of each block; tables as "table(rows)".
func texts(blocks []block) []string {
	var out []string
	for _, b := range blocks {
		if b.table != nil {
			out = append(out, fmt.Sprintf("table(%d)", len(b.table.rows)))
			continue
		}
		out = append(out, spansText(b.text.spans))
	}
	return out
}

// parse parses a body that must have no problems.
func parse(t *testing.T, md string) []block {
	t.Helper()
	blocks, ps := parseBody(md)
	if len(ps) > 0 {
		t.Fatalf("parseBody(%q): problems %v", md, ps)
	}
	return blocks
}

func TestParseBody(t *testing.T) {
	tests := []struct {
		name, md string
		want     []string
	}{
		{"end mark appended", "Đoạn một.\n\nĐoạn cuối", []string{"Đoạn một.", "Đoạn cuối./."}},
		{"end mark after full stop", "Trân trọng.", []string{"Trân trọng./."}},
		{"end mark kept", "Trân trọng./.", []string{"Trân trọng./."}},
		{"end mark after a table", "| A | B |\n|---|---|\n| 1 | 2 |", []string{"table(1)", "./."}},
		{"escapes, entities and soft breaks", "Giá \\*tạm tính\\* &amp; phí\ndòng tiếp", []string{"Giá *tạm tính* & phí dòng tiếp./."}},
		{"hard break", "Dòng một  \nDòng hai.", []string{"Dòng một\nDòng hai./."}},
		{"points use the Vietnamese alphabet", "1. một\n2. hai\n3. ba\n4. bốn\n5. năm\n6. sáu", []string{"a) một", "b) hai", "c) ba", "d) bốn", "đ) năm", "e) sáu./."}},
		{"bullets", "- một\n- hai", []string{"- một", "- hai./."}},
		{"sections numbered unless they carry a number", "# Phần một\n\n### Mục tiêu\n\n### Nhiệm vụ\n\n### 5. Có số\n\n## Mục hai\n\n### Lại từ một\n\nHết",
			[]string{"PHẦN MỘT", "1. Mục tiêu", "2. Nhiệm vụ", "5. Có số", "Mục hai", "1. Lại từ một", "Hết./."}},
		{"raw html dropped", "Trước <b>giữa</b> sau\n\n<div>khối</div>\n", []string{"Trước giữa sau./."}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := texts(parse(t, tt.md))
			if strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestParseBodyStyles(t *testing.T) {
	b := parse(t, "Thường **đậm** *nghiêng* ***cả hai***")
	var got []string
	for _, s := range b[0].text.spans {
		got = append(got, fmt.Sprintf("%d:%s", s.style, s.text))
	}
	want := []string{"0:Thường ", "1:đậm", "0: ", "2:nghiêng", "0: ", "3:cả hai./."}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("spans = %q, want %q", got, want)
	}
	tb := parse(t, "## Mục\n\nx")[0].text
	if tb.spans[0].style != bold || tb.align != alignCenter {
		t.Errorf("## heading: style %d align %d, want bold centred", tb.spans[0].style, tb.align)
	}
}
