package sign

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/asn1"
	"fmt"
	"slices"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/sonoivu/vanthu"
)

// Object identifiers of RFC 5652 (CMS), RFC 5035 (ESS) and RFC 5754.
var (
	oidData                 = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 1}
	oidSignedData           = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}
	oidContentType          = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 3}
	oidMessageDigest        = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 4}
	oidSigningTime          = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 5}
	oidSigningCertificateV2 = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 47}
	oidSHA256               = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
	oidSHA256WithRSA        = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 11}
	oidECDSAWithSHA256      = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}
)

// cms returns a DER ContentInfo holding a detached SignedData over content
// whose SHA-256 is digest, signed by s at the given time. The signed
// attributes are content-type, message-digest, signing-time and
// signing-certificate-v2 (which binds the signer's certificate to the
// signature, as CAdES and PAdES require).
func (s *Signer) cms(digest []byte, at time.Time) ([]byte, error) {
	attrs, err := s.signedAttributes(digest, at)
	if err != nil {
		return nil, err
	}
	// The signature covers the attributes encoded as a SET OF (tag 0x31),
	// while the SignerInfo carries them under [0] IMPLICIT.
	var set cryptobyte.Builder
	set.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) { b.AddBytes(attrs) })
	toSign, err := set.Bytes()
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(toSign)
	sig, err := s.key.Sign(rand.Reader, sum[:], crypto.SHA256)
	if err != nil {
		return nil, &vanthu.Error{Code: vanthu.EUnavailable, Message: "Thiết bị hoặc khoá ký không ký được.", Err: fmt.Errorf("sign: %w", err)}
	}
	var sigAlg asn1.ObjectIdentifier
	switch s.key.Public().(type) {
	case *rsa.PublicKey:
		sigAlg = oidSHA256WithRSA
	case *ecdsa.PublicKey:
		sigAlg = oidECDSAWithSHA256
	}

	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // ContentInfo
		b.AddASN1ObjectIdentifier(oidSignedData)
		b.AddASN1(cbasn1.Tag(0).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // SignedData
				b.AddASN1Int64(1)
				b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) { addAlgorithm(b, oidSHA256, false) })
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { b.AddASN1ObjectIdentifier(oidData) })
				b.AddASN1(cbasn1.Tag(0).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) {
					b.AddBytes(s.cert.Raw)
					for _, c := range s.chain {
						b.AddBytes(c.Raw)
					}
				})
				b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) {
					b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // SignerInfo
						b.AddASN1Int64(1)
						b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // IssuerAndSerialNumber
							b.AddBytes(s.cert.RawIssuer)
							b.AddASN1BigInt(s.cert.SerialNumber)
						})
						addAlgorithm(b, oidSHA256, false)
						b.AddASN1(cbasn1.Tag(0).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) { b.AddBytes(attrs) })
						// RSA algorithm identifiers carry an explicit NULL
						// parameter (RFC 4055); ECDSA ones carry none.
						addAlgorithm(b, sigAlg, sigAlg.Equal(oidSHA256WithRSA))
						b.AddASN1OctetString(sig)
					})
				})
			})
		})
	})
	return b.Bytes()
}

// signedAttributes returns the DER of the attributes, concatenated in the
// order DER requires for a SET OF: by their encodings.
func (s *Signer) signedAttributes(digest []byte, at time.Time) ([]byte, error) {
	certHash := sha256.Sum256(s.cert.Raw)
	attr := func(oid asn1.ObjectIdentifier, value func(*cryptobyte.Builder)) ([]byte, error) {
		var b cryptobyte.Builder
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1ObjectIdentifier(oid)
			b.AddASN1(cbasn1.SET, value)
		})
		return b.Bytes()
	}
	utc := at.UTC()
	var list [][]byte
	for _, a := range []struct {
		oid   asn1.ObjectIdentifier
		value func(*cryptobyte.Builder)
	}{
		{oidContentType, func(b *cryptobyte.Builder) { b.AddASN1ObjectIdentifier(oidData) }},
		{oidSigningTime, func(b *cryptobyte.Builder) {
			// RFC 5652: UTCTime for 1950–2049, GeneralizedTime otherwise.
			if utc.Year() >= 1950 && utc.Year() < 2050 {
				b.AddASN1UTCTime(utc)
			} else {
				b.AddASN1GeneralizedTime(utc)
			}
		}},
		{oidMessageDigest, func(b *cryptobyte.Builder) { b.AddASN1OctetString(digest) }},
		{oidSigningCertificateV2, func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // SigningCertificateV2
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // certs
					// ESSCertIDv2: hashAlgorithm is SHA-256 by default, and
					// issuerSerial is left out as the CAdES baseline
					// recommends; it also keeps this CMS no larger than the
					// one pdfsign reserved room for (see Sign).
					b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
						b.AddASN1OctetString(certHash[:])
					})
				})
			})
		}},
	} {
		der, err := attr(a.oid, a.value)
		if err != nil {
			return nil, fmt.Errorf("sign: encode attribute %v: %w", a.oid, err)
		}
		list = append(list, der)
	}
	slices.SortFunc(list, bytes.Compare)
	return bytes.Join(list, nil), nil
}

func addAlgorithm(b *cryptobyte.Builder, oid asn1.ObjectIdentifier, null bool) {
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1ObjectIdentifier(oid)
		if null {
			b.AddASN1NULL()
		}
	})
}
