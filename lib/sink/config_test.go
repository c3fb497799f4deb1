package sink

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/heronkit/heronkit/lib/exitcode"
)

const sinksYAML = `
sinks:
  - file-sink
  - graphite-sink
file-sink:
  class: "org.apache.heron.metricsmgr.sink.FileSink"
  flush-frequency-ms: 60000
  sink-restart-attempts: -1
  filename-output: "metrics.json"
  file-maximum: 5
graphite-sink:
  class: "org.apache.heron.metricsmgr.sink.GraphiteSink"
  flush-frequency-ms: 60000
  graphite_host: "127.0.0.1"
  graphite_port: "2004"
  metrics_prefix: "heron"
  server_max_reconnect-attempts: 20
unlisted-sink:
  class: heron-sink-file
`

func write(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadSection(t *testing.T) {
	dir := t.TempDir()
	sinks := write(t, dir, "metrics_sinks.yaml", sinksYAML)
	cfg, warning, err := LoadSection(sinks, filepath.Join(dir, "missing.yaml"), "graphite-sink")
	if err != nil || warning != "" {
		t.Fatalf("err %v, warning %q", err, warning)
	}
	if port, err := cfg.Int("graphite_port", 0); err != nil || port != 2004 {
		t.Errorf("graphite_port = %d, %v; a quoted number must parse", port, err)
	}
	if s, _ := cfg.String("class", ""); s != "org.apache.heron.metricsmgr.sink.GraphiteSink" {
		t.Errorf("class = %q", s)
	}
	// Errors name the sink and the file and line of the bad value.
	if _, err := cfg.Int("graphite_host", 0); exitcode.Code(err) != exitcode.Config ||
		!strings.Contains(err.Error(), "sink graphite-sink: graphite_host in "+sinks+":14") {
		t.Errorf("bad value: %v", err)
	}

	// The override replaces the whole section: keys it leaves out are gone.
	over := write(t, dir, "override.yaml", "heron.some.key: 1\ngraphite-sink:\n  graphite_host: carbon\n  graphite_port: 2003\n")
	cfg, _, err = LoadSection(sinks, over, "graphite-sink")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Has("metrics_prefix") || cfg.Origin != over {
		t.Errorf("override did not replace the section: %v from %s", cfg.Keys(), cfg.Origin)
	}
	if h, _ := cfg.String("graphite_host", ""); h != "carbon" {
		t.Errorf("graphite_host = %q", h)
	}

	if _, warning, err = LoadSection(sinks, "", "unlisted-sink"); err != nil || !strings.Contains(warning, "not in the sinks list") {
		t.Errorf("unlisted: err %v, warning %q", err, warning)
	}
	if _, _, err = LoadSection(sinks, "", "nope"); exitcode.Code(err) != exitcode.Config {
		t.Errorf("missing section: %v (code %d)", err, exitcode.Code(err))
	}
	if _, _, err = LoadSection(filepath.Join(dir, "none.yaml"), "", "file-sink"); exitcode.Code(err) != exitcode.NotFound {
		t.Errorf("missing file: %v", err)
	}
	bad := write(t, dir, "bad.yaml", "sinks: [\n")
	if _, _, err = LoadSection(bad, "", "file-sink"); exitcode.Code(err) != exitcode.Config {
		t.Errorf("bad yaml: %v", err)
	}
}

func TestFlagsOverSection(t *testing.T) {
	dir := t.TempDir()
	sinks := write(t, dir, "metrics_sinks.yaml", sinksYAML)
	flush := int64(250)
	f := Flags{ConfigFile: sinks, SinkID: "file-sink", Set: map[string]string{"file-maximum": "2"}, FlushFrequencyMs: &flush}
	cfg, err := f.Config("x", zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := cfg.Int("file-maximum", 0); n != 2 {
		t.Errorf("--set did not win: %d", n)
	}
	if n, _ := cfg.Int(KeyFlushFrequencyMs, 0); n != 250 {
		t.Errorf("--flush-frequency-ms did not win: %d", n)
	}
	if s, _ := cfg.String("filename-output", ""); s != "metrics.json" {
		t.Errorf("section key lost: %q", s)
	}
	// A binary's own flags are laid over only when given.
	host, none := "carbon", (*string)(nil)
	for _, o := range []Setter{Opt("graphite_host", &host), Opt("metrics_prefix", none),
		OptSwitch("keep-serving", true), OptSwitch("other", false)} {
		o.Apply(cfg)
	}
	if h, _ := cfg.String("graphite_host", ""); h != "carbon" || cfg.Has("metrics_prefix") || cfg.Has("other") {
		t.Errorf("own flags: %v", cfg.Keys())
	}
	if b, err := cfg.Bool("keep-serving", false); err != nil || !b {
		t.Errorf("switch: %v %v", b, err)
	}
	// Without a file the id defaults and only flags count.
	cfg, err = (&Flags{}).Config("file-sink", zerolog.Nop())
	if err != nil || cfg.ID != "file-sink" || len(cfg.Keys()) != 0 {
		t.Errorf("no file: %v %+v", err, cfg)
	}
}

func TestLenientValues(t *testing.T) {
	cfg := NewConfig("s")
	for k, v := range map[string]any{"i": 5, "s": " 7 ", "f": 3.0, "frac": 2.5, "b": "true", "bb": false, "word": "x"} {
		cfg.Set(k, v)
	}
	for key, want := range map[string]int64{"i": 5, "s": 7, "f": 3} {
		if n, err := cfg.Int(key, 0); err != nil || n != want {
			t.Errorf("Int(%s) = %d, %v", key, n, err)
		}
	}
	if _, err := cfg.Int("frac", 0); err == nil {
		t.Error("2.5 accepted as an integer")
	}
	if _, err := cfg.Int("word", 0); exitcode.Code(err) != exitcode.Config {
		t.Errorf("word: %v", err)
	}
	if b, err := cfg.Bool("b", false); err != nil || !b {
		t.Errorf("Bool(b) = %v, %v", b, err)
	}
	if b, err := cfg.Bool("bb", true); err != nil || b {
		t.Errorf("Bool(bb) = %v, %v", b, err)
	}
	if _, err := cfg.Bool("word", false); err == nil {
		t.Error("word accepted as a bool")
	}
	if n, _ := cfg.Int("absent", 9); n != 9 {
		t.Errorf("default = %d", n)
	}
	if _, err := cfg.RequiredString("absent"); err == nil || !strings.Contains(err.Error(), "Require: absent") {
		t.Errorf("required: %v", err)
	}
}

func TestPorts(t *testing.T) {
	c := NewConfig("s")
	if p, err := c.Port("port", 1463); err != nil || p != 1463 {
		t.Errorf("default port: %d %v", p, err)
	}
	if _, err := c.RequiredPort("port"); err == nil || !strings.Contains(err.Error(), "Require: port") {
		t.Errorf("missing required port: %v", err)
	}
	for _, bad := range []int64{0, -1, 65536} {
		c.Set("port", bad)
		if _, err := c.RequiredPort("port"); err == nil || !strings.Contains(err.Error(), "is not a TCP port") {
			t.Errorf("port %d: %v", bad, err)
		}
	}
	c.Set("port", 65535)
	if p, err := c.Port("port", 1); err != nil || p != 65535 {
		t.Errorf("port 65535: %d %v", p, err)
	}
	if a, err := c.TCPAddress("host", "127.0.0.1", "port", 1); err != nil || a != "127.0.0.1:65535" {
		t.Errorf("address with a default host: %q %v", a, err)
	}
	if _, err := c.TCPAddress("host", "", "port", 0); err == nil || !strings.Contains(err.Error(), "Require: host") {
		t.Errorf("missing required host: %v", err)
	}
	if a, err := c.TCPAddress("host", "localhost", "other", 1463); err != nil || a != "localhost:1463" {
		t.Errorf("address from defaults: %q %v", a, err)
	}
}
