package sign

import (
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"

	"software.sslmate.com/src/go-pkcs12"

	"github.com/sonoivu/vanthu"
)

// LoadPKCS12 reads a key, its certificate and the issuer certificates from
// a PKCS#12 (.p12, .pfx) file. go-pkcs12 reads both the legacy files and the
// AES/PBKDF2 ones that OpenSSL 3 and current CA tools write.
func LoadPKCS12(path, password string) (*Signer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fileError(path, "không đọc được tệp", err)
	}
	key, cert, chain, err := pkcs12.DecodeChain(data, password)
	if errors.Is(err, pkcs12.ErrIncorrectPassword) {
		return nil, fileError(path, "mật khẩu không đúng", err)
	}
	if err != nil {
		return nil, fileError(path, "không phải tệp PKCS#12 (.p12) hợp lệ", err)
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, fileError(path, "khoá trong tệp không dùng để ký được", fmt.Errorf("key type %T", key))
	}
	s, err := New(signer, cert, chain)
	if err != nil {
		return nil, inFile(path, err)
	}
	return s, nil
}

// LoadPEM reads a private key (PKCS#8, or the older PKCS#1 RSA and SEC 1 EC
// forms) from keyPath and certificates from certPath. The certificate file
// may hold the issuer chain too, in any order: the certificate that matches
// the key is the signer's.
func LoadPEM(keyPath, certPath string) (*Signer, error) {
	keyPEM, err := os.ReadFile(keyPath)
	if err != nil {
		return nil, fileError(keyPath, "không đọc được tệp khoá", err)
	}
	key, err := parseKey(keyPEM)
	if err != nil {
		return nil, fileError(keyPath, "không đọc được khoá riêng", err)
	}
	certs, err := readCertificates(certPath)
	if err != nil {
		return nil, err
	}
	for i, c := range certs {
		if samePublicKey(key.Public(), c.PublicKey) {
			rest := append(append([]*x509.Certificate{}, certs[:i]...), certs[i+1:]...)
			s, err := New(key, c, rest)
			if err != nil {
				return nil, inFile(certPath, err)
			}
			return s, nil
		}
	}
	return nil, fileError(certPath, "không có chứng thư số nào khớp với khoá trong "+keyPath, errors.New("no certificate matches the private key"))
}

// LoadRoots reads the trust anchors (PEM certificates) that Verify checks
// certificate chains against.
func LoadRoots(path string) (*x509.CertPool, error) {
	certs, err := readCertificates(path)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	for _, c := range certs {
		pool.AddCert(c)
	}
	return pool, nil
}

func readCertificates(path string) ([]*x509.Certificate, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fileError(path, "không đọc được tệp chứng thư số", err)
	}
	var certs []*x509.Certificate
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fileError(path, "chứng thư số hỏng", err)
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, fileError(path, "không có chứng thư số PEM (-----BEGIN CERTIFICATE-----)", errors.New("no PEM certificate"))
	}
	return certs, nil
}

func parseKey(data []byte) (crypto.Signer, error) {
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			return nil, errors.New("no PEM private key")
		}
		if _, legacy := block.Headers["DEK-Info"]; legacy || block.Type == "ENCRYPTED PRIVATE KEY" {
			return nil, errors.New("the key is encrypted: convert it to a .p12 file and use --p12")
		}
		var key any
		var err error
		switch block.Type {
		case "PRIVATE KEY":
			key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
		case "RSA PRIVATE KEY":
			key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
		case "EC PRIVATE KEY":
			key, err = x509.ParseECPrivateKey(block.Bytes)
		default:
			continue // e.g. EC PARAMETERS before the key
		}
		if err != nil {
			return nil, err
		}
		s, ok := key.(crypto.Signer)
		if !ok {
			return nil, fmt.Errorf("key type %T cannot sign", key)
		}
		return s, nil
	}
}

// fileError is the EInvalid error for a bad file: the Vietnamese message
// names the file and what is wrong, the cause stays for the log.
func fileError(path, what string, cause error) error {
	return &vanthu.Error{Code: vanthu.EInvalid, Message: fmt.Sprintf("Tệp %s: %s.", path, what), Err: cause}
}

// inFile adds the file name to a check's error about its content.
func inFile(path string, err error) error {
	var e *vanthu.Error
	if errors.As(err, &e) {
		return &vanthu.Error{Code: e.Code, Message: fmt.Sprintf("Tệp %s: %s", path, e.Message), Err: e.Err}
	}
	return fmt.Errorf("%s: %w", path, err)
}
