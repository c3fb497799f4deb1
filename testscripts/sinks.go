package testscripts

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/heronkit/heronkit/lib/metricsrecord"
	"github.com/heronkit/heronkit/lib/sink/scribe/scribetest"
	"github.com/heronkit/heronkit/lib/sink/sinktest"
	"github.com/heronkit/heronkit/lib/testserver"
)

func init() {
	commands["sinkrecords"] = cmdSinkRecords
	commands["carbon"] = cmdCarbon
	commands["scribeserver"] = cmdScribeServer
	setups = append(setups, func(_ *testing.T, e *testscript.Env) error {
		e.Values[sinkServersKey{}] = &sinkServers{}
		return nil
	})
	// Scripts that need carbon start with "[!carbon] skip"; under CI=true
	// they run and fail when it is missing.
	conditions["carbon"] = func() (bool, error) {
		if testserver.InCI() {
			return true, nil
		}
		_, err1 := exec.LookPath("carbon-cache")
		_, err2 := exec.LookPath("whisper-fetch")
		return err1 == nil && err2 == nil, nil
	}
}

type sinkServersKey struct{}

// sinkServers are the servers one script started.
type sinkServers struct {
	carbon *testserver.Carbon
	scribe *scribetest.Server
}

func servers(ts *testscript.TestScript) *sinkServers {
	return ts.Value(sinkServersKey{}).(*sinkServers)
}

// scriptTB lets the testserver helpers run inside a script: failures fail
// the script, cleanups run when it ends, temp dirs live in its work dir.
// Other methods reach the enclosing test.
type scriptTB struct {
	testing.TB
	ts *testscript.TestScript
	n  int
}

func (s *scriptTB) Helper()                   {}
func (s *scriptTB) Cleanup(f func())          { s.ts.Defer(f) }
func (s *scriptTB) Fatalf(f string, a ...any) { s.ts.Fatalf(f, a...) }
func (s *scriptTB) Fatal(a ...any)            { s.ts.Fatalf("%s", fmt.Sprint(a...)) }
func (s *scriptTB) Skip(a ...any)             { s.ts.Fatalf("%s", fmt.Sprint(a...)) }
func (s *scriptTB) Skipf(f string, a ...any)  { s.ts.Fatalf(f, a...) }
func (s *scriptTB) Errorf(f string, a ...any) { s.ts.Fatalf(f, a...) }
func (s *scriptTB) Logf(f string, a ...any)   { s.ts.Logf(f, a...) }
func (s *scriptTB) Log(a ...any)              { s.ts.Logf("%s", fmt.Sprint(a...)) }
func (s *scriptTB) Failed() bool              { return false }
func (s *scriptTB) TempDir() string {
	s.n++
	d := s.ts.MkAbs(fmt.Sprintf(".servers/%d", s.n))
	if err := os.MkdirAll(d, 0o755); err != nil {
		s.ts.Fatalf("%v", err)
	}
	return d
}

// cmdSinkRecords writes N metrics records stamped now (instance i of
// component "count", as lib/sink/sinktest makes them) to a file, plus
// "-malformed" garbage lines between them when asked:
//
//	sinkrecords records.jsonl 3 [-malformed]
func cmdSinkRecords(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 || len(args) > 3 {
		ts.Fatalf("usage: sinkrecords FILE N [-malformed]")
	}
	n, err := strconv.Atoi(args[1])
	if err != nil {
		ts.Fatalf("sinkrecords: %q is not a number", args[1])
	}
	var b strings.Builder
	w := metricsrecord.NewWriter(&b)
	now := time.Now()
	for i := 1; i <= n; i++ {
		ts.Check(w.Write(sinktest.Record(i, now)))
		if len(args) == 3 && args[2] == "-malformed" {
			b.WriteString("{not a record\n")
		}
	}
	ts.Check(os.WriteFile(ts.MkAbs(args[0]), []byte(b.String()), 0o644))
}

// cmdCarbon drives a carbon-cache for the script:
//
//	carbon start                  start it (or restart it); sets $CARBON_PORT
//	carbon stop                   stop it
//	carbon point METRIC VALUE     wait until whisper holds VALUE for METRIC
func cmdCarbon(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) == 0 {
		ts.Fatalf("usage: carbon start|stop|point METRIC VALUE")
	}
	s := servers(ts)
	switch args[0] {
	case "start":
		if s.carbon != nil {
			s.carbon.Start()
		} else {
			s.carbon = testserver.StartCarbon(&scriptTB{ts: ts})
		}
		ts.Setenv("CARBON_PORT", strconv.Itoa(s.carbon.Port()))
	case "stop":
		if s.carbon == nil {
			ts.Fatalf("carbon stop: not started")
		}
		s.carbon.Stop()
	case "point":
		if s.carbon == nil || len(args) != 3 {
			ts.Fatalf("usage: carbon point METRIC VALUE (after carbon start)")
		}
		want, err := strconv.ParseFloat(args[2], 64)
		ts.Check(err)
		ts.Check(testserver.Poll(context.Background(), 20*time.Second, func() error {
			pts, err := s.carbon.Fetch(args[1], time.Now().Add(-10*time.Minute))
			if err != nil {
				return err
			}
			for _, p := range pts {
				if p.Value == want {
					return nil
				}
			}
			return fmt.Errorf("%s has no %v (has %v)", args[1], want, pts)
		}))
	default:
		ts.Fatalf("carbon: unknown action %q", args[0])
	}
}

// cmdScribeServer drives a Thrift Scribe server for the script:
//
//	scribeserver start            start it (or restart it); sets $SCRIBE_PORT
//	scribeserver stop             stop it
//	scribeserver entries N        wait for N entries; their messages go to stdout, one a line
func cmdScribeServer(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) == 0 {
		ts.Fatalf("usage: scribeserver start|stop|entries N")
	}
	s := servers(ts)
	switch args[0] {
	case "start":
		if s.scribe != nil {
			s.scribe.Restart()
		} else {
			s.scribe = scribetest.Start(&scriptTB{ts: ts})
		}
		_, port, _ := strings.Cut(s.scribe.Addr(), ":")
		ts.Setenv("SCRIBE_PORT", port)
	case "stop":
		if s.scribe == nil {
			ts.Fatalf("scribeserver stop: not started")
		}
		s.scribe.Stop()
	case "entries":
		if s.scribe == nil || len(args) != 2 {
			ts.Fatalf("usage: scribeserver entries N (after scribeserver start)")
		}
		n, err := strconv.Atoi(args[1])
		ts.Check(err)
		entries, err := s.scribe.WaitEntries(n, 20*time.Second)
		ts.Check(err)
		for _, e := range entries {
			fmt.Fprintf(ts.Stdout(), "%s\t%s\n", e.Category, e.Message)
		}
	default:
		ts.Fatalf("scribeserver: unknown action %q", args[0])
	}
}
