package stmgr

import (
	"bufio"
	"bytes"
	"testing"
)

func TestFrameRoundTrip(t *testing.T) {
	st := &Stream{ID: "default"}
	var buf bytes.Buffer
	w := bufio.NewWriter(&buf)
	data := &batch{src: 3, dst: 7, stream: st, enc: encRaw, n: 2, buf: []byte("a\nb\n")}
	ack := &batch{enc: encAck, n: 1, buf: appendAck(nil, ackKind, 1, 0xdead, 0xbeef)}
	for _, b := range []*batch{data, ack, {enc: encBP, n: 1}} {
		if err := writeBatchFrame(w, b); err != nil {
			t.Fatal(err)
		}
	}
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(w.Flush())
	r := bufio.NewReader(&buf)
	id := func(s string) string { return s }
	f, err := readFrame(r, id)
	must(err)
	if f.typ != frameData || f.src != 3 || f.dst != 7 || f.stream != "default" || f.n != 2 || string(f.body.buf) != "a\nb\n" {
		t.Fatalf("data frame %+v", f)
	}
	f, err = readFrame(r, id)
	must(err)
	kind, task, key, value := parseAck(f.body.buf)
	if f.typ != frameAck || kind != ackKind || task != 1 || key != 0xdead || value != 0xbeef {
		t.Fatalf("ack frame %+v", f)
	}
	f, err = readFrame(r, id)
	must(err)
	if f.typ != frameBP || !f.bp {
		t.Fatalf("bp frame %+v", f)
	}
}

func TestMetaRoundTrip(t *testing.T) {
	roots := []root{{1, 0x0123456789abcdef}, {22, 42}}
	meta := appendMeta(nil, 0xfeedface, roots)
	key, got, ok := parseMeta(meta, nil)
	if !ok || key != 0xfeedface || len(got) != 2 || got[0] != roots[0] || got[1] != roots[1] {
		t.Fatalf("meta %s -> %x %v %v", meta, key, got, ok)
	}
}

// FuzzReadFrame: whatever a peer sends is read or refused, never a panic
// or an allocation beyond MaxFrame.
func FuzzReadFrame(f *testing.F) {
	var buf bytes.Buffer
	w := bufio.NewWriter(&buf)
	_ = writeBatchFrame(w, &batch{src: 1, dst: 2, stream: &Stream{ID: "s"}, enc: encJSON, n: 1, buf: []byte("\t[1]\n")})
	_ = writeHello(w, []byte(`{"container":1}`))
	_ = w.Flush()
	f.Add(buf.Bytes())
	f.Add([]byte{0, 0, 0, 2, frameBP, 1})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, frameData})
	f.Fuzz(func(t *testing.T, b []byte) {
		r := bufio.NewReader(bytes.NewReader(b))
		for i := 0; i < 8; i++ {
			if _, err := readFrame(r, func(s string) string { return s }); err != nil {
				return
			}
		}
	})
}

// FuzzParseMeta: tuple metas from peers never panic the parser.
func FuzzParseMeta(f *testing.F) {
	f.Add(appendMeta(nil, 1, []root{{2, 3}}))
	f.Add([]byte("k"))
	f.Add([]byte("k0123456789abcdef 1:"))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _, _ = parseMeta(b, nil)
		_, _ = splitTuple(b)
	})
}
