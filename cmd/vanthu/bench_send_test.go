package main

import (
	"bytes"
	"context"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/sonoivu/vanthu/internal/testenv"
)

// TestBenchSend runs `vanthu bench send` small, on the embedded defaults
// and on real servers, and checks its RESULT line: every dispatch sent,
// none twice, both rates measured.
func TestBenchSend(t *testing.T) {
	cases := map[string]func(t *testing.T) []string{
		"embedded": func(*testing.T) []string { return nil },
		"redis-server+postgres": func(t *testing.T) []string {
			return []string{"--redis", "redis://" + testenv.Redis(t) + "/0", "--database", testenv.Postgres(t)}
		},
	}
	for name, extra := range cases {
		t.Run(name, func(t *testing.T) {
			const units = 200
			args := append([]string{"bench", "send", "--units", strconv.Itoa(units)}, extra(t)...)
			res := runBench(t, args)
			if res["units"] != units || res["lost"] != 0 || res["duplicates"] != 0 {
				t.Errorf("RESULT %v: want units=%d lost=0 duplicates=0", res, units)
			}
			for _, k := range []string{"dispatches_per_s", "raw_per_s", "ratio", "peak_mb"} {
				if res[k] <= 0 {
					t.Errorf("RESULT %s=%v, want a positive measure", k, res[k])
				}
			}
		})
	}
}

// TestBenchSendScale runs the benchmark at VANTHU_BENCH_SEND_UNITS units
// on redis-server and PostgreSQL, to measure rather than to check; it is
// skipped unless that variable is set.
func TestBenchSendScale(t *testing.T) {
	n := os.Getenv("VANTHU_BENCH_SEND_UNITS")
	if n == "" {
		t.Skip("set VANTHU_BENCH_SEND_UNITS to measure bench send on redis-server and PostgreSQL")
	}
	res := runBench(t, []string{"bench", "send", "--units", n, "--redis", "redis://" + testenv.Redis(t) + "/0", "--database", testenv.Postgres(t)})
	if res["lost"] != 0 || res["duplicates"] != 0 {
		t.Errorf("RESULT %v: want lost=0 duplicates=0", res)
	}
}

// TestBenchReport runs `vanthu bench report` small on SQLite and on
// PostgreSQL: the detail sheet streams every person, the PDF has pages,
// and a database that is not empty is refused.
func TestBenchReport(t *testing.T) {
	cases := map[string]func(t *testing.T) []string{
		"sqlite":   func(*testing.T) []string { return nil },
		"postgres": func(t *testing.T) []string { return []string{"--database", testenv.Postgres(t)} },
	}
	for name, extra := range cases {
		t.Run(name, func(t *testing.T) {
			db := extra(t)
			args := append([]string{"bench", "report", "--units", "20", "--inspections", "30", "--persons", "301"}, db...)
			res := runBench(t, args)
			// 301 persons, plus at least the 30 inspections of Biểu 1.
			if res["xlsx_rows"] < 301+30 || res["pdf_pages"] < 2 || res["seconds"] <= 0 || res["peak_mb"] <= 0 {
				t.Errorf("RESULT %v", res)
			}
			if len(db) > 0 {
				var out, errOut bytes.Buffer
				err := run(context.Background(), args, func(string) string { return "" }, strings.NewReader(""), &out, &errOut)
				if err == nil || !strings.Contains(err.Error(), "must be empty") {
					t.Errorf("second run on the same database: %v", err)
				}
			}
		})
	}
}

// runBench runs `vanthu bench NAME …` (args) and returns the fields of
// its last line, which must be "RESULT NAME k=v …".
func runBench(t *testing.T, args []string) map[string]float64 {
	t.Helper()
	var out, errOut bytes.Buffer
	if err := run(context.Background(), args, func(string) string { return "" }, strings.NewReader(""), &out, &errOut); err != nil {
		t.Fatalf("%s: %v\n%s\n%s", strings.Join(args, " "), err, out.String(), errOut.String())
	}
	t.Logf("\n%s", out.String())
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	f := strings.Fields(lines[len(lines)-1])
	if len(f) < 2 || f[0] != "RESULT" || f[1] != args[1] {
		t.Fatalf("last line %q is not a RESULT %s line", lines[len(lines)-1], args[1])
	}
	res := map[string]float64{}
	for _, kv := range f[2:] {
		k, v, ok := strings.Cut(kv, "=")
		x, err := strconv.ParseFloat(v, 64)
		if !ok || err != nil {
			t.Fatalf("RESULT field %q is not key=number", kv)
		}
		res[k] = x
	}
	return res
}
