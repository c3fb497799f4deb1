package query

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"
)

func TestClosingBraceAndSubParts(t *testing.T) {
	for s, want := range map[string]int{"(())": 3, "(hello)": 6, "()()": 1} {
		if got, err := closingBrace(s); err != nil || got != want {
			t.Errorf("closingBrace(%q) = %d, %v; want %d", s, got, err, want)
		}
	}
	for _, s := range []string{"hello)", "((", "(a"} {
		if _, err := closingBrace(s); err == nil {
			t.Errorf("closingBrace(%q) did not fail", s)
		}
	}
	for s, want := range map[string][]string{
		"abc, def, xyz":    {"abc", "def", "xyz"},
		"(abc, xyz)":       {"(abc, xyz)"},
		"a(x, y), b(p, q)": {"a(x, y)", "b(p, q)"},
		",,":               {"", "", ""},
	} {
		got, err := subParts(s)
		if err != nil || fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("subParts(%q) = %q, %v; want %q", s, got, err, want)
		}
	}
	if _, err := subParts("())"); err == nil || !strings.Contains(err.Error(), "Too many closing braces") {
		t.Errorf("subParts(\"())\") = %v", err)
	}
}

func TestParse(t *testing.T) {
	n, err := Parse(" TS (comp, *, __emit-count/default) ")
	if err != nil || n.Op != OpTS || fmt.Sprint(n.Strings) != "[comp * __emit-count/default]" {
		t.Fatalf("TS: %v %v", n, err)
	}
	n, err = Parse("DEFAULT(0, SUM(TS(a,b,c)))")
	if err != nil || n.Args[0].Num != 0 || n.Args[1].Op != OpSum {
		t.Fatalf("DEFAULT: %v %v", n, err)
	}
	if n, err := Parse("(((RATE(TS(a, *, m)))))"); err != nil || n.Op != OpRate {
		t.Errorf("outer parentheses: %v %v", n, err)
	}
	if n, err := Parse("MULTIPLY(1e3, TS(a,*,m))"); err != nil || n.Args[0].Num != 1000 {
		t.Errorf("1e3: %v %v", n, err)
	}
	errs := map[string]string{
		"":                           "empty query",
		"FOO(1)":                     "Invalid token: 'FOO'",
		"ts(a,b,c)":                  "Invalid token: 'ts'",
		"TS(a,b)":                    "TS requires 3 arguments",
		"TS(a,b,c) x":                "Invalid syntax",
		"(TS(a,b,c)) x":              "Invalid syntax",
		"abc":                        "Invalid syntax",
		"DEFAULT(TS(a,b,c), 0)":      "First argument to DEFAULT must be a constant",
		"DEFAULT(0, 1)":              "Second argument to DEFAULT must be an operator",
		"DEFAULT(0)":                 "DEFAULT requires 2 arguments",
		"MAX()":                      "MAX expects at least one operand.",
		"PERCENTILE(TS(a,b,c), 90)":  "First argument to PERCENTILE must be a constant",
		"PERCENTILE(101, TS(a,b,c))": "Quantile must be between 0 and 100 inclusive.",
		"DIVIDE(TS(a,b,c))":          "DIVIDE requires exactly two arguments.",
		"MULTIPLY(1)":                "MULTIPLY requires exactly two arguments.",
		"SUBTRACT(1, 2, 3)":          "SUBTRACT requires exactly two arguments.",
		"RATE(TS(a,b,c), TS(a,b,c))": "RATE requires exactly one argument.",
		"RATE(5)":                    "RATE requires a timeseries, not constant.",
		"SUM(TS(a,b,c)":              "No closing braces found",
		"SUM(1,,2)":                  "SUM has an empty argument",
		"MAX(a(b)":                   "No closing braces found",
	}
	for q, want := range errs {
		_, err := Parse(q)
		if err == nil || !errors.Is(err, ErrSyntax) || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(%q) = %v; want %q", q, err, want)
		}
	}
}

// fake is a fetcher holding fixed raw timelines (the unit tests of Heron's
// tracker mock the timeline the same way; the HTTP path is tested against a
// real stats server in trackerapi).
type fake struct {
	data  map[string]map[string][]Point // metric → instance → points
	calls []string
	err   error
}

func (f *fake) fetch(_ context.Context, comp, metric string, insts []string, start, end int64) (map[string][]Point, error) {
	f.calls = append(f.calls, fmt.Sprintf("%s %s %v %d %d", comp, metric, insts, start, end))
	if f.err != nil {
		return nil, f.err
	}
	out := map[string][]Point{}
	for id, pts := range f.data[metric] {
		if len(insts) == 0 || insts[0] == id {
			out[id] = pts
		}
	}
	return out, nil
}

func pts(m map[int64]float64) []Point {
	var p []Point
	for t, v := range m {
		p = append(p, Point{t, v})
	}
	sort.Slice(p, func(i, j int) bool { return p[i].Time > p[j].Time })
	return p
}

func render(ss []*Series) string {
	var out []string
	for _, s := range ss {
		var ts []int64
		for t := range s.Data {
			ts = append(ts, t)
		}
		sort.Slice(ts, func(i, j int) bool { return ts[i] < ts[j] })
		var kv []string
		for _, t := range ts {
			kv = append(kv, fmt.Sprintf("%d:%g", t, s.Data[t]))
		}
		inst := "null"
		if s.Instance != nil {
			inst = *s.Instance
		}
		out = append(out, inst+"{"+strings.Join(kv, ",")+"}")
	}
	return strings.Join(out, " ")
}

func run(t *testing.T, f *fake, q string) string {
	t.Helper()
	n, err := Parse(q)
	if err != nil {
		t.Fatalf("Parse(%q): %v", q, err)
	}
	r, err := Eval(context.Background(), n, f.fetch, 100, 300)
	if err != nil {
		t.Fatalf("Eval(%q): %v", q, err)
	}
	return render(r)
}

// The cases Heron's query_operator_unittest pins (start=100, end=300,
// grid 120,180,240,300).
func TestHeronVectors(t *testing.T) {
	ones := pts(map[int64]float64{40: 1, 100: 1, 160: 1, 220: 1, 280: 1, 340: 1})
	f := &fake{data: map[string]map[string][]Point{"m": {"i1": ones}}}
	if got := run(t, f, "TS(c, i1, m)"); got != "i1{120:1,180:1,240:1,300:1}" {
		t.Errorf("TS = %s", got)
	}
	if f.calls[0] != "c m [i1] 40 360" {
		t.Errorf("fetch args = %s", f.calls[0])
	}

	missing := pts(map[int64]float64{180: 1, 240: 1, 300: 1})
	f = &fake{data: map[string]map[string][]Point{"m": {"i1": missing}}}
	if got := run(t, f, "TS(c, i1, m)"); got != "i1{180:1,240:1,300:1}" {
		t.Errorf("missing point kept missing: %s", got)
	}
	if got := run(t, f, "DEFAULT(0, TS(c, i1, m))"); got != "i1{120:0,180:1,240:1,300:1}" {
		t.Errorf("DEFAULT = %s", got)
	}
	if got := run(t, f, "SUM(10, TS(c, i1, m))"); got != "null{120:10,180:11,240:11,300:11}" {
		t.Errorf("SUM = %s", got)
	}
	if got := run(t, f, "MAX(TS(c, i1, m))"); got != "null{180:1,240:1,300:1}" {
		t.Errorf("MAX without constant = %s", got)
	}
	if got := run(t, f, "MAX(5, TS(c, *, m))"); got != "null{120:5,180:5,240:5,300:5}" {
		t.Errorf("MAX with constant = %s", got)
	}

	five := map[string][]Point{}
	for i := 1; i <= 5; i++ {
		five[fmt.Sprintf("i%d", i)] = pts(map[int64]float64{120: float64(i), 180: float64(10 * i)})
	}
	f = &fake{data: map[string]map[string][]Point{"m": five}}
	if got := run(t, f, "PERCENTILE(90, TS(c, *, m))"); got != "null{120:4,180:40}" {
		t.Errorf("PERCENTILE(90) = %s", got)
	}
	if got := run(t, f, "PERCENTILE(100, TS(c, *, m), 1000)"); got != "null{120:5,180:50}" {
		t.Errorf("PERCENTILE ignores constants: %s", got)
	}
	if got := run(t, f, "MAX(TS(c, *, m))"); got != "null{120:5,180:50}" {
		t.Errorf("MAX over series = %s", got)
	}
	if got := run(t, f, "SUM(TS(c, *, m))"); got != "null{120:15,180:150,240:0,300:0}" {
		t.Errorf("SUM over series = %s", got)
	}

	f = &fake{data: map[string]map[string][]Point{"m": {"i1": pts(map[int64]float64{120: 1, 180: 2, 240: 4, 300: 5})}}}
	if got := run(t, f, "DIVIDE(100, TS(c, i1, m))"); got != "i1{120:100,180:50,240:25,300:20}" {
		t.Errorf("DIVIDE = %s", got)
	}
	if got := run(t, f, "DIVIDE(TS(c, i1, m), 0)"); got != "i1{}" {
		t.Errorf("divide by constant 0 = %s", got)
	}
	if got := run(t, f, "SUBTRACT(TS(c, i1, m), 1)"); got != "i1{120:0,180:1,240:3,300:4}" {
		t.Errorf("SUBTRACT = %s", got)
	}

	rate := pts(map[int64]float64{60: 0, 120: 1, 180: 2, 240: 4, 300: 5})
	f = &fake{data: map[string]map[string][]Point{"m": {"i1": rate}}}
	if got := run(t, f, "RATE(TS(c, i1, m))"); got != "i1{120:1,180:1,240:2,300:1}" {
		t.Errorf("RATE = %s", got)
	}
	if f.calls[0] != "c m [i1] -20 360" {
		t.Errorf("RATE fetch window = %s (want (start-60)-60 .. end+60)", f.calls[0])
	}
	gap := pts(map[int64]float64{60: 0, 180: 2, 240: 4, 300: 5})
	f = &fake{data: map[string]map[string][]Point{"m": {"i1": gap}}}
	if got := run(t, f, "RATE(TS(c, i1, m))"); got != "i1{240:2,300:1}" {
		t.Errorf("RATE after a gap = %s", got)
	}
}

func TestBinaryInstanceMatching(t *testing.T) {
	a := map[string][]Point{"x": pts(map[int64]float64{120: 10, 180: 20}), "y": pts(map[int64]float64{120: 30}), "z": pts(map[int64]float64{120: 1})}
	b := map[string][]Point{"x": pts(map[int64]float64{120: 2, 180: 4}), "y": pts(map[int64]float64{180: 3}), "w": pts(map[int64]float64{120: 1})}
	f := &fake{data: map[string]map[string][]Point{"a": a, "b": b}}
	// Only the shared instances, each on the left's minutes.
	if got := run(t, f, "DIVIDE(TS(c,*,a), TS(c,*,b))"); got != "x{120:5,180:5} y{}" {
		t.Errorf("multi/multi = %s", got)
	}
	if got := run(t, f, "MULTIPLY(TS(c,*,a), 2)"); got != "x{120:20,180:40} y{120:60} z{120:2}" {
		t.Errorf("multi*const = %s", got)
	}
	// Univariate ⊗ univariate gives one series with a null instance.
	if got := run(t, f, "SUBTRACT(SUM(TS(c,*,a)), SUM(TS(c,*,b)))"); got != "null{120:38,180:13,240:0,300:0}" {
		t.Errorf("uni-uni = %s", got)
	}
	// Left multivariate, right empty: empty series per left instance.
	if got := run(t, f, "DIVIDE(TS(c,*,a), TS(c,*,nothing))"); got != "x{} y{} z{}" {
		t.Errorf("multi/empty = %s", got)
	}
	// Left empty univariate: nothing.
	if got := run(t, f, "DIVIDE(TS(c,*,nothing), TS(c,*,a))"); got != "" {
		t.Errorf("empty/multi = %q", got)
	}
}

func TestNewestPointWinsAndNaNDropped(t *testing.T) {
	// Newest first, as the topology manager answers: two points in minute 120.
	f := &fake{data: map[string]map[string][]Point{"m": {"i": {{Time: 125, Value: 7}, {Time: 121, Value: 0}, {Time: 60, Value: 3}}}}}
	if got := run(t, f, "TS(c,i,m)"); got != "i{120:7}" {
		t.Errorf("got %s", got)
	}
}

func TestErrorsPropagate(t *testing.T) {
	for _, q := range []string{"TS(a,*,m)", "DEFAULT(0, TS(a,*,m))", "SUM(TS(a,*,m))", "MAX(TS(a,*,m))",
		"PERCENTILE(50, TS(a,*,m))", "DIVIDE(TS(a,*,m), 1)", "MULTIPLY(1, TS(a,*,m))", "SUBTRACT(TS(a,*,m), TS(a,*,m))", "RATE(TS(a,*,m))"} {
		n, err := Parse(q)
		if err != nil {
			t.Fatal(err)
		}
		f := &fake{err: errors.New("No Tmanager found")}
		if _, err := Eval(context.Background(), n, f.fetch, 100, 300); err == nil || err.Error() != "No Tmanager found" {
			t.Errorf("%s: %v", q, err)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"TS(a,*,m)", "DEFAULT(0, TS(c,i,m))", "DIVIDE( DEFAULT(0, MULTIPLY( TS(c,*,__execute-count/default), TS(c,*,__execute-latency/default) )), 60000000000 )",
		"RATE(TS(c,i,__jvm-gc-collection-time-ms))", "((1))", "PERCENTILE(90, TS(a,b,c), 3)", ",,", "())", "SUM()", "MAX(1e309, -inf, nan)",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, q string) {
		n, err := Parse(q)
		if err != nil {
			if !errors.Is(err, ErrSyntax) {
				t.Fatalf("Parse(%q): error not ErrSyntax: %v", q, err)
			}
			return
		}
		// A parsed query re-parses to the same tree.
		again, err := Parse(n.String())
		if err != nil {
			t.Fatalf("Parse(String(%q)) = %v (%q)", q, err, n.String())
		}
		if again.String() != n.String() {
			t.Fatalf("round trip %q → %q → %q", q, n.String(), again.String())
		}
		fk := &fake{data: map[string]map[string][]Point{}}
		if !n.IsConst() {
			if _, err := Eval(context.Background(), n, fk.fetch, 100, 300); err != nil && !strings.Contains(err.Error(), "constant") {
				t.Fatalf("Eval(%q): %v", q, err)
			}
		}
	})
}
