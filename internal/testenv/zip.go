package testenv

import (
	"archive/zip"
	"bytes"
	"io"
	"strings"
	"testing"
)

// ZipParts returns, concatenated in archive order, the contents of the
// parts of an OOXML file (an .xlsx) whose names start with prefix
// ("xl/charts/chart", "xl/worksheets/sheet"), for tests that read what a
// library does not expose. It fails the test when no part matches.
func ZipParts(t testing.TB, file []byte, prefix string) string {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(file), int64(len(file)))
	if err != nil {
		t.Fatalf("read the archive: %v", err)
	}
	var all strings.Builder
	for _, zf := range zr.File {
		if !strings.HasPrefix(zf.Name, prefix) {
			continue
		}
		rc, err := zf.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatalf("read %s: %v", zf.Name, err)
		}
		all.Write(b)
	}
	if all.Len() == 0 {
		t.Fatalf("no part %s* in the archive", prefix)
	}
	return all.String()
}
