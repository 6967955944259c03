package main

import (
	"context"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/sonoivu/vanthu"
	"github.com/sonoivu/vanthu/internal/sign"
)

// signCmd adds a digital signature to a PDF: `vanthu sign (--key KEY --cert
// CERT | --p12 FILE [--password-file F]) [--reason R] [--location L]
// in.pdf out.pdf`. The .p12 password comes from --password-file or
// VANTHU_SIGN_PASSWORD, never from the command line, where other users of
// the machine could read it.
func signCmd(ctx context.Context, args []string, getenv func(string) string, out, errOut io.Writer) error {
	fs := flag.NewFlagSet("vanthu sign", flag.ContinueOnError)
	fs.SetOutput(errOut)
	keyPath := fs.String("key", "", "private key, PEM (with --cert)")
	certPath := fs.String("cert", "", "certificate, PEM; may hold the issuer chain too (with --key)")
	p12Path := fs.String("p12", "", "PKCS#12 file (.p12, .pfx) with the key and certificates")
	pwFile := fs.String("password-file", "", "file holding the .p12 password (default: $VANTHU_SIGN_PASSWORD)")
	reason := fs.String("reason", "", `reason for signing, e.g. "Ký biên bản kiểm tra"`)
	location := fs.String("location", "", `place of signing, e.g. "Vĩnh Long"`)
	name := fs.String("name", "", "signer's name shown by PDF viewers (default: the certificate's common name)")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	const usage = "usage: vanthu sign (--key KEY --cert CERT | --p12 FILE [--password-file F]) [--reason R] [--location L] in.pdf out.pdf"
	if len(pos) != 2 {
		return errors.New(usage)
	}
	in, outPath := pos[0], pos[1]

	var signer *sign.Signer
	switch {
	case *p12Path != "" && *keyPath == "" && *certPath == "":
		password := getenv("VANTHU_SIGN_PASSWORD")
		if *pwFile != "" {
			b, err := os.ReadFile(*pwFile)
			if err != nil {
				return &vanthu.Error{Code: vanthu.EInvalid, Message: fmt.Sprintf("Tệp %s: không đọc được tệp mật khẩu.", *pwFile), Err: err}
			}
			password = strings.TrimRight(string(b), "\r\n")
		}
		signer, err = sign.LoadPKCS12(*p12Path, password)
	case *p12Path == "" && *keyPath != "" && *certPath != "":
		signer, err = sign.LoadPEM(*keyPath, *certPath)
	default:
		return errors.New("sign: give --p12 FILE, or both --key KEY and --cert CERT\n" + usage)
	}
	if err != nil {
		return err
	}

	doc, err := os.ReadFile(in)
	if err != nil {
		return &vanthu.Error{Code: vanthu.EInvalid, Message: fmt.Sprintf("Tệp %s: không đọc được tệp.", in), Err: err}
	}
	signed, err := signer.Sign(ctx, doc, sign.Options{Name: *name, Reason: *reason, Location: *location})
	if err != nil {
		return fmt.Errorf("%s: %w", in, err)
	}
	if err := writeAtomically(outPath, signed); err != nil {
		return err
	}
	c := signer.Certificate()
	fmt.Fprintf(out, "Đã ký %s → %s (%d byte)\n  Người ký: %s\n", in, outPath, len(signed), signerLine(c.Subject.CommonName, strings.Join(c.Subject.Organization, ", ")))
	return nil
}

// writeAtomically writes data to path through a temporary file in the same
// directory, so that a failed write leaves no partial output and path may
// be the input file itself.
func writeAtomically(path string, data []byte) (err error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return &vanthu.Error{Code: vanthu.EInvalid, Message: fmt.Sprintf("Tệp %s: không ghi được.", path), Err: err}
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err := tmp.Write(data); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// verifyCmd checks the signatures of a PDF: `vanthu verify [--roots CA.pem]
// file.pdf`. It prints one block per signature and succeeds only when the
// report is OK: every signature valid, the document unchanged after them,
// and, with --roots, every certificate chaining to one of the roots.
func verifyCmd(ctx context.Context, args []string, out, errOut io.Writer) error {
	fs := flag.NewFlagSet("vanthu verify", flag.ContinueOnError)
	fs.SetOutput(errOut)
	rootsPath := fs.String("roots", "", "trust anchors, PEM certificates (e.g. the dev CA that 'vanthu dev' prints)")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return errors.New("usage: vanthu verify [--roots CA.pem] file.pdf")
	}
	path := pos[0]
	var roots *x509.CertPool
	if *rootsPath != "" {
		if roots, err = sign.LoadRoots(*rootsPath); err != nil {
			return err
		}
	}
	doc, err := os.ReadFile(path)
	if err != nil {
		return &vanthu.Error{Code: vanthu.EInvalid, Message: fmt.Sprintf("Tệp %s: không đọc được tệp.", path), Err: err}
	}
	rep, err := sign.Verify(ctx, doc, roots)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	printReport(out, path, rep)
	if !rep.OK() {
		return vanthu.Errorf(vanthu.EInvalid, "Tệp %s: chữ ký số KHÔNG hợp lệ hoặc tài liệu đã bị thay đổi sau khi ký.", path)
	}
	return nil
}

// printReport writes one block per signature. The labels are stable: scripts
// may read them.
func printReport(w io.Writer, path string, rep sign.Report) {
	fmt.Fprintf(w, "%s: %d chữ ký số\n", path, len(rep.Signatures))
	for i, s := range rep.Signatures {
		fmt.Fprintf(w, "\nChữ ký %d/%d", i+1, len(rep.Signatures))
		if s.Field != "" {
			fmt.Fprintf(w, " (%s)", s.Field)
		}
		fmt.Fprintln(w)
		line := func(label, value string) {
			if value != "" {
				fmt.Fprintf(w, "  %-14s %s\n", label+":", value)
			}
		}
		line("Người ký", signerLine(s.SignerName, s.SignerOrg))
		if !s.Time.IsZero() {
			line("Thời gian ký", s.Time.In(vanthu.Location).Format(time.RFC3339))
		}
		if s.Valid {
			line("Chữ ký", "hợp lệ")
		} else {
			line("Chữ ký", "KHÔNG hợp lệ: "+s.Problem)
		}
		cover := s.Coverage.String()
		if s.Change != "" {
			cover += " (" + s.Change + ")"
		}
		line("Phạm vi ký", cover)
		chain := s.Chain.String()
		if s.ChainProblem != "" {
			chain += ": " + s.ChainProblem
		}
		line("Chứng thư", chain)
		line("Lý do", s.Reason)
		line("Nơi ký", s.Location)
	}
	verdict := "HỢP LỆ"
	if !rep.OK() {
		verdict = "KHÔNG HỢP LỆ"
	}
	fmt.Fprintf(w, "\nKết quả: %s\n", verdict)
}

func signerLine(name, org string) string {
	if org == "" {
		return name
	}
	return name + " — " + org
}

// parseInterleaved parses flags wherever they stand among the positional
// arguments ("vanthu verify file.pdf --roots ca.pem" too); "--" ends the
// flags.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if len(args) > len(rest) && args[len(args)-len(rest)-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// devSignFiles are the development signing files `vanthu dev` keeps in
// VANTHU_DATA_DIR/sign.
type devSignFiles struct {
	caCert, p12, passwordFile string
}

// devSigning makes (first start) or finds the development CA and the
// inspector's certificate.
func devSigning(dataDir string) (devSignFiles, error) {
	dir := filepath.Join(dataDir, "sign")
	ca, p12, _, err := sign.DevCA(dir)
	if err != nil {
		return devSignFiles{}, fmt.Errorf("development signing certificates in %s: %w", dir, err)
	}
	return devSignFiles{caCert: ca, p12: p12, passwordFile: sign.DevPasswordPath(dir)}, nil
}

// describe writes the banner lines of vanthu dev about signing.
func (f devSignFiles) describe(b *strings.Builder) {
	fmt.Fprintf(b, "  Signing:      inspector %q: %s (password in %s)\n", sign.DevInspectorName, f.p12, f.passwordFile)
	fmt.Fprintf(b, "                dev CA (trust anchor): %s\n", f.caCert)
	fmt.Fprintf(b, "                vanthu sign --p12 %s --password-file %s in.pdf out.pdf\n", f.p12, f.passwordFile)
	fmt.Fprintf(b, "                vanthu verify --roots %s out.pdf\n", f.caCert)
}
