package testscripts

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/heronkit/heronkit/lib/config"
	// The Nomad launcher, for heron-submit run in-process.
	_ "github.com/heronkit/heronkit/lib/scheduler/nomad"
	"github.com/heronkit/heronkit/lib/testserver"
)

func init() {
	commands["nomad"] = cmdNomad
	// The agent counts as present under CI=true even when missing, so that
	// starting it fails the script instead of skipping it.
	conditions["nomad"] = func() (bool, error) {
		_, err := os.Stat(testserver.NomadBinary())
		return err == nil || os.Getenv(testserver.NomadBinaryEnv) != "" || testserver.InCI(), nil
	}
	// [nomad-core]: the binaries that go into the core package are built
	// (make build puts them in bin/, which make test puts on PATH).
	conditions["nomad-core"] = func() (bool, error) {
		_, err := coreBinDir()
		return err == nil || testserver.InCI(), nil
	}
}

// coreBinDir is the folder of the real heron-executor (and the other
// heron-* binaries) on the test's PATH: make build's bin/, not the copies
// of this test binary that testscript puts first on PATH.
func coreBinDir() (string, error) {
	for _, dir := range filepath.SplitList(os.Getenv("PATH")) {
		if dir == "" || strings.HasPrefix(filepath.Base(filepath.Dir(dir)), "testscript-main") {
			continue
		}
		p := filepath.Join(dir, "heron-executor")
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
			real, err := filepath.EvalSymlinks(p)
			if err != nil {
				return "", err
			}
			return filepath.Dir(real), nil
		}
	}
	return "", errors.New("no heron-executor on PATH")
}

// cmdNomad drives a Nomad agent for the script:
//
//	nomad start                         start a dev agent; sets $NOMAD_ADDR
//	nomad core FILE                     build the core package (.ci/dist.sh) from the heron-* binaries on PATH
//	nomad conf DIR [KEY=VALUE...]       copy the shipped conf/nomad to DIR, setting keys in its files
//	nomad example NAME DIR              copy the repository's examples/NAME to DIR
//	nomad running JOB N [SECS]          wait until N allocations of JOB run (default 180 s)
//	nomad service NAME TAG...           wait until NAME is in Nomad's catalogue with TAGs; sets $SERVICE_ADDR
//	nomad restarted JOB GROUP N         wait until GROUP's task has restarted N times
//	nomad gone JOB                      wait until JOB, its running allocations and its services are gone
//	nomad get URL REGEXP [SECS]         wait until URL answers 200 with a body matching REGEXP (default 120 s)
func cmdNomad(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) == 0 {
		ts.Fatalf("usage: nomad start|core|conf|running|service|restarted|gone|get ...")
	}
	switch args[0] {
	case "start":
		n := testserver.StartNomad(&scriptTB{ts: ts}, testserver.NomadOptions{})
		ts.Setenv("NOMAD_ADDR", n.URL())
	case "core":
		nomadCore(ts, args[1:])
	case "conf":
		nomadConf(ts, args[1:])
	case "example":
		if len(args) != 3 {
			ts.Fatalf("usage: nomad example NAME DIR")
		}
		src, err := filepath.Abs(filepath.Join("..", "examples", args[1]))
		ts.Check(err)
		ts.Check(os.CopyFS(ts.MkAbs(args[2]), os.DirFS(src)))
	case "running":
		if len(args) < 3 {
			ts.Fatalf("usage: nomad running JOB N [SECS]")
		}
		want, _ := strconv.Atoi(args[2])
		nomadWait(ts, secs(ts, args, 3, 180), "allocations of "+args[1]+" running", func(c *nomadAPI) error {
			var allocs []struct{ ClientStatus, TaskGroup string }
			if err := c.get("/v1/job/"+args[1]+"/allocations", &allocs); err != nil {
				return err
			}
			n := 0
			var states []string
			for _, a := range allocs {
				states = append(states, a.TaskGroup+":"+a.ClientStatus)
				if a.ClientStatus == "running" {
					n++
				}
			}
			if n != want {
				return fmt.Errorf("%d of %d running: %v", n, want, states)
			}
			return nil
		})
	case "service":
		if len(args) < 2 {
			ts.Fatalf("usage: nomad service NAME TAG...")
		}
		nomadWait(ts, 60*time.Second, "service "+args[1], func(c *nomadAPI) error {
			var regs []struct {
				Tags    []string
				Address string
				Port    int
			}
			if err := c.get("/v1/service/"+args[1], &regs); err != nil {
				return err
			}
			if len(regs) != 1 {
				return fmt.Errorf("%d registrations", len(regs))
			}
			for _, tag := range args[2:] {
				if !slices.Contains(regs[0].Tags, tag) {
					return fmt.Errorf("tags %v lack %s", regs[0].Tags, tag)
				}
			}
			ts.Setenv("SERVICE_ADDR", regs[0].Address+":"+strconv.Itoa(regs[0].Port))
			return nil
		})
	case "restarted":
		if len(args) != 4 {
			ts.Fatalf("usage: nomad restarted JOB GROUP N")
		}
		want, _ := strconv.Atoi(args[3])
		nomadWait(ts, 120*time.Second, args[2]+" restarted", func(c *nomadAPI) error {
			var allocs []struct {
				TaskGroup, ClientStatus string
				TaskStates              map[string]struct {
					State    string
					Restarts int
				}
			}
			if err := c.get("/v1/job/"+args[1]+"/allocations", &allocs); err != nil {
				return err
			}
			for _, a := range allocs {
				for _, st := range a.TaskStates {
					if a.TaskGroup == args[2] && st.Restarts >= want && st.State == "running" {
						return nil
					}
				}
			}
			return fmt.Errorf("not restarted %d times and running yet", want)
		})
	case "gone":
		if len(args) != 2 {
			ts.Fatalf("usage: nomad gone JOB")
		}
		nomadWait(ts, 120*time.Second, args[1]+" gone", func(c *nomadAPI) error {
			if err := c.get("/v1/job/"+args[1], nil); !errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("job still there (%v)", err)
			}
			var allocs []struct{ ID, JobID, ClientStatus string }
			if err := c.get("/v1/allocations", &allocs); err != nil {
				return err
			}
			for _, a := range allocs {
				if a.JobID == args[1] && a.ClientStatus != "complete" && a.ClientStatus != "failed" && a.ClientStatus != "lost" {
					return fmt.Errorf("allocation %s is %s", a.ID, a.ClientStatus)
				}
			}
			var svcs []struct {
				Services []struct{ ServiceName string }
			}
			if err := c.get("/v1/services", &svcs); err != nil {
				return err
			}
			for _, ns := range svcs {
				for _, s := range ns.Services {
					if strings.HasPrefix(s.ServiceName, "metrics-heron-") {
						return fmt.Errorf("service %s still registered", s.ServiceName)
					}
				}
			}
			return nil
		})
	case "get":
		if len(args) < 3 {
			ts.Fatalf("usage: nomad get URL REGEXP [SECS]")
		}
		re, err := regexp.Compile(args[2])
		ts.Check(err)
		var body []byte
		nomadWait(ts, secs(ts, args, 3, 120), args[1], func(*nomadAPI) error {
			resp, err := http.Get(args[1])
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			body, _ = io.ReadAll(resp.Body)
			if resp.StatusCode != http.StatusOK || !re.Match(body) {
				return fmt.Errorf("%s: %.300s", resp.Status, body)
			}
			return nil
		})
		ts.Stdout().Write(body)
	default:
		ts.Fatalf("nomad: unknown subcommand %q", args[0])
	}
}

func secs(ts *testscript.TestScript, args []string, i, def int) time.Duration {
	if len(args) <= i {
		return time.Duration(def) * time.Second
	}
	n, err := strconv.Atoi(args[i])
	if err != nil {
		ts.Fatalf("nomad: %q is not a number of seconds", args[i])
	}
	return time.Duration(n) * time.Second
}

// nomadAPI reads the script's agent.
type nomadAPI struct{ base string }

func (c *nomadAPI) get(path string, out any) error {
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Get(c.base + path)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == http.StatusNotFound {
		return os.ErrNotExist
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", resp.Status, b)
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(b, out)
}

func nomadWait(ts *testscript.TestScript, limit time.Duration, what string, check func(*nomadAPI) error) {
	c := &nomadAPI{base: ts.Getenv("NOMAD_ADDR")}
	if c.base == "" {
		ts.Fatalf("nomad: no agent; run nomad start first")
	}
	if err := testserver.Poll(context.Background(), limit, func() error { return check(c) }); err != nil {
		ts.Fatalf("nomad: waiting for %s: %v", what, err)
	}
}

// nomadCore builds the core package from the real binaries on PATH.
func nomadCore(ts *testscript.TestScript, args []string) {
	if len(args) != 1 {
		ts.Fatalf("usage: nomad core FILE")
	}
	dir, err := coreBinDir()
	if err != nil {
		ts.Fatalf("nomad core: heron-executor is not on PATH (run make build and put bin/ on PATH): %v", err)
	}
	root, err := filepath.Abs("..")
	ts.Check(err)
	cmd := exec.Command("bash", filepath.Join(root, ".ci", "dist.sh"), ts.MkAbs(args[0]))
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "BIN="+dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		ts.Fatalf("nomad core: %v\n%s", err, out)
	}
}

// nomadConf copies the repository's conf/nomad and sets keys in the files
// that hold them (else in scheduler.yaml), one "key: value" line each.
func nomadConf(ts *testscript.TestScript, args []string) {
	if len(args) < 1 {
		ts.Fatalf("usage: nomad conf DIR [KEY=VALUE...]")
	}
	src, err := filepath.Abs(filepath.Join("..", "conf", "nomad"))
	ts.Check(err)
	dst := ts.MkAbs(args[0])
	ts.Check(os.MkdirAll(dst, 0o755))
	ents, err := os.ReadDir(src)
	ts.Check(err)
	files := map[string][]string{}
	var names []string
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		ts.Check(err)
		files[e.Name()] = strings.Split(string(b), "\n")
		names = append(names, e.Name())
	}
	for _, kv := range args[1:] {
		k, v, err := config.ParseProperty(kv)
		if err != nil {
			ts.Fatalf("nomad conf: %v", err)
		}
		line := k + ": " + strconv.Quote(fmt.Sprint(v))
		done := false
		for _, name := range names {
			for i, l := range files[name] {
				if strings.HasPrefix(l, k+":") {
					files[name][i], done = line, true
				}
			}
		}
		if !done {
			files["scheduler.yaml"] = append(files["scheduler.yaml"], line)
		}
	}
	for name, lines := range files {
		ts.Check(os.WriteFile(filepath.Join(dst, name), []byte(strings.Join(lines, "\n")), 0o644))
	}
}
