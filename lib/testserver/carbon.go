package testserver

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// carbonReadyTimeout bounds carbon-cache's start (0.7-0.8 s measured).
const carbonReadyTimeout = 30 * time.Second

// Carbon is Graphite's carbon-cache (Debian graphite-carbon) storing whisper
// files under the test's temp dir, with its plaintext line receiver on a free
// port of 127.0.0.1 and a 1 s resolution so points read back exactly.
type Carbon struct {
	t          testing.TB
	bin        string
	dir        string
	conf       string
	linePort   int
	whisperDir string
	fetch      string
	proc       *Process
}

// StartCarbon starts carbon-cache and stops it when the test ends. A missing
// carbon-cache or whisper-fetch skips the test (fails it when CI=true).
func StartCarbon(t testing.TB) *Carbon {
	t.Helper()
	bin := Require(t, "carbon-cache")
	fetch := Require(t, "whisper-fetch")
	dir := t.TempDir()
	c := &Carbon{t: t, bin: bin, fetch: fetch, dir: dir, linePort: FreePort(t),
		whisperDir: filepath.Join(dir, "storage", "whisper"), conf: filepath.Join(dir, "conf", "carbon.conf")}
	for _, d := range []string{"conf", "log", "storage/whisper"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// USER empty: do not switch to the _graphite user. ENABLE_TAGS off: no
	// calls to graphite-web. CARBON_METRIC_INTERVAL 0: no carbon.* metrics.
	conf := strings.Join([]string{
		"[cache]",
		"STORAGE_DIR = " + filepath.Join(dir, "storage") + "/",
		"LOCAL_DATA_DIR = " + c.whisperDir + "/",
		"CONF_DIR = " + filepath.Join(dir, "conf") + "/",
		"LOG_DIR = " + filepath.Join(dir, "log") + "/",
		"PID_DIR = " + dir + "/",
		"USER =",
		"DATABASE = whisper",
		"MAX_CACHE_SIZE = inf",
		"MAX_UPDATES_PER_SECOND = 5000",
		"MAX_CREATES_PER_MINUTE = inf",
		"LINE_RECEIVER_INTERFACE = " + Host,
		"LINE_RECEIVER_PORT = " + strconv.Itoa(c.linePort),
		"ENABLE_UDP_LISTENER = False",
		"PICKLE_RECEIVER_INTERFACE = " + Host,
		"PICKLE_RECEIVER_PORT = " + strconv.Itoa(FreePort(t)),
		"CACHE_QUERY_INTERFACE = " + Host,
		"CACHE_QUERY_PORT = " + strconv.Itoa(FreePort(t)),
		"LOG_UPDATES = False",
		"LOG_CREATES = True",
		"WHISPER_AUTOFLUSH = True",
		"CARBON_METRIC_INTERVAL = 0",
		"ENABLE_TAGS = False",
		"",
	}, "\n")
	schemas := "[default]\npattern = .*\nretentions = 1s:1h,60s:1d\n"
	if err := os.WriteFile(c.conf, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "conf", "storage-schemas.conf"), []byte(schemas), 0o644); err != nil {
		t.Fatal(err)
	}
	c.proc = StartProcess(t, "carbon-cache", c.command())
	c.waitReady()
	return c
}

func (c *Carbon) command() *exec.Cmd {
	return exec.Command(c.bin, "--config="+c.conf, "--pidfile="+filepath.Join(c.dir, "carbon.pid"),
		"--nodaemon", "--logfile=-", "start")
}

func (c *Carbon) waitReady() {
	c.t.Helper()
	err := Poll(context.Background(), carbonReadyTimeout, func() error {
		if !c.proc.Running() {
			return ErrExited
		}
		return WaitTCP(context.Background(), c.Addr(), 200*time.Millisecond)
	})
	if err != nil {
		c.t.Fatalf("carbon-cache did not start: %v\n%s", err, c.proc.Tail(30))
	}
}

// Addr is the plaintext line receiver's host:port.
func (c *Carbon) Addr() string { return Host + ":" + strconv.Itoa(c.linePort) }

// Port is the plaintext line receiver's port.
func (c *Carbon) Port() int { return c.linePort }

// Stop stops carbon (it flushes its cache first); Start brings it back on
// the same ports and storage.
func (c *Carbon) Stop() { c.proc.Stop() }

// Start restarts a stopped carbon and waits until it accepts lines.
func (c *Carbon) Start() {
	c.t.Helper()
	if err := c.proc.Restart(c.command()); err != nil {
		c.t.Fatalf("restart carbon-cache: %v", err)
	}
	c.waitReady()
}

// WhisperFile is the file carbon stores a metric path in.
func (c *Carbon) WhisperFile(metric string) string {
	return filepath.Join(c.whisperDir, strings.ReplaceAll(strings.TrimLeft(metric, "."), ".", "/")+".wsp")
}

// Point is one stored value.
type Point struct {
	Time  int64
	Value float64
}

// Fetch reads a metric's non-empty points since from, with whisper-fetch.
func (c *Carbon) Fetch(metric string, from time.Time) ([]Point, error) {
	out, err := exec.Command(c.fetch, "--json", "--from="+strconv.FormatInt(from.Unix()-1, 10), c.WhisperFile(metric)).Output()
	if err != nil {
		return nil, fmt.Errorf("whisper-fetch %s: %w", metric, err)
	}
	var res struct {
		Start  int64      `json:"start"`
		Step   int64      `json:"step"`
		Values []*float64 `json:"values"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		return nil, fmt.Errorf("whisper-fetch %s: %w: %s", metric, err, out)
	}
	var pts []Point
	for i, v := range res.Values {
		if v != nil {
			pts = append(pts, Point{Time: res.Start + int64(i)*res.Step, Value: *v})
		}
	}
	return pts, nil
}

// WaitPoint waits until the metric holds value at unix second ts; carbon
// writes in the background, about a second after receipt.
func (c *Carbon) WaitPoint(metric string, ts int64, value float64, timeout time.Duration) error {
	return Poll(context.Background(), timeout, func() error {
		if _, err := os.Stat(c.WhisperFile(metric)); err != nil {
			return err
		}
		pts, err := c.Fetch(metric, time.Unix(ts, 0))
		if err != nil {
			return err
		}
		for _, p := range pts {
			if p.Time == ts && p.Value == value {
				return nil
			}
		}
		return fmt.Errorf("%s has no %v at %d (has %v)", metric, value, ts, pts)
	})
}
