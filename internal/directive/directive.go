// Package directive is the directive pipeline between the clerk and the
// units: drafts prefilled from a template, the PDF preview, issuing (number,
// PDF and one dispatch row per unit, in one transaction), the per-unit
// e-mail that carries the PDF and the acknowledgement link, and the
// tracking sheet.
//
// It knows the document engine (internal/render, templates) and the mail
// format (mailer), but neither the queue nor HTTP: the web layer and the
// worker both call it through their own small interfaces.
package directive

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"fmt"
	"strings"
	"time"

	"github.com/sonoivu/vanthu"
	"github.com/sonoivu/vanthu/internal/render"
	"github.com/sonoivu/vanthu/internal/store"
	"github.com/sonoivu/vanthu/templates"
)

// Store is what issuing needs from the database (*store.Store).
type Store interface {
	IssueDocument(ctx context.Context, id int64, actor string, at time.Time,
		plan func(ctx context.Context, doc vanthu.Document, units []vanthu.Unit) (store.IssuePlan, error)) (vanthu.Document, error)
}

// Service drafts, previews and issues documents.
type Service struct {
	Store     Store
	Templates *templates.Set
	// Key signs acknowledgement links (Token).
	Key []byte
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// kinds maps a document template to the kind and type code of the
// documents made from it (DOMAIN.md §2); a công văn has no type code.
var kinds = map[string]struct {
	kind vanthu.DocumentKind
	code string
}{
	"directive": {vanthu.KindDirective, "CT"},
	"minutes":   {vanthu.KindMinutes, "BB"},
	"report":    {vanthu.KindReport, "BC"},
	"reminder":  {vanthu.KindReminder, ""},
}

// NewDraft returns an unsaved draft prefilled from the document template
// name and its sample: the frame the clerk usually keeps, and the sample
// body as a starting point to edit. The audience and the deadline are left
// for the clerk to choose.
func (s *Service) NewDraft(name string) (vanthu.Document, error) {
	if _, ok := kinds[name]; !ok {
		return vanthu.Document{}, errNoTemplate(name)
	}
	in, err := s.Templates.Sample(name)
	if err != nil {
		return vanthu.Document{}, err
	}
	body, err := s.Templates.Body(name, in.Data)
	if err != nil {
		return vanthu.Document{}, err
	}
	return DraftFrom(s.Templates, name, body)
}

func errNoTemplate(name string) error {
	return vanthu.Invalid("Không có mẫu văn bản này.", vanthu.Problem{Field: "template", Message: "Mẫu văn bản không tồn tại: " + name + "."})
}

// DraftFrom returns an unsaved draft of the document template name with
// body: the kind and type code of the template, and the issuer and frame
// (agency, place, signer, Kính gửi, Nơi nhận) of its sample, which the
// office overrides with its own. Drafts a service makes itself (the
// quarterly report) start here as the clerk's do.
func DraftFrom(tpl *templates.Set, name, body string) (vanthu.Document, error) {
	k, ok := kinds[name]
	if !ok {
		return vanthu.Document{}, errNoTemplate(name)
	}
	in, err := tpl.Sample(name)
	if err != nil {
		return vanthu.Document{}, err
	}
	f := in.Document
	return vanthu.Document{
		Kind:     k.kind,
		TypeCode: k.code,
		Issuer:   issuerOf(f.Number, k.code),
		Subject:  f.Subject,
		State:    vanthu.StateDraft,
		Content: vanthu.Content{
			Template: name, ParentAgency: f.ParentAgency, Agency: f.Agency, Place: f.Place, TypeName: f.TypeName,
			Urgency: f.Urgency, KinhGui: f.KinhGui, SignerAuthority: f.SignerAuthority, SignerTitle: f.SignerTitle,
			SignerName: f.SignerName, NoiNhan: f.Recipients, DrafterCode: f.DrafterCode, AddressLine: f.AddressLine,
			Body: body,
		},
	}, nil
}

// issuerOf reads the issuer part of a number and symbol: "UBND" from
// "02/CT-UBND", "SNV-VP" from the công văn "1875/SNV-VP".
func issuerOf(number, code string) string {
	_, sym, ok := strings.Cut(number, "/")
	if !ok {
		return ""
	}
	if code != "" {
		return strings.TrimPrefix(sym, code+"-")
	}
	return sym
}

// Layout maps a document onto the renderer's frame. An issued document
// prints its number and issue date; a draft prints its symbol with a blank
// for the number, dated at.
func Layout(doc vanthu.Document, at time.Time) render.Document {
	c := doc.Content
	number := doc.Symbol
	date := at
	if doc.State == vanthu.StateIssued && doc.IssuedAt != nil {
		date = *doc.IssuedAt
	}
	if number == "" {
		number = "/" + doc.Issuer
		if doc.TypeCode != "" {
			number = "/" + doc.TypeCode + "-" + doc.Issuer
		}
	}
	return render.Document{
		ParentAgency: c.ParentAgency, Agency: c.Agency, Number: number, Place: c.Place, Date: date,
		NoDateLine: doc.Kind == vanthu.KindMinutes, TypeName: c.TypeName, Subject: doc.Subject,
		Urgency: render.Urgency(c.Urgency), KinhGui: c.KinhGui, Body: c.Body,
		SignerAuthority: c.SignerAuthority, SignerTitle: c.SignerTitle, SignerName: c.SignerName,
		Recipients: c.NoiNhan, DrafterCode: c.DrafterCode, AddressLine: c.AddressLine,
	}
}

// Preview lays out a draft as the PDF it would become, without a number.
func (s *Service) Preview(ctx context.Context, d vanthu.Document) ([]byte, error) {
	return render.PDF(Layout(d, s.now()))
}

// FileName is the attachment name of a document's PDF: "02-CT-UBND.pdf".
func FileName(doc vanthu.Document) string {
	name := strings.ReplaceAll(doc.Symbol, "/", "-")
	if name == "" {
		name = fmt.Sprintf("van-ban-%d", doc.ID)
	}
	return name + ".pdf"
}

// Issue issues draft id: the store numbers it and, inside the same
// transaction, this lays out the PDF with the number and gives every unit
// a mail tag and an acknowledgement token. A failure anywhere leaves the
// draft as it was and the number unused.
func (s *Service) Issue(ctx context.Context, id int64, actor string) (vanthu.Document, error) {
	return s.Store.IssueDocument(ctx, id, actor, s.now(), func(ctx context.Context, doc vanthu.Document, units []vanthu.Unit) (store.IssuePlan, error) {
		pdf, err := render.PDF(Layout(doc, s.now()))
		if err != nil {
			return store.IssuePlan{}, err
		}
		plan := store.IssuePlan{
			Artifact: vanthu.Artifact{Name: FileName(doc), ContentType: "application/pdf"},
			Content:  pdf,
		}
		for _, u := range units {
			tag, err := NewTag()
			if err != nil {
				return store.IssuePlan{}, err
			}
			plan.Dispatches = append(plan.Dispatches, store.PlannedDispatch{
				UnitID: u.ID, Email: u.Emails[0], MailTag: tag, TokenHash: HashToken(Token(s.Key, tag)),
			})
		}
		return plan, nil
	})
}

// tagEncoding writes tags in lower-case base32 without padding: safe in
// the local part of an address, and unchanged by servers that fold case.
var tagEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// NewTag returns a random dispatch tag of 80 bits (16 characters). It
// identifies a dispatch in bounces and receipts; it is not a secret.
func NewTag() (string, error) {
	b := make([]byte, 10)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("directive: random tag: %w", err)
	}
	return tagEncoding.EncodeToString(b), nil
}

// Token is the acknowledgement token of the dispatch tagged tag: an HMAC
// of the tag under key, 192 bits in URL-safe base64. Deriving it instead of
// storing it lets a retried send write the same link, while the database
// keeps only its hash.
func Token(key []byte, tag string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("vanthu ack token\x00" + tag))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:24])
}

// HashToken is what the database keeps of a token (SHA-256).
func HashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}
