package metricsrecord

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

func readAll(t testing.TB, in string) (recs []*Record, bad []int) {
	r := NewReader(strings.NewReader(in))
	for {
		rec, err := r.Next()
		var le *LineError
		switch {
		case err == nil:
			recs = append(recs, rec)
		case errors.As(err, &le):
			bad = append(bad, le.Line)
		case errors.Is(err, io.EOF):
			return recs, bad
		default:
			t.Fatalf("unexpected error: %v", err)
		}
	}
}

func TestReaderSkipsMalformedLines(t *testing.T) {
	in := `{"timestamp":1,"source":"h:1/c/i","metrics":[{"name":"a","value":"1"}]}` + "\n" +
		"garbage\n" +
		"\n" +
		`{"timestamp":0,"source":"h:1/c/i"}` + "\n" +
		`{"timestamp":2,"source":"h:1/c/i","context":"x"}` + "\r\n" +
		`{"timestamp":3,"source":"h:1/c/i"}` // no final newline
	recs, bad := readAll(t, in)
	if len(recs) != 3 || recs[0].Context != "default" || recs[1].Context != "x" || recs[2].Timestamp != 3 {
		t.Fatalf("records %+v", recs)
	}
	if len(bad) != 2 || bad[0] != 2 || bad[1] != 4 {
		t.Errorf("bad lines %v, want [2 4]", bad)
	}
}

// A line longer than MaxLineBytes is skipped and reading goes on.
func TestReaderSkipsOverlongLine(t *testing.T) {
	var b bytes.Buffer
	b.WriteString(`{"timestamp":1,"source":"a/b/c"}` + "\n")
	b.WriteString(`{"source":"`)
	b.Write(bytes.Repeat([]byte("x"), MaxLineBytes))
	b.WriteString("\"}\n")
	b.WriteString(`{"timestamp":2,"source":"a/b/c"}` + "\n")
	recs, bad := readAll(t, b.String())
	if len(recs) != 2 || recs[1].Timestamp != 2 || len(bad) != 1 || bad[0] != 2 {
		t.Errorf("records %d, bad %v", len(recs), bad)
	}
}

func TestWriterReaderRoundTrip(t *testing.T) {
	rec := &Record{Timestamp: 5, Source: "h:1/c/i", Context: "default",
		Metrics:    []Metric{{Name: "<a&b>", Value: "1"}},
		Exceptions: []Exception{{StackTrace: "x\ny", Count: 2}}, Topology: "T", MetricsMgrID: "metricsmgr-1"}
	var b bytes.Buffer
	if err := NewWriter(&b).Write(rec); err != nil {
		t.Fatal(err)
	}
	recs, bad := readAll(t, b.String())
	if len(bad) != 0 || len(recs) != 1 || recs[0].Metrics[0].Name != "<a&b>" || recs[0].Exceptions[0].Count != 2 || recs[0].MetricsMgrID != "metricsmgr-1" {
		t.Errorf("round trip: %+v %v", recs, bad)
	}
}

func FuzzReader(f *testing.F) {
	for _, s := range []string{
		`{"timestamp":1,"source":"h:1/c/i","metrics":[{"name":"a","value":"1"}]}` + "\n",
		"garbage\n\n{}\n",
		`{"timestamp":1,"source":"x","exceptions":[{"count":"x"}]}`,
		"\r\n\r\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		recs, _ := readAll(t, in)
		for _, r := range recs {
			if r.Validate() != nil || r.Context == "" {
				t.Fatalf("invalid record returned: %+v", r)
			}
		}
	})
}
