package mailer_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/sonoivu/vanthu/mailer"
)

// FuzzClassify feeds Classify mutations of the corpus. Classify must not
// panic (its recover would turn a panic into an "internal error" problem,
// which fails here too), must say one of the five kinds, must write only
// valid UTF-8, must respect the reply length cap, and must be
// deterministic: the watcher may classify the same message twice.
func FuzzClassify(f *testing.F) {
	for _, name := range corpusFiles(f) {
		f.Add(readCorpus(f, name))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		// A small limit reaches the truncation paths with small inputs.
		// One set of options per input keeps an execution cheap, which is
		// what bounds how fast the fuzzer minimises a new input.
		opts := mailer.ClassifyOptions{Office: office}
		if len(raw)%2 == 1 {
			opts = mailer.ClassifyOptions{MaxPartBytes: 512, TagSeparator: "."}
		}
		got := mailer.Classify(raw, opts)
		switch got.Kind {
		case mailer.InboundMDN, mailer.InboundDSN, mailer.InboundReply, mailer.InboundOther, mailer.InboundMalformed:
		default:
			t.Fatalf("Kind = %q", got.Kind)
		}
		for _, p := range got.Problems {
			if strings.HasPrefix(p, "internal error") {
				t.Fatalf("Classify panicked: %s", p)
			}
		}
		if (got.MDN != nil) != (got.Kind == mailer.InboundMDN) || (got.DSN != nil) != (got.Kind == mailer.InboundDSN) {
			t.Fatalf("Kind %s with MDN %v, DSN %v", got.Kind, got.MDN != nil, got.DSN != nil)
		}
		if got.AutoReply && got.Kind != mailer.InboundOther {
			t.Fatalf("AutoReply on a %s", got.Kind)
		}
		if n := utf8.RuneCountInString(got.Text); n > mailer.MaxReplyRunes {
			t.Fatalf("Text has %d runes", n)
		}
		checkUTF8(t, reflect.ValueOf(got), "Inbound")
		if again := mailer.Classify(raw, opts); !reflect.DeepEqual(got, again) {
			t.Fatalf("not deterministic:\n%+v\n%+v", got, again)
		}
		if _, err := json.Marshal(got); err != nil {
			t.Fatalf("json: %v", err)
		}
	})
}

// checkUTF8 fails on any string in v that is not valid UTF-8: JSON would
// silently replace the bytes, and the evidence would no longer be what
// Classify saw.
func checkUTF8(t *testing.T, v reflect.Value, path string) {
	t.Helper()
	switch v.Kind() {
	case reflect.String:
		if !utf8.ValidString(v.String()) {
			t.Fatalf("%s = %q is not valid UTF-8", path, v.String())
		}
	case reflect.Pointer:
		if !v.IsNil() {
			checkUTF8(t, v.Elem(), path)
		}
	case reflect.Slice:
		for i := range v.Len() {
			checkUTF8(t, v.Index(i), path+"[]")
		}
	case reflect.Struct:
		for i := range v.NumField() {
			checkUTF8(t, v.Field(i), path+"."+v.Type().Field(i).Name)
		}
	}
}
