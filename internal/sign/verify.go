package sign

import (
	"bytes"
	"cmp"
	"context"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/digitorus/pdf"
	"github.com/digitorus/pkcs7"

	"github.com/sonoivu/vanthu"
)

// Coverage tells how much of the document a signature vouches for.
type Coverage int

const (
	// CoversPart: the document was changed after the signature by more
	// than further signatures (or its byte range is malformed).
	CoversPart Coverage = iota
	// CoversSigned: later incremental updates only add signatures (their
	// dictionaries, fields, the catalog's form entry and the pages' lists
	// of annotations); the content this signature covered is unchanged.
	CoversSigned
	// CoversWhole: the byte range reaches the end of the file.
	CoversWhole
)

// String is the Vietnamese description shown by `vanthu verify`.
func (c Coverage) String() string {
	switch c {
	case CoversWhole:
		return "toàn bộ tài liệu"
	case CoversSigned:
		return "toàn bộ nội dung; sau đó chỉ thêm chữ ký khác"
	default:
		return "KHÔNG: tài liệu đã bị thay đổi sau khi ký"
	}
}

// ChainStatus is the result of checking a signer's certificate against the
// trust anchors.
type ChainStatus int

const (
	ChainNotChecked ChainStatus = iota // no trust anchors given
	ChainTrusted                       // chains to a given anchor at the signing time
	ChainUntrusted                     // does not
)

// String is the Vietnamese description shown by `vanthu verify`.
func (c ChainStatus) String() string {
	switch c {
	case ChainTrusted:
		return "tin cậy (dẫn tới chứng thư gốc đã cấu hình)"
	case ChainUntrusted:
		return "KHÔNG tin cậy"
	default:
		return "chưa kiểm tra (không có chứng thư gốc)"
	}
}

// Signature is what Verify found out about one signature.
type Signature struct {
	Field        string            // the form field's name (/T)
	SignerName   string            // the certificate's common name
	SignerOrg    string            // the certificate's organization
	Certificate  *x509.Certificate // nil when the CMS could not be read
	Name         string            // /Name of the signature dictionary, if any
	Time         time.Time         // CMS signing-time, else /M; in +07:00
	Reason       string
	Location     string
	ContactInfo  string
	SubFilter    string
	ByteRange    [4]int64
	Valid        bool   // the CMS signature matches the bytes it covers
	Problem      string // why not Valid (Vietnamese, with the technical cause)
	Coverage     Coverage
	Change       string // for CoversPart: what changed after signing
	Chain        ChainStatus
	ChainProblem string // for ChainUntrusted: why
}

// Report lists the signatures of a document in the order they were made.
type Report struct {
	Size       int64
	Signatures []Signature
}

// OK reports whether the document is intact as signed: every signature is
// valid, the last covers the whole file and the earlier ones are followed
// only by further signatures, and, when trust anchors were given, every
// certificate chains to one of them.
func (r Report) OK() bool {
	if len(r.Signatures) == 0 {
		return false
	}
	for i, s := range r.Signatures {
		if !s.Valid || s.Chain == ChainUntrusted || s.Coverage == CoversPart {
			return false
		}
		if i == len(r.Signatures)-1 && s.Coverage != CoversWhole {
			return false
		}
	}
	return true
}

// Verify checks every signature of a PDF. roots, if not nil, are the trust
// anchors the signers' certificates must chain to; nil leaves chains
// unchecked. An error means the file could not be examined at all (not a
// PDF, no signature); a signature that does not verify is reported in the
// Report, not as an error.
func Verify(ctx context.Context, doc []byte, roots *x509.CertPool) (Report, error) {
	rep := Report{Size: int64(len(doc))}
	if !bytes.HasPrefix(doc, []byte("%PDF-")) {
		return rep, vanthu.Errorf(vanthu.EInvalid, "Tệp không phải là PDF.")
	}
	rdr, err := readPDF(doc)
	if err != nil {
		return rep, &vanthu.Error{Code: vanthu.EInvalid, Message: "Không đọc được cấu trúc tệp PDF (tệp hỏng hoặc đã bị sửa).", Err: err}
	}
	var dicts []pdf.Value
	fields := map[uint32]string{}
	err = catch(func() error {
		dicts, fields = signatureDicts(rdr)
		return nil
	})
	if err != nil {
		return rep, &vanthu.Error{Code: vanthu.EInvalid, Message: "Không đọc được cấu trúc tệp PDF (tệp hỏng hoặc đã bị sửa).", Err: err}
	}
	if len(dicts) == 0 {
		return rep, vanthu.Errorf(vanthu.EInvalid, "Tệp PDF không có chữ ký số.")
	}
	for _, v := range dicts {
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		var s Signature
		if err := catch(func() error { s = checkSignature(doc, v, roots); return nil }); err != nil {
			s = Signature{Problem: "không đọc được từ điển chữ ký: " + err.Error()}
		}
		s.Field = fields[ptrID(v)]
		rep.Signatures = append(rep.Signatures, s)
	}
	// Signing order: each signature covers the file as it was when made.
	slices.SortStableFunc(rep.Signatures, func(a, b Signature) int {
		return cmp.Compare(a.ByteRange[2]+a.ByteRange[3], b.ByteRange[2]+b.ByteRange[3])
	})

	last := len(rep.Signatures) - 1
	lastWhole := false
	for i := range rep.Signatures {
		s := &rep.Signatures[i]
		end := s.ByteRange[2] + s.ByteRange[3]
		switch {
		case s.ByteRange[1] == 0: // the byte range was unusable
			s.Change = "vùng ký (/ByteRange) không hợp lệ"
		case end == rep.Size:
			s.Coverage = CoversWhole
			lastWhole = i == last
		}
	}
	for i := range rep.Signatures[:last] {
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		s := &rep.Signatures[i]
		if s.Coverage != CoversPart || s.ByteRange[1] == 0 {
			continue
		}
		if !lastWhole {
			s.Change = "có dữ liệu được thêm sau chữ ký cuối cùng"
			continue
		}
		if change := onlySignaturesAdded(doc[:s.ByteRange[2]+s.ByteRange[3]], doc); change != "" {
			s.Change = change
			continue
		}
		s.Coverage = CoversSigned
	}
	if !lastWhole && rep.Signatures[last].ByteRange[1] != 0 {
		rep.Signatures[last].Change = fmt.Sprintf("%d byte được thêm vào sau vùng đã ký", rep.Size-(rep.Signatures[last].ByteRange[2]+rep.Signatures[last].ByteRange[3]))
	}
	return rep, nil
}

func readPDF(doc []byte) (*pdf.Reader, error) {
	var rdr *pdf.Reader
	err := catch(func() (err error) {
		rdr, err = pdf.NewReader(bytes.NewReader(doc), int64(len(doc)))
		return err
	})
	return rdr, err
}

// signatureDicts returns the signature dictionaries of the
// document's current revision and the field names that refer to them.
func signatureDicts(rdr *pdf.Reader) ([]pdf.Value, map[uint32]string) {
	var out []pdf.Value
	for _, x := range rdr.Xref() {
		p := x.Ptr()
		if p.GetID() == 0 {
			continue
		}
		v := rdr.Resolve(p, p)
		// /Type is optional in a signature dictionary; a document
		// time-stamp (/DocTimeStamp) is not a person's signature.
		typ := v.Key("Type").Name()
		if v.Kind() == pdf.Dict && (typ == "Sig" || typ == "" && v.Key("Filter").Name() != "" && !v.Key("ByteRange").IsNull() && !v.Key("Contents").IsNull()) {
			out = append(out, v)
		}
	}
	fields := map[uint32]string{}
	var walk func(f pdf.Value, depth int)
	walk = func(f pdf.Value, depth int) {
		if depth > 32 { // a loop in a malformed field tree
			return
		}
		if f.Key("FT").Name() == "Sig" && f.Key("V").Kind() == pdf.Dict {
			fields[ptrID(f.Key("V"))] = f.Key("T").Text()
		}
		kids := f.Key("Kids")
		for i := 0; i < kids.Len(); i++ {
			walk(kids.Index(i), depth+1)
		}
	}
	all := rdr.Trailer().Key("Root").Key("AcroForm").Key("Fields")
	for i := 0; i < all.Len(); i++ {
		walk(all.Index(i), 0)
	}
	return out, fields
}

// checkSignature verifies one signature dictionary's CMS against the bytes
// its /ByteRange names.
func checkSignature(doc []byte, v pdf.Value, roots *x509.CertPool) Signature {
	s := Signature{
		Name:        v.Key("Name").Text(),
		Reason:      v.Key("Reason").Text(),
		Location:    v.Key("Location").Text(),
		ContactInfo: v.Key("ContactInfo").Text(),
		SubFilter:   v.Key("SubFilter").Name(),
	}
	if t, err := parsePDFDate(v.Key("M").Text()); err == nil {
		s.Time = t
	}
	br := v.Key("ByteRange")
	size := int64(len(doc))
	if br.Len() == 4 {
		for i := range s.ByteRange {
			s.ByteRange[i] = br.Index(i).Int64()
		}
	}
	r := s.ByteRange
	// One gap, holding exactly the /Contents hex string: nothing else in
	// the file may escape the signature.
	if br.Len() != 4 || r[0] != 0 || r[1] <= 0 || r[2] <= r[1]+1 || r[3] < 0 || r[2]+r[3] > size ||
		doc[r[1]] != '<' || doc[r[2]-1] != '>' {
		s.ByteRange = [4]int64{}
		s.Problem = "vùng ký (/ByteRange) không hợp lệ"
		return s
	}
	gap, err := hex.DecodeString(string(bytes.Join(bytes.Fields(doc[r[1]+1:r[2]-1]), nil)))
	if err != nil || !bytes.Equal(gap, []byte(v.Key("Contents").RawString())) {
		s.Problem = "vùng ký (/ByteRange) không trùng với giá trị chữ ký (/Contents)"
		return s
	}
	if s.SubFilter != "ETSI.CAdES.detached" && s.SubFilter != "adbe.pkcs7.detached" {
		s.Problem = fmt.Sprintf("kiểu chữ ký /%s không được hỗ trợ", s.SubFilter)
		return s
	}
	p7, err := pkcs7.Parse(gap) // the zeros padding the reserved space follow the DER
	if err != nil {
		s.Problem = "không đọc được giá trị chữ ký (CMS): " + err.Error()
		return s
	}
	if cert := p7.GetOnlySigner(); cert != nil {
		s.Certificate = cert
		s.SignerName = cert.Subject.CommonName
		s.SignerOrg = strings.Join(cert.Subject.Organization, ", ")
	}
	var signed time.Time
	if err := p7.UnmarshalSignedAttribute(oidSigningTime, &signed); err == nil {
		s.Time = signed
	}
	if !s.Time.IsZero() {
		s.Time = s.Time.In(vanthu.Location)
	}
	p7.Content = append(append([]byte{}, doc[:r[1]]...), doc[r[2]:r[2]+r[3]]...)
	if err := p7.Verify(); err != nil {
		var mismatch *pkcs7.MessageDigestMismatchError
		if errors.As(err, &mismatch) {
			s.Problem = "mã băm không khớp: nội dung đã bị thay đổi sau khi ký"
		} else {
			s.Problem = "chữ ký không hợp lệ: " + err.Error()
		}
		return s
	}
	if s.Certificate == nil {
		s.Problem = "chữ ký không có đúng một người ký"
		return s
	}
	s.Valid = true
	if roots != nil {
		at := s.Time
		if at.IsZero() {
			at = time.Now()
		}
		inter := x509.NewCertPool()
		for _, c := range p7.Certificates {
			inter.AddCert(c)
		}
		_, err := s.Certificate.Verify(x509.VerifyOptions{
			Roots: roots, Intermediates: inter, CurrentTime: at,
			KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
		})
		if err != nil {
			s.Chain, s.ChainProblem = ChainUntrusted, err.Error()
		} else {
			s.Chain = ChainTrusted
		}
	}
	return s
}

// parsePDFDate reads a PDF date string, "D:YYYYMMDDHHmmSS+07'00'".
func parsePDFDate(v string) (time.Time, error) {
	v = strings.TrimPrefix(v, "D:")
	if len(v) < 14 {
		return time.Time{}, fmt.Errorf("short PDF date %q", v)
	}
	t, err := time.Parse("20060102150405", v[:14])
	if err != nil {
		return time.Time{}, err
	}
	zone := strings.ReplaceAll(v[14:], "'", "")
	switch {
	case zone == "" || zone == "Z":
		return t, nil
	case len(zone) == 5 && (zone[0] == '+' || zone[0] == '-'):
		h, err1 := strconv.Atoi(zone[1:3])
		m, err2 := strconv.Atoi(zone[3:5])
		if err1 != nil || err2 != nil {
			return time.Time{}, fmt.Errorf("bad PDF date zone %q", zone)
		}
		off := (h*60 + m) * 60
		if zone[0] == '-' {
			off = -off
		}
		return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), 0, time.FixedZone("", off)), nil
	}
	return time.Time{}, fmt.Errorf("bad PDF date zone %q", zone)
}

// onlySignaturesAdded compares the revision a signature covered (older, a
// prefix of the file) with the whole file and returns "" when every object
// that differs belongs to a later signature: its dictionary, its field and
// widget with the widget's appearance, the catalog (whose other entries must
// be unchanged) and pages whose only change is the list of annotations.
// Otherwise it says, in Vietnamese, what else changed.
func onlySignaturesAdded(older, whole []byte) (change string) {
	defer func() {
		if r := recover(); r != nil {
			change = fmt.Sprintf("không đọc được các phiên bản của tệp để so sánh (%v)", r)
		}
	}()
	oldR, err := pdf.NewReader(bytes.NewReader(older), int64(len(older)))
	if err != nil {
		return "không đọc được phiên bản tệp đã ký: " + err.Error()
	}
	newR, err := pdf.NewReader(bytes.NewReader(whole), int64(len(whole)))
	if err != nil {
		return "không đọc được tệp: " + err.Error()
	}
	byID := func(r *pdf.Reader, id uint32) pdf.Value {
		xs := r.Xref()
		if int(id) >= len(xs) {
			return pdf.Value{}
		}
		p := xs[id].Ptr()
		if p.GetID() != id {
			return pdf.Value{}
		}
		return r.Resolve(p, p)
	}
	newRoot := newR.Trailer().Key("Root")
	oldRoot := oldR.Trailer().Key("Root")

	type changed struct {
		id       uint32
		old, cur pdf.Value
	}
	var diff []changed
	appearances := map[uint32]bool{}
	n := max(len(oldR.Xref()), len(newR.Xref()))
	for id := 1; id < n; id++ {
		o, c := byID(oldR, uint32(id)), byID(newR, uint32(id))
		if o.String() == c.String() {
			continue
		}
		diff = append(diff, changed{uint32(id), o, c})
		if c.Key("FT").Name() == "Sig" {
			if ap := c.Key("AP").Key("N"); ap.Kind() == pdf.Stream {
				appearances[ptrID(ap)] = true
			}
		}
	}
	for _, d := range diff {
		c := d.cur
		switch {
		case c.IsNull():
			return fmt.Sprintf("đối tượng %d đã bị xoá", d.id)
		case c.Key("Type").Name() == "Sig", c.Key("Type").Name() == "DocTimeStamp", c.Key("FT").Name() == "Sig":
		case c.Kind() == pdf.Stream && (c.Key("Type").Name() == "XRef" || c.Key("Type").Name() == "ObjStm"):
		case c.Kind() == pdf.Stream && appearances[d.id] && c.Key("Subtype").Name() == "Form":
		case c.Key("Type").Name() == "Catalog" && d.id == ptrID(newRoot):
			if k := differingKey(oldRoot, c, "AcroForm", "Version", "Perms", "DSS"); k != "" {
				return fmt.Sprintf("mục /%s của danh mục tài liệu đã bị thay đổi", k)
			}
		case c.Key("Type").Name() == "Page" && d.old.Key("Type").Name() == "Page":
			if k := differingKey(d.old, c, "Annots"); k != "" {
				return fmt.Sprintf("mục /%s của một trang đã bị thay đổi", k)
			}
			if !onlySignatureAnnotsAdded(d.old.Key("Annots"), c.Key("Annots")) {
				return "chú thích (annotation) không phải chữ ký đã được thêm vào trang"
			}
		case c.Kind() == pdf.Dict && c.Key("Type").IsNull() && !c.Key("Fields").IsNull() && d.old.IsNull():
			// a new, indirect AcroForm dictionary
		default:
			kind := c.Key("Type").Name()
			if kind == "" {
				kind = "không rõ kiểu"
			}
			return fmt.Sprintf("đối tượng %d (%s) đã bị thay đổi hoặc thêm vào", d.id, kind)
		}
	}
	return ""
}

// differingKey returns a key, other than those allowed to differ, whose
// value is not the same in a and b.
func differingKey(a, b pdf.Value, allowed ...string) string {
	keys := append(a.Keys(), b.Keys()...)
	slices.Sort(keys)
	for _, k := range slices.Compact(keys) {
		if slices.Contains(allowed, k) {
			continue
		}
		if a.Key(k).String() != b.Key(k).String() {
			return k
		}
	}
	return ""
}

// onlySignatureAnnotsAdded reports whether the annotations of cur are those
// of old plus signature widgets.
func onlySignatureAnnotsAdded(old, cur pdf.Value) bool {
	had := map[string]bool{}
	for i := 0; i < old.Len(); i++ {
		had[old.Index(i).String()] = true
	}
	for i := 0; i < cur.Len(); i++ {
		a := cur.Index(i)
		if !had[a.String()] && a.Key("FT").Name() != "Sig" {
			return false
		}
	}
	return true
}

// ptrID is the object number v was read from (0 for a direct object).
func ptrID(v pdf.Value) uint32 {
	p := v.GetPtr()
	return p.GetID()
}
