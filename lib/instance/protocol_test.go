package instance

import (
	"bytes"
	"encoding/json"
	"testing"
)

func TestParse(t *testing.T) {
	var sc bytes.Buffer
	cases := []struct {
		line   string
		kind   Kind
		values string
		stream string
	}{
		{`["a", 1]`, KindEmit, `["a", 1]`, "default"},
		{`"word"`, KindEmit, `["word"]`, "default"},
		{`{"emit":["x"],"stream":"s","id":{"k":1},"anchors":["3",4]}`, KindEmit, `["x"]`, "s"},
		{`{"emit":"x"}`, KindEmit, `["x"]`, "default"},
		{`{"ack":"17"}`, KindAck, "", ""},
		{`{"fail":17}`, KindFail, "", ""},
		{`{"log":"hi","level":"warn"}`, KindLog, "", ""},
		{`{"exception":"java.lang.X: y"}`, KindException, "", ""},
		{`{"metric":"m","value":2,"aggregate":"avg"}`, KindMetric, "", ""},
	}
	for _, c := range cases {
		m, err := Parse([]byte(c.line), &sc)
		if err != nil || m.Kind != c.kind || string(m.Values) != c.values || m.Stream != c.stream {
			t.Errorf("%s: %+v %v", c.line, m, err)
		}
	}
	m, _ := Parse([]byte(`{"emit":["x"],"id":{"k":1},"anchors":["3",4],"task":9}`), &sc)
	if string(m.MsgID) != `{"k":1}` || len(m.Anchors) != 2 || m.Anchors[1] != 4 || !m.HasTask || m.Task != 9 {
		t.Errorf("envelope: %+v", m)
	}
	for _, bad := range []string{`{`, `{"nothing":1}`, `{"ack":"x"}`, `{"metric":"m"}`, `{"metric":"m","value":1,"aggregate":"max"}`, `[1,`} {
		if _, err := Parse([]byte(bad), &sc); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
	if _, err := Parse([]byte("  "), &sc); err != ErrEmpty {
		t.Errorf("blank line: %v", err)
	}
}

func TestConversions(t *testing.T) {
	if got := string(RawLine(nil, []byte(`["a\nb"]`))); got != "a b\n" {
		t.Errorf("RawLine string: %q", got)
	}
	if got := string(RawLine(nil, []byte(`[1,"x"]`))); got != "[1,\"x\"]\n" {
		t.Errorf("RawLine array: %q", got)
	}
	if got := string(RawLine(nil, []byte(`[{"a":1}]`))); got != "{\"a\":1}\n" {
		t.Errorf("RawLine object: %q", got)
	}
	k, err := FieldKeys(nil, []byte(`["w", 2, {"x":1}]`), []int{0, 1})
	if err != nil || string(k) != "w\x1f2" {
		t.Errorf("FieldKeys: %q %v", k, err)
	}
	line := AppendTuple(nil, 5, "c", "s", 3, []byte(`["v"]`))
	var v map[string]any
	if err := json.Unmarshal(line, &v); err != nil || v["id"] != "5" || v["task"] != 3.0 {
		t.Errorf("AppendTuple: %s %v", line, err)
	}
	s := AppendStringBytes(nil, []byte("a\"\\\x01\xff\té"))
	var back string
	if err := json.Unmarshal(s, &back); err != nil || back != "a\"\\\x01\uFFFD\té" {
		t.Errorf("AppendStringBytes: %s %q %v", s, back, err)
	}
}

// FuzzParse: any line a component writes is read or refused, never a panic,
// and what is read as an emit carries valid JSON values.
func FuzzParse(f *testing.F) {
	for _, s := range []string{`["a",1]`, `{"emit":["x"],"id":1,"anchors":["2"]}`, `{"ack":"1"}`, `{"fail":2}`,
		`{"log":"x"}`, `{"metric":"m","value":1}`, `"s"`, `{`, `[`, `{"emit":}`, "\x00"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		var sc bytes.Buffer
		m, err := Parse(line, &sc)
		if err == nil && m.Kind == KindEmit && !json.Valid(m.Values) {
			t.Fatalf("emit of invalid values %q from %q", m.Values, line)
		}
		_ = RawLine(nil, line)
		_, _ = FieldKeys(nil, line, []int{0, 3})
		if s := AppendStringBytes(nil, line); !json.Valid(s) {
			t.Fatalf("AppendStringBytes(%q) = %q is not JSON", line, s)
		}
	})
}
