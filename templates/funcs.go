package templates

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"text/template"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/sonoivu/vanthu"
)

// Funcs are the functions every template may call. They format the way
// Vietnamese official documents do: dates dd/mm/yyyy, "." between
// thousands, "," as the decimal mark, quarters in Roman numerals.
func Funcs() template.FuncMap {
	return template.FuncMap{
		"date":     func(v any) (string, error) { return formatTime(v, "02/01/2006") },
		"time":     func(v any) (string, error) { return formatTime(v, "15 giờ 04") },
		"datetime": func(v any) (string, error) { return formatTime(v, "15 giờ 04 ngày 02/01/2006") },
		"num":      Number,
		"pct":      Percent,
		"roman":    Roman,
		"inc":      func(i int) int { return i + 1 },
		"lcfirst":  LowerFirst,
		"join": func(v any, sep string) (string, error) {
			switch s := v.(type) {
			case []string:
				return strings.Join(s, sep), nil
			case []any:
				parts := make([]string, len(s))
				for i, p := range s {
					parts[i] = fmt.Sprint(p)
				}
				return strings.Join(parts, sep), nil
			}
			return "", fmt.Errorf("join: want a list, got %T", v)
		},
	}
}

// toTime accepts a time.Time or a JSON string: a date ("2026-11-25") or an
// RFC 3339 instant. Either is shown in Vietnam's time zone.
func toTime(v any) (time.Time, error) {
	switch t := v.(type) {
	case time.Time:
		return t.In(vanthu.Location), nil
	case string:
		if d, err := time.ParseInLocation("2006-01-02", t, vanthu.Location); err == nil {
			return d, nil
		}
		d, err := time.Parse(time.RFC3339, t)
		if err != nil {
			return time.Time{}, fmt.Errorf("%q is not a date (2006-01-02) or a time (RFC 3339)", t)
		}
		return d.In(vanthu.Location), nil
	}
	return time.Time{}, fmt.Errorf("want a date, got %T", v)
}

func formatTime(v any, layout string) (string, error) {
	t, err := toTime(v)
	if err != nil {
		return "", err
	}
	return t.Format(layout), nil
}

func toFloat(v any) (float64, error) {
	switch n := v.(type) {
	case int:
		return float64(n), nil
	case int64:
		return float64(n), nil
	case float64:
		return n, nil
	case json.Number:
		return n.Float64()
	case string:
		return strconv.ParseFloat(n, 64)
	}
	return 0, fmt.Errorf("want a number, got %T", v)
}

// Number formats v with "." between thousands and "," before decimals, as
// Vietnamese documents write numbers: 1.234,5.
func Number(v any) (string, error) {
	f, err := toFloat(v)
	if err != nil {
		return "", err
	}
	s := strconv.FormatFloat(math.Abs(f), 'f', -1, 64)
	intPart, frac, _ := strings.Cut(s, ".")
	var b strings.Builder
	if f < 0 {
		b.WriteByte('-')
	}
	for i, r := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteByte('.')
		}
		b.WriteRune(r)
	}
	if frac != "" {
		b.WriteString("," + frac)
	}
	return b.String(), nil
}

// Percent is part/whole as a percentage with two decimals and a comma:
// 333 of 424 is "78,54%". A zero whole gives "0%" rather than a division
// error, since an empty quarter is a real case.
func Percent(part, whole any) (string, error) {
	p, err := toFloat(part)
	if err != nil {
		return "", err
	}
	w, err := toFloat(whole)
	if err != nil {
		return "", err
	}
	if w == 0 {
		return "0%", nil
	}
	s := strconv.FormatFloat(math.Round(p/w*10000)/100, 'f', 2, 64)
	return strings.Replace(s, ".", ",", 1) + "%", nil
}

// Roman writes 1–4 (quarters) and other small numbers in Roman numerals.
func Roman(v any) (string, error) {
	f, err := toFloat(v)
	if err != nil {
		return "", err
	}
	n := int(f)
	if n <= 0 || n >= 4000 || float64(n) != f {
		return "", fmt.Errorf("roman: %v is not a whole number from 1 to 3999", v)
	}
	return vanthu.Roman(n), nil
}

// LowerFirst lowers the first letter of s only: a subject such as "Về tăng
// cường kỷ luật tại tỉnh Vĩnh Long" continues a sentence as "về tăng cường
// kỷ luật tại tỉnh Vĩnh Long" without lowering the proper names in it.
func LowerFirst(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if r == utf8.RuneError {
		return s
	}
	return string(unicode.ToLower(r)) + s[n:]
}
