package directive

import (
	"bytes"
	"context"
	"time"

	"github.com/sonoivu/vanthu"
	"github.com/sonoivu/vanthu/internal/render/sheet"
)

// streamAbove is the number of units from which the tracking sheet is
// written with the stream writer instead of in memory.
const streamAbove = 20000

// TrackingSheet fills the "tracking" Excel template with one row per
// dispatch of doc: when it was sent, read and acknowledged, the reminders,
// and whether it is overdue at now. Times are shown in Vietnam's time zone.
func (s *Service) TrackingSheet(ctx context.Context, doc vanthu.Document, ds []vanthu.Dispatch, now time.Time) ([]byte, error) {
	local := func(t *time.Time) any {
		if t == nil {
			return nil
		}
		return t.In(vanthu.Location)
	}
	recs := make([]map[string]any, len(ds))
	for i, d := range ds {
		overdue := "Không"
		if d.Overdue(now) {
			overdue = "Có"
		}
		note := d.FailReason
		if d.BouncedAt != nil && note == "" {
			note = "Thư bị trả lại"
		}
		recs[i] = map[string]any{
			"Code": d.UnitCode, "Name": d.UnitName, "SentAt": local(d.SentAt), "ReadAt": local(d.ReadAt),
			"AckAt": local(d.AcknowledgedAt), "Reminders": d.Reminded, "Overdue": overdue, "Note": note,
		}
	}
	data := sheet.Data{
		Values: map[string]any{"Number": doc.Symbol, "Subject": doc.Subject},
		Rows:   map[string][]map[string]any{"": recs},
	}
	if len(ds) <= streamAbove {
		return s.Templates.FillSheet(ctx, "tracking", data)
	}
	var b bytes.Buffer
	if err := s.Templates.StreamSheet(ctx, "tracking", data, &b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
