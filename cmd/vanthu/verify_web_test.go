package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sonoivu/vanthu/internal/config"
	"github.com/sonoivu/vanthu/internal/sign"
)

// TestVerifyRootsSetting: VANTHU_SIGN_ROOTS is read into the anchors the
// page checks chains against; unset is allowed (and logged), a file without
// certificates stops the server with the setting's name.
func TestVerifyRootsSetting(t *testing.T) {
	f := newSignFixture(t)
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))

	roots, err := signRoots(config.Config{}, logger)
	if roots != nil || err != nil || !strings.Contains(logs.String(), "VANTHU_SIGN_ROOTS is not set") {
		t.Errorf("unset: %v, %v, log %q", roots, err, logs.String())
	}

	notPEM := filepath.Join(t.TempDir(), "ca.pem")
	os.WriteFile(notPEM, []byte("không phải chứng thư"), 0o644)
	if _, err := signRoots(config.Config{SignRoots: notPEM}, logger); err == nil || !strings.Contains(err.Error(), "VANTHU_SIGN_ROOTS") {
		t.Errorf("a file without certificates: %v", err)
	}

	roots, err = signRoots(config.Config{SignRoots: f.ca}, logger)
	if err != nil {
		t.Fatal(err)
	}
	signed := filepath.Join(t.TempDir(), "ky.pdf")
	if out, err := runCmd(t, nil, "sign", "--p12", f.p12, "--password-file", f.pwFile, f.in, signed); err != nil {
		t.Fatalf("sign: %v\n%s", err, out)
	}
	rep, err := sign.Verify(context.Background(), []byte(readFile(t, signed)), roots)
	if err != nil || !rep.OK() || rep.Signatures[0].Chain != sign.ChainTrusted {
		t.Errorf("verified against the loaded anchors: %+v, %v", rep, err)
	}
}

// TestDevVerifyPage: in `vanthu dev` the verification page trusts the
// development CA without any setting, so minutes signed with the files the
// banner names verify as valid, without logging in.
func TestDevVerifyPage(t *testing.T) {
	data := t.TempDir()
	dev := startDev(t, map[string]string{"VANTHU_DATA_DIR": data}, 2*time.Minute)
	base, out := dev.base, dev.out
	if !answers(base + "/xac-minh")() {
		t.Fatal("no verification page")
	}
	ca := filepath.Join(data, "sign", "dev-ca.pem")
	if !strings.Contains(out.String(), base+"/xac-minh") || !strings.Contains(out.String(), ca) {
		t.Errorf("banner lacks the page or its anchor:\n%s", out.String())
	}

	f := newSignFixture(t)
	signed := filepath.Join(t.TempDir(), "ky.pdf")
	dir := filepath.Join(data, "sign")
	if o, err := runCmd(t, nil, "sign", "--p12", filepath.Join(dir, "inspector.p12"), "--password-file", sign.DevPasswordPath(dir), f.in, signed); err != nil {
		t.Fatalf("sign with the dev files: %v\n%s", err, o)
	}
	verify := func(pdf []byte) (int, map[string]any) {
		t.Helper()
		resp, err := http.Post(base+"/api/v1/verify", "application/pdf", bytes.NewReader(pdf))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var v map[string]any
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatalf("%s: %s", resp.Status, b)
		}
		return resp.StatusCode, v
	}
	if status, v := verify([]byte(readFile(t, signed))); status != http.StatusOK || v["ok"] != true || v["verdict"] != "valid" {
		t.Errorf("minutes signed by the dev inspector: %d %v", status, v)
	}
	// Signed by a certificate the dev CA did not issue: intact, untrusted.
	other := filepath.Join(t.TempDir(), "khac.pdf")
	if o, err := runCmd(t, nil, "sign", "--p12", f.p12, "--password-file", f.pwFile, f.in, other); err != nil {
		t.Fatalf("sign: %v\n%s", err, o)
	}
	if status, v := verify([]byte(readFile(t, other))); status != http.StatusOK || v["ok"] != false || v["verdict"] != "untrusted" {
		t.Errorf("minutes signed under another CA: %d %v", status, v)
	}
}
