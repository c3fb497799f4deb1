package tmstats

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/heronkit/heronkit/lib/proto/systempb"
	"github.com/heronkit/heronkit/lib/proto/tmanagerpb"
)

// clock is a hand-moved clock.
type clock struct{ t time.Time }

func (c *clock) now() time.Time      { return c.t }
func (c *clock) add(d time.Duration) { c.t = c.t.Add(d) }
func newClock(sec int64) *clock      { return &clock{t: time.Unix(sec, 0)} }
func newStore(c *clock) *Store       { return New(Options{Now: c.now}) }
func req(comp string) *tmanagerpb.MetricRequest {
	return &tmanagerpb.MetricRequest{ComponentName: proto.String(comp)}
}

// values flattens a response to instance → metric → value (non-minutely).
func values(t *testing.T, r *tmanagerpb.MetricResponse) map[string]map[string]string {
	t.Helper()
	if r.GetStatus().GetStatus() != systempb.StatusCode_OK {
		t.Fatalf("status %v %q", r.GetStatus().GetStatus(), r.GetStatus().GetMessage())
	}
	out := map[string]map[string]string{}
	for _, tm := range r.GetMetric() {
		out[tm.GetInstanceId()] = map[string]string{}
		for _, im := range tm.GetMetric() {
			out[tm.GetInstanceId()][im.GetName()] = im.GetValue()
		}
	}
	return out
}

func TestAggregationsAllTimeAndWindow(t *testing.T) {
	c := newClock(1_000_000)
	s := newStore(c)
	for _, v := range []string{"1", "2", "3"} {
		s.Add("word", "i1", "__emit-count/default", v, time.Time{})
		s.Add("word", "i1", "__execute-latency/default", v, time.Time{})
		s.Add("word", "i1", "__jvm-uptime-secs", v, time.Time{})
	}
	c.add(90 * time.Second) // one purge: a new front bucket
	s.Add("word", "i1", "__emit-count/default", "10", time.Time{})
	s.Add("word", "i1", "__execute-latency/default", "10", time.Time{})
	s.Add("word", "i1", "__jvm-uptime-secs", "10", time.Time{})

	names := []string{"__emit-count/default", "__execute-latency/default", "__jvm-uptime-secs", "__not-there"}
	all := req("word")
	all.Metric = names
	all.Interval = proto.Int64(-1)
	r := s.Metrics(all)
	if got := r.GetInterval(); got != c.t.Unix() {
		t.Errorf("all-time interval = %d, want now %d", got, c.t.Unix())
	}
	want := map[string]string{"__emit-count/default": "16.000000", "__execute-latency/default": "4.000000", "__jvm-uptime-secs": "10.000000"}
	if got := values(t, r)["i1"]; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("all time = %v, want %v", got, want)
	}

	// The last 30 s overlap only the new bucket [start+60, start+120).
	w := req("word")
	w.Metric = names
	w.Interval = proto.Int64(20)
	want = map[string]string{"__emit-count/default": "10.000000", "__execute-latency/default": "10.000000", "__jvm-uptime-secs": "10.000000"}
	if got := values(t, s.Metrics(w))["i1"]; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("last 20 s = %v, want %v", got, want)
	}
	// A window over both buckets: LAST takes the newest overlapping bucket only.
	w.Interval = proto.Int64(80)
	want = map[string]string{"__emit-count/default": "16.000000", "__execute-latency/default": "4.000000", "__jvm-uptime-secs": "10.000000"}
	if got := values(t, s.Metrics(w))["i1"]; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("last 80 s = %v, want %v", got, want)
	}
}

func TestMinutelyBucketsAreHerons(t *testing.T) {
	const t0 = 1_000_000
	c := newClock(t0)
	s := New(Options{Now: c.now, MaxInterval: 5 * time.Minute}) // 5 buckets
	c.add(5 * time.Second)                                      // the metric is created 5 s after the store
	s.Add("b", "i", "__emit-count/x", "7", time.Time{})
	c.add(60 * time.Second) // purge 1 at t0+60
	s.Add("b", "i", "__emit-count/x", "3", time.Time{})
	c.add(60 * time.Second) // purge 2 at t0+120; now t0+125

	q := req("b")
	q.Metric = []string{"__emit-count/x"}
	q.Minutely = proto.Bool(true)
	q.ExplicitInterval = &tmanagerpb.MetricInterval{Start: proto.Int64(0), End: proto.Int64(t0 + 1000)}
	r := s.Metrics(q)
	var got []string
	for _, iv := range r.GetMetric()[0].GetMetric()[0].GetIntervalValues() {
		got = append(got, fmt.Sprintf("%d-%d=%s", iv.GetInterval().GetStart(), iv.GetInterval().GetEnd(), iv.GetValue()))
	}
	// Newest first; the creation buckets all carry the creation second.
	want := []string{
		fmt.Sprintf("%d-%d=0.000000", t0+120, t0+180),
		fmt.Sprintf("%d-%d=3.000000", t0+60, t0+120),
		fmt.Sprintf("%d-%d=7.000000", t0+5, t0+65),
		fmt.Sprintf("%d-%d=0.000000", t0+5, t0+65),
		fmt.Sprintf("%d-%d=0.000000", t0+5, t0+65),
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("minutely =\n %v\nwant\n %v", got, want)
	}
	if r.GetInterval() != t0+1000 {
		t.Errorf("interval = %d", r.GetInterval())
	}

	// A window that overlaps only the middle bucket; iteration stops once
	// the window starts after a bucket's end.
	q.ExplicitInterval = &tmanagerpb.MetricInterval{Start: proto.Int64(t0 + 100), End: proto.Int64(t0 + 110)}
	ivs := s.Metrics(q).GetMetric()[0].GetMetric()[0].GetIntervalValues()
	if len(ivs) != 1 || ivs[0].GetValue() != "3.000000" {
		t.Errorf("narrow window = %v", ivs)
	}

	// Retention: after 5 more purges the values are gone from every bucket,
	// but the all-time total stays.
	c.add(5 * time.Minute)
	ivs = s.Metrics(func() *tmanagerpb.MetricRequest {
		q.ExplicitInterval = &tmanagerpb.MetricInterval{Start: proto.Int64(0), End: proto.Int64(t0 + 10000)}
		return q
	}()).GetMetric()[0].GetMetric()[0].GetIntervalValues()
	if len(ivs) != 5 {
		t.Fatalf("want 5 buckets, got %d", len(ivs))
	}
	for _, iv := range ivs {
		if iv.GetValue() != "0.000000" {
			t.Errorf("old value still held: %v", iv)
		}
	}
	all := req("b")
	all.Metric = []string{"__emit-count/x"}
	all.Interval = proto.Int64(0)
	if v := values(t, s.Metrics(all))["i"]["__emit-count/x"]; v != "10.000000" {
		t.Errorf("all time after purge = %s", v)
	}
}

func TestAvgOfEmptyBucketIsNaNAsInHeron(t *testing.T) {
	c := newClock(5000)
	s := newStore(c)
	s.Add("b", "i", "__execute-latency/s", "4", time.Time{})
	c.add(61 * time.Second)
	q := req("b")
	q.Metric = []string{"__execute-latency/s"}
	q.Minutely = proto.Bool(true)
	q.ExplicitInterval = &tmanagerpb.MetricInterval{Start: proto.Int64(5055), End: proto.Int64(5070)}
	ivs := s.Metrics(q).GetMetric()[0].GetMetric()[0].GetIntervalValues()
	// 1 new bucket, then the 179 creation buckets: one holds the value.
	if len(ivs) != 180 || !strings.HasSuffix(ivs[0].GetValue(), "nan") || ivs[1].GetValue() != "4.000000" || ivs[2].GetValue() != "-nan" {
		t.Errorf("got %v", ivs)
	}
	if v, ok := ParseValue(ivs[0].GetValue()); !ok || !math.IsNaN(v) {
		t.Errorf("ParseValue(%q) = %v %v", ivs[0].GetValue(), v, ok)
	}
}

func TestAddFilesByArrivalTime(t *testing.T) {
	c := newClock(10_000)
	s := newStore(c)
	s.Add("b", "i", "__emit-count/s", "1", time.Time{})
	c.add(125 * time.Second)
	s.Add("b", "i", "__emit-count/s", "2", time.Unix(10_070, 0)) // lands in the bucket started at 10060
	s.Add("b", "i", "__emit-count/s", "4", time.Unix(9_000, 0))  // older than every bucket: dropped
	s.Add("b", "i", "__emit-count/s", "8", c.t.Add(time.Hour))   // future: the front bucket
	s.Add("b", "i", "no-type-matches", "1", time.Time{})         // dropped, not stored
	q := req("b")
	q.Metric = []string{"__emit-count/s", "no-type-matches"}
	q.Minutely = proto.Bool(true)
	q.ExplicitInterval = &tmanagerpb.MetricInterval{Start: proto.Int64(10_060), End: proto.Int64(20_000)}
	var got []string
	for _, iv := range s.Metrics(q).GetMetric()[0].GetMetric()[0].GetIntervalValues() {
		got = append(got, fmt.Sprintf("%d=%s", iv.GetInterval().GetStart(), iv.GetValue()))
	}
	// The rest are the creation buckets, all stamped 10000 and empty.
	want := "10120=8.000000 10060=2.000000 10000=1.000000 10000=0.000000"
	if len(got) != 180 || strings.Join(got[:4], " ") != want {
		t.Errorf("got %v want %s", got, want)
	}
	if n := len(s.Metrics(q).GetMetric()[0].GetMetric()); n != 1 {
		t.Errorf("untyped metric stored: %d metrics", n)
	}
}

func TestMetricErrors(t *testing.T) {
	c := newClock(100)
	s := newStore(c)
	s.SetComponents([]string{"word", "exclaim"})
	s.Add("word", "a", "__emit-count/x", "1", time.Time{})
	s.Add("word", "b", "__emit-count/x", "1", time.Time{})

	check := func(r *tmanagerpb.MetricResponse, code systempb.StatusCode, msg string) {
		t.Helper()
		if r.GetStatus().GetStatus() != code || r.GetStatus().GetMessage() != msg {
			t.Errorf("status = %v %q, want %v %q", r.GetStatus().GetStatus(), r.GetStatus().GetMessage(), code, msg)
		}
	}
	q := req("exclaim")
	q.Interval = proto.Int64(-1)
	check(s.Metrics(q), systempb.StatusCode_NOTOK, "Metrics not available for component `exclaim`")
	q.ComponentName = proto.String("nope")
	check(s.Metrics(q), systempb.StatusCode_NOTOK, "Unknown component: nope")
	check(s.Metrics(req("word")), systempb.StatusCode_NOTOK, "No interval or explicit interval set")
	q = req("word")
	q.Interval = proto.Int64(-1)
	q.Metric = []string{"__emit-count/x"}
	q.InstanceId = []string{"b", "zzz", "a"}
	r := s.Metrics(q)
	check(r, systempb.StatusCode_NOTOK, "")
	if len(r.GetMetric()) != 1 || r.GetMetric()[0].GetInstanceId() != "b" {
		t.Errorf("want what was built before the unknown instance, got %v", r.GetMetric())
	}
	q.InstanceId = nil
	r = s.Metrics(q)
	check(r, systempb.StatusCode_OK, "")
	if len(r.GetMetric()) != 2 || r.GetMetric()[0].GetInstanceId() != "a" {
		t.Errorf("all instances in id order, got %v", r.GetMetric())
	}
}

func exc(comp, inst, trace string, count int32, first, last string) *tmanagerpb.TmanagerExceptionLog {
	return &tmanagerpb.TmanagerExceptionLog{
		ComponentName: proto.String(comp), Hostname: proto.String("h:1"), InstanceId: proto.String(inst),
		Stacktrace: proto.String(trace), Lasttime: proto.String(last), Firsttime: proto.String(first),
		Count: proto.Int32(count),
	}
}

func TestExceptionsAndSummary(t *testing.T) {
	s := newStore(newClock(1))
	for i := 0; i < 300; i++ {
		s.AddException(exc("bolt", "b2", fmt.Sprintf("java.lang.RuntimeException: %d\n\tat x", i), 1, "f", fmt.Sprint(i)))
	}
	s.AddException(exc("bolt", "b1", "java.io.IOException: gone", 3, "f1", "l1"))
	s.AddException(exc("bolt", "b1", "no colon here", 5, "f2", "l2"))
	s.AddException(exc("bolt", "b1", "java.io.IOException: again", 2, "f3", "l3"))

	all := s.Exceptions(&tmanagerpb.ExceptionLogRequest{ComponentName: proto.String("bolt")})
	if all.GetStatus().GetMessage() != "OK" || len(all.Exceptions) != 3+256 {
		t.Fatalf("got %v %d", all.GetStatus(), len(all.Exceptions))
	}
	if all.Exceptions[0].GetInstanceId() != "b1" || all.Exceptions[3].GetLasttime() != "44" {
		t.Errorf("order: first %v, fourth %v", all.Exceptions[0], all.Exceptions[3])
	}
	one := s.Exceptions(&tmanagerpb.ExceptionLogRequest{ComponentName: proto.String("bolt"), Instances: []string{"b2", "nope", "b1"}})
	if one.Exceptions[0].GetInstanceId() != "b2" || one.Exceptions[256].GetInstanceId() != "b1" {
		t.Errorf("request order not kept")
	}

	sum := s.ExceptionSummary(&tmanagerpb.ExceptionLogRequest{ComponentName: proto.String("bolt")})
	var got []string
	for _, e := range sum.Exceptions {
		got = append(got, fmt.Sprintf("%s/%s/%d/%s/%s", e.GetStacktrace(), e.GetInstanceId(), e.GetCount(), e.GetFirsttime(), e.GetLasttime()))
	}
	want := "java.io.IOException/b1/5/f1/l3 java.lang.RuntimeException/b2/256/f/299"
	if strings.Join(got, " ") != want {
		t.Errorf("summary = %v\nwant %s", got, want)
	}
	bad := s.ExceptionSummary(&tmanagerpb.ExceptionLogRequest{ComponentName: proto.String("x")})
	if bad.GetStatus().GetStatus() != systempb.StatusCode_NOTOK || bad.GetStatus().GetMessage() != "Unknown component" {
		t.Errorf("unknown component: %v", bad.GetStatus())
	}
}

func TestFormatAndParseValue(t *testing.T) {
	for v, want := range map[float64]string{12: "12.000000", -0.5: "-0.500000", 1e7: "10000000.000000", math.Inf(1): "inf"} {
		if got := FormatValue(v); got != want {
			t.Errorf("FormatValue(%v) = %s want %s", v, got, want)
		}
	}
	for in, want := range map[string]float64{"12abc": 12, "  7": 7, "junk": 0, "1e3": 1000, "-2.5x": -2.5} {
		if got := parseValue(in); got != want {
			t.Errorf("parseValue(%q) = %v want %v", in, got, want)
		}
	}
}

func TestTypesPrefixSorted(t *testing.T) {
	ty, err := ParseTypes(map[string]string{"__emit": "LAST", "__emit-count": "SUM", "x": "AVG"})
	if err != nil {
		t.Fatal(err)
	}
	// Sorted order puts "__emit" before "__emit-count": Heron's std::map order.
	if ty.Of("__emit-count/default") != Last || ty.Of("xyz") != Avg || ty.Of("y") != Unknown {
		t.Errorf("Of: %v %v %v", ty.Of("__emit-count/default"), ty.Of("xyz"), ty.Of("y"))
	}
	if _, err := ParseTypes(map[string]string{"a": "MEAN"}); err == nil {
		t.Error("MEAN accepted")
	}
}

// TestProtocolOverHTTP runs the handler on a real listener and talks to it
// with the client, as heron-tracker does.
func TestProtocolOverHTTP(t *testing.T) {
	c := newClock(50_000)
	s := newStore(c)
	s.Publish(&tmanagerpb.PublishMetrics{
		Metrics: []*tmanagerpb.MetricDatum{{
			ComponentName: proto.String("word"), InstanceId: proto.String("container_1_word_1"),
			Name: proto.String("__emit-count/default"), Value: proto.String("42"), Timestamp: proto.Int64(1),
		}},
		Exceptions: []*tmanagerpb.TmanagerExceptionLog{exc("word", "container_1_word_1", "java.lang.Error: boom", 2, "a", "b")},
	})
	srv := httptest.NewServer(Handler(s, func() ([]string, []string) { return []string{"stmgr-1"}, []string{"stmgr-2"} }))
	defer srv.Close()
	cl := &Client{Base: srv.URL}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	q := req("word")
	q.Metric = []string{"__emit-count/default"}
	q.Interval = proto.Int64(-1)
	r, err := cl.Metrics(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	if v := values(t, r)["container_1_word_1"]["__emit-count/default"]; v != "42.000000" {
		t.Errorf("value %q", v)
	}
	e, err := cl.Exceptions(ctx, &tmanagerpb.ExceptionLogRequest{ComponentName: proto.String("word")})
	if err != nil || len(e.Exceptions) != 1 || e.Exceptions[0].GetStacktrace() != "java.lang.Error: boom" {
		t.Fatalf("exceptions %v %v", e, err)
	}
	e, err = cl.ExceptionSummary(ctx, &tmanagerpb.ExceptionLogRequest{ComponentName: proto.String("word")})
	if err != nil || len(e.Exceptions) != 1 || e.Exceptions[0].GetStacktrace() != "java.lang.Error" {
		t.Fatalf("summary %v %v", e, err)
	}
	reg, err := cl.Registrations(ctx)
	if err != nil || fmt.Sprint(reg.RegisteredStmgrs, reg.AbsentStmgrs) != "[stmgr-1] [stmgr-2]" {
		t.Fatalf("registrations %v %v", reg, err)
	}

	// Bad bodies and paths: 400, as Heron.
	for _, path := range []string{"/stats", "/nope"} {
		res, err := http.Post(srv.URL+path, "application/octet-stream", strings.NewReader("\xff\xff\xff"))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: status %d", path, res.StatusCode)
		}
	}
	// A required field missing is a bad body too.
	if _, err := (&Client{Base: srv.URL}).Metrics(ctx, &tmanagerpb.MetricRequest{}); err == nil {
		t.Error("request without component_name accepted")
	}
	// An unreachable server is a clear error.
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	if _, err := (&Client{Base: dead.URL}).Metrics(ctx, q); err == nil || !strings.Contains(err.Error(), "reach topology manager") {
		t.Errorf("unreachable: %v", err)
	}
}
