package sign

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"time"

	"software.sslmate.com/src/go-pkcs12"
)

// Names of the development certificate authority and inspector.
const (
	DevCAName        = "vanthu dev CA — Sở Nội vụ (phát triển)"
	DevInspectorName = "Nguyễn Văn Kiểm"
	DevInspectorOrg  = "Đoàn kiểm tra Sở Nội vụ tỉnh Vĩnh Long"
)

// Files DevCA keeps in its directory.
const (
	devCACert      = "dev-ca.pem"
	devCAKey       = "dev-ca-key.pem"
	devInspector   = "inspector.p12"
	devInspectorPw = "inspector.password"
)

// DevPasswordPath is the file, beside the inspector's .p12 in dir, that
// holds its password (for `vanthu sign --password-file`).
func DevPasswordPath(dir string) string { return filepath.Join(dir, devInspectorPw) }

// oidDocumentSigning is the documentSigning extended key usage of RFC 9336,
// which Go's x509 has no constant for.
var oidDocumentSigning = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 36}

// DevCA makes, on its first call, a local certificate authority and an
// inspector's certificate issued by it, and keeps them in dir: the CA
// certificate (the trust anchor for `vanthu verify --roots`), its key, and
// the inspector's key and certificate chain as a PKCS#12 file with a
// generated password beside it. Later calls return the same files. For
// development and tests only: the CA key sits unprotected on disk.
func DevCA(dir string) (caCertPath, inspectorP12Path, password string, err error) {
	caCertPath = filepath.Join(dir, devCACert)
	inspectorP12Path = filepath.Join(dir, devInspector)
	pwPath := DevPasswordPath(dir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", "", "", fmt.Errorf("dev CA: %w", err)
	}

	caCert, caKey, err := loadDevCA(dir)
	if errors.Is(err, fs.ErrNotExist) {
		caCert, caKey, err = newDevCA(dir)
	}
	if err != nil {
		return "", "", "", err
	}

	pw, err := os.ReadFile(pwPath)
	if err == nil {
		if _, err := LoadPKCS12(inspectorP12Path, strings.TrimSpace(string(pw))); err == nil {
			return caCertPath, inspectorP12Path, strings.TrimSpace(string(pw)), nil
		}
	}
	// No inspector yet, or one that no longer loads (its CA was remade):
	// issue a new one.
	password, err = randomText(16)
	if err != nil {
		return "", "", "", err
	}
	p12, err := newDevInspector(caCert, caKey, password)
	if err != nil {
		return "", "", "", err
	}
	if err := writeFile(inspectorP12Path, p12, 0o600); err != nil {
		return "", "", "", err
	}
	if err := writeFile(pwPath, []byte(password+"\n"), 0o600); err != nil {
		return "", "", "", err
	}
	return caCertPath, inspectorP12Path, password, nil
}

func loadDevCA(dir string) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	certs, err := os.ReadFile(filepath.Join(dir, devCACert))
	if err != nil {
		return nil, nil, err
	}
	keyPEM, err := os.ReadFile(filepath.Join(dir, devCAKey))
	if err != nil {
		return nil, nil, err
	}
	block, _ := pem.Decode(certs)
	if block == nil {
		return nil, nil, fmt.Errorf("dev CA: %s: no PEM certificate", filepath.Join(dir, devCACert))
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, nil, fmt.Errorf("dev CA: %s: %w", filepath.Join(dir, devCACert), err)
	}
	key, err := parseKey(keyPEM)
	if err != nil {
		return nil, nil, fmt.Errorf("dev CA: %s: %w", filepath.Join(dir, devCAKey), err)
	}
	ec, ok := key.(*ecdsa.PrivateKey)
	if !ok || !ec.PublicKey.Equal(cert.PublicKey) {
		return nil, nil, fmt.Errorf("dev CA: %s does not hold the key of %s", filepath.Join(dir, devCAKey), filepath.Join(dir, devCACert))
	}
	return cert, ec, nil
}

func newDevCA(dir string) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("dev CA: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject: pkix.Name{
			CommonName: DevCAName, Organization: []string{"Sở Nội vụ tỉnh Vĩnh Long"}, Country: []string{"VN"},
		},
		// A year back: a fresh dev instance seeds the quarter that ended
		// last, and signs its minutes at the times the inspections ended.
		NotBefore:             now.AddDate(-1, 0, 0),
		NotAfter:              now.AddDate(10, 0, 0),
		IsCA:                  true,
		BasicConstraintsValid: true,
		MaxPathLen:            0,
		MaxPathLenZero:        true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("dev CA: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, fmt.Errorf("dev CA: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("dev CA: %w", err)
	}
	// The key first: a certificate without its key would be taken for a
	// complete CA on the next start.
	if err := writeFile(filepath.Join(dir, devCAKey), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return nil, nil, err
	}
	if err := writeFile(filepath.Join(dir, devCACert), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return nil, nil, err
	}
	return cert, key, nil
}

// newDevInspector issues the inspector's certificate and returns it with
// its key and the CA certificate as a PKCS#12 file.
func newDevInspector(ca *x509.Certificate, caKey *ecdsa.PrivateKey, password string) ([]byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("dev inspector: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		// Go writes these as UTF8String, since PrintableString cannot
		// hold Vietnamese letters.
		Subject: pkix.Name{
			CommonName: DevInspectorName, Organization: []string{DevInspectorOrg},
			Locality: []string{"Vĩnh Long"}, Country: []string{"VN"},
		},
		NotBefore: now.AddDate(-1, 0, 0), // as the CA's

		NotAfter:           now.AddDate(5, 0, 0),
		KeyUsage:           x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment,
		ExtKeyUsage:        []x509.ExtKeyUsage{x509.ExtKeyUsageEmailProtection},
		UnknownExtKeyUsage: []asn1.ObjectIdentifier{oidDocumentSigning},
		EmailAddresses:     []string{"kiem.nv@snv.vinhlong.test"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return nil, fmt.Errorf("dev inspector: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("dev inspector: %w", err)
	}
	p12, err := pkcs12.Modern.Encode(key, cert, []*x509.Certificate{ca}, password)
	if err != nil {
		return nil, fmt.Errorf("dev inspector: %w", err)
	}
	return p12, nil
}

func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	return n.Add(n, big.NewInt(1))
}

func randomText(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// writeFile writes through a temporary file and a rename, so a crash never
// leaves half a key behind.
func writeFile(path string, data []byte, perm os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("dev CA: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("dev CA: %w", err)
	}
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return fmt.Errorf("dev CA: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("dev CA: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("dev CA: %w", err)
	}
	return nil
}
