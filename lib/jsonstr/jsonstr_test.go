package jsonstr

import (
	"bytes"
	"encoding/json"
	"testing"
	"unicode/utf8"
)

func TestAppend(t *testing.T) {
	for _, s := range []string{"plain", "quote\"back\\slash", "ctl\x00\x1f\n\r\t", "<html>&", "é漢\U0001F600", "bad\xffutf8", "\u2028\u2029"} {
		got := Append(nil, s)
		var back string
		if err := json.Unmarshal(got, &back); err != nil {
			t.Fatalf("%q -> %s: %v", s, got, err)
		}
		if utf8.ValidString(s) && back != s {
			t.Errorf("%q round-tripped to %q", s, back)
		}
		if b := AppendBytes(nil, []byte(s)); !bytes.Equal(b, got) {
			t.Errorf("%q: []byte gives %s, string gives %s", s, b, got)
		}
	}
	if got := string(Append([]byte("x"), "a\u2028\xff")); got != `x"a\u2028\ufffd"` {
		t.Errorf("escapes: %s", got)
	}
}

// Tuple lines are written per tuple: neither form of the input may allocate.
func TestAppendDoesNotAllocate(t *testing.T) {
	s := string(bytes.Repeat([]byte("abcdefgh"), 16)) + "é\xff"
	b := []byte(s)
	buf := make([]byte, 0, 512)
	if n := testing.AllocsPerRun(100, func() { buf = Append(buf[:0], s) }); n != 0 {
		t.Errorf("string: %v allocations", n)
	}
	if n := testing.AllocsPerRun(100, func() { buf = AppendBytes(buf[:0], b) }); n != 0 {
		t.Errorf("[]byte: %v allocations", n)
	}
}

func FuzzAppend(f *testing.F) {
	for _, s := range []string{"", "a\"b", "\x00", "\xff\xfe", "\u2028"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := Append(nil, s)
		var back string
		if err := json.Unmarshal(got, &back); err != nil {
			t.Fatalf("%q -> invalid JSON %s: %v", s, got, err)
		}
		want, _ := json.Marshal(s)
		var wantBack string
		_ = json.Unmarshal(want, &wantBack)
		if back != wantBack {
			t.Fatalf("%q decodes to %q, encoding/json gives %q", s, back, wantBack)
		}
		if b := AppendBytes(nil, []byte(s)); !bytes.Equal(b, got) {
			t.Fatalf("%q: []byte gives %s, string gives %s", s, b, got)
		}
	})
}

var (
	benchASCII = "the quick brown fox jumps over the lazy dog, again and again"
	benchMixed = "naïve café — 漢字 \"quoted\"\ttab\nline é"
	benchOut   []byte
)

func BenchmarkAppend(b *testing.B) {
	for _, c := range []struct{ name, s string }{{"ascii", benchASCII}, {"mixed", benchMixed}} {
		in := []byte(c.s)
		b.Run(c.name+"/string", func(b *testing.B) {
			buf := make([]byte, 0, 256)
			for b.Loop() {
				buf = Append(buf[:0], c.s)
			}
			benchOut = buf
		})
		b.Run(c.name+"/bytes", func(b *testing.B) {
			buf := make([]byte, 0, 256)
			for b.Loop() {
				buf = AppendBytes(buf[:0], in)
			}
			benchOut = buf
		})
	}
}
