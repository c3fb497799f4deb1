package ui

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// closedTracker is a tracker URL nothing listens on.
func closedTracker(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr
}

func get(t *testing.T, h http.Handler, target string) (*http.Response, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
	resp := rec.Result()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestCleanBaseURL(t *testing.T) {
	for in, want := range map[string]string{"": "", "/": "", "heron": "/heron", "/heron/": "/heron", "/a//b/": "/a/b"} {
		got, err := CleanBaseURL(in)
		if err != nil || got != want {
			t.Errorf("CleanBaseURL(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"/a?b", "/a b", `/"x`} {
		if _, err := CleanBaseURL(bad); err == nil {
			t.Errorf("CleanBaseURL(%q) accepted", bad)
		}
	}
}

func TestParseTrackerURL(t *testing.T) {
	for _, ok := range []string{"http://127.0.0.1:8888", "https://tracker.example/", "http://h:1/prefix"} {
		if _, err := ParseTrackerURL(ok); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "127.0.0.1:8888", "ftp://h/", "http://"} {
		if _, err := ParseTrackerURL(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestErrorMessage(t *testing.T) {
	cases := map[string]string{
		`"request failed: 'Topology not found for local, nope, X'"`:                                    "request failed: 'Topology not found for local, nope, X'",
		`{"detail":"start_time > end_time"}`:                                                           "start_time > end_time",
		`{"detail":[{"loc":["query","environ"],"msg":"field required","type":"value_error.missing"}]}`: `field required ["query","environ"]`,
		`{"status":"failure","message":"Missing argument topology","result":null}`:                     "Missing argument topology",
		`Internal Server Error`: "Internal Server Error",
		``:                      "fallback",
	}
	for body, want := range cases {
		if got := ErrorMessage([]byte(body), "fallback"); got != want {
			t.Errorf("ErrorMessage(%s) = %q, want %q", body, got, want)
		}
	}
}

func FuzzErrorMessage(f *testing.F) {
	for _, s := range []string{`"x"`, `{"detail":[{"loc":1}]}`, `{"message":5}`, `[1,2]`, "\xff", `{"detail":[null,"a",{"msg":null}]}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if ErrorMessage(b, "fallback") == "" {
			t.Fatal("empty message")
		}
	})
}

func TestCannedQueries(t *testing.T) {
	// Heron UI's capacity query, whitespace stripped.
	got, ok := CannedQuery("capacity", "split", "*")
	want := "DIVIDE(DEFAULT(0,MULTIPLY(TS(split,*,__execute-count/default),TS(split,*,__execute-latency/default))),60000000000)"
	if !ok || got != want {
		t.Errorf("capacity = %q", got)
	}
	got, _ = CannedQuery("backpressure", "container_1_split_3", "*")
	if got != "DEFAULT(0,TS(__stmgr__,*,__time_spent_back_pressure_by_compid/container_1_split_3))" {
		t.Errorf("backpressure = %q", got)
	}
	if _, ok := CannedQuery("nope", "a", "b"); ok {
		t.Error("unknown metric accepted")
	}
	for name, q := range CannedQueries {
		if strings.Count(q, "(") != strings.Count(q, ")") {
			t.Errorf("%s: unbalanced parentheses", name)
		}
	}
}

func TestParseTimelineRequest(t *testing.T) {
	base := "cluster=local&environ=default&topology=T&metric=cpu&starttime=100&endtime=300"
	r, err := parseTimelineRequest(mustQuery(t, base+"&max=true"))
	if err != nil || r.instance != "*" || !r.max || r.start != 100 || r.topo.Get("role") != "" {
		t.Fatalf("parse: %+v %v", r, err)
	}
	for _, bad := range []string{
		"environ=default&topology=T&metric=cpu&starttime=1&endtime=2",
		"cluster=c&environ=e&topology=T&metric=nope&starttime=1&endtime=2",
		"cluster=c&environ=e&topology=T&metric=cpu&starttime=x&endtime=2",
		"cluster=c&environ=e&topology=T&metric=cpu&starttime=3&endtime=2",
	} {
		if _, err := parseTimelineRequest(mustQuery(t, bad)); err == nil {
			t.Errorf("accepted %s", bad)
		}
	}
}

func mustQuery(t *testing.T, s string) url.Values {
	q, err := url.ParseQuery(s)
	if err != nil {
		t.Fatal(err)
	}
	return q
}

func TestMaxSeries(t *testing.T) {
	a, b := "a", "b"
	m := MaxSeries([]Series{{Instance: &a, Data: map[string]float64{"60": 1, "120": 5}}, {Instance: &b, Data: map[string]float64{"60": 3, "180": 2}}})
	if m.Instance != nil || m.Data["60"] != 3 || m.Data["120"] != 5 || m.Data["180"] != 2 || len(m.Data) != 3 {
		t.Errorf("MaxSeries = %+v", m)
	}
}

func TestRoutes(t *testing.T) {
	s, err := New(Config{TrackerURL: closedTracker(t), Log: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	resp, body := get(t, s, "/healthz")
	if resp.StatusCode != 200 || body != "ok\n" {
		t.Errorf("/healthz: %d %q", resp.StatusCode, body)
	}
	resp, _ = get(t, s, "/")
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/topologies" {
		t.Errorf("/: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	for _, page := range []string{"/topologies", "/topologies/local/default/T", "/topologies/local/default/T/config",
		"/topologies/local/default/T/1/file?path=log-files/x", "/topologies/filestats/local/default/T/1/file"} {
		resp, body = get(t, s, page)
		if resp.StatusCode != 200 || !strings.Contains(body, `<script src="/static/app.js?v=`+s.version) || !strings.Contains(body, `"base":""`) {
			t.Errorf("%s: %d\n%s", page, resp.StatusCode, body)
		}
	}
	resp, body = get(t, s, "/static/app.js?v="+s.version)
	if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Content-Type"), "javascript") || !strings.Contains(resp.Header.Get("Cache-Control"), "immutable") || !strings.Contains(body, "layoutDAG") {
		t.Errorf("app.js: %d %v", resp.StatusCode, resp.Header)
	}
	resp, _ = get(t, s, "/no/such/page")
	if resp.StatusCode != 404 {
		t.Errorf("unknown page: %d", resp.StatusCode)
	}
	resp, body = get(t, s, "/api/tracker/etc/passwd")
	if resp.StatusCode != 404 || !strings.Contains(body, "does not proxy") {
		t.Errorf("non-tracker path proxied: %d %s", resp.StatusCode, body)
	}
	resp, body = get(t, s, "/api/tracker/../../etc/passwd")
	if resp.StatusCode == 200 {
		t.Errorf("path escape proxied: %d %s", resp.StatusCode, body)
	}
	resp, body = get(t, s, "/api/tracker/clusters")
	if resp.StatusCode != http.StatusBadGateway || !strings.Contains(body, "unreachable") || !strings.Contains(body, "--tracker-url") {
		t.Errorf("down tracker: %d %s", resp.StatusCode, body)
	}
	resp, body = get(t, s, "/topologies/metrics/timeline?cluster=c&environ=e&topology=t&metric=bogus&starttime=1&endtime=2")
	if resp.StatusCode != 400 || !strings.Contains(body, `"status":"failure"`) {
		t.Errorf("bad timeline: %d %s", resp.StatusCode, body)
	}
	resp, body = get(t, s, "/topologies/metrics/timeline?cluster=c&environ=e&topology=t&metric=cpu&starttime=1&endtime=2")
	if resp.StatusCode != http.StatusBadGateway || !strings.Contains(body, "unreachable") {
		t.Errorf("timeline with down tracker: %d %s", resp.StatusCode, body)
	}
}

// Behind a proxy, links carry the base URL whether or not the proxy strips it.
func TestBaseURL(t *testing.T) {
	s, err := New(Config{TrackerURL: closedTracker(t), BaseURL: "heron/", Log: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/heron/topologies", "/topologies"} {
		resp, body := get(t, s, p)
		if resp.StatusCode != 200 || !strings.Contains(body, `src="/heron/static/app.js`) || !strings.Contains(body, `"base":"/heron"`) {
			t.Errorf("%s: %d\n%s", p, resp.StatusCode, body)
		}
	}
	resp, _ := get(t, s, "/heron/static/app.css")
	if resp.StatusCode != 200 {
		t.Errorf("static under base: %d", resp.StatusCode)
	}
	resp, _ = get(t, s, "/heron")
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/heron/topologies" {
		t.Errorf("/heron: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// Serve answers /metrics, tells systemd it is ready, and stops cleanly.
func TestServeNotifiesAndShutsDown(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "notify.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	t.Setenv("NOTIFY_SOCKET", sock)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, ln, Config{TrackerURL: closedTracker(t), Log: zerolog.Nop()}, nil) }()

	buf := make([]byte, 64)
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	n, err := conn.Read(buf)
	if err != nil || string(buf[:n]) != "READY=1" {
		t.Fatalf("notify: %q %v", buf[:n], err)
	}
	base := "http://" + ln.Addr().String()
	for _, p := range []string{"/healthz", "/api/tracker/clusters"} {
		resp, err := http.Get(base + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`heron_ui_http_requests_total{code="200",route="health"} 1`, `heron_ui_tracker_requests_total{code="error"} 1`, "go_goroutines"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Serve: %v", err)
	}
	n, _ = conn.Read(buf)
	if string(buf[:n]) != "STOPPING=1" {
		t.Errorf("stop notify: %q", buf[:n])
	}
}
