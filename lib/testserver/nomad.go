package testserver

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// NomadVersion is the Nomad version .ci/servers/nomad.sh builds from the Go
// module proxy. Keep the two in step.
const NomadVersion = "v1.9.3"

// NomadBinaryEnv names a Nomad binary to use instead of the cached build.
const NomadBinaryEnv = "HERON_NOMAD"

const (
	nomadReadyTimeout = 90 * time.Second
	nomadStopTimeout  = 60 * time.Second
)

// NomadBinary is where .ci/servers/nomad.sh leaves the agent: a cache dir
// that outlives the work tree, so the minutes-long build happens once per
// machine.
func NomadBinary() string {
	if p := os.Getenv(NomadBinaryEnv); p != "" {
		return p
	}
	cache := os.Getenv("XDG_CACHE_HOME")
	if cache == "" {
		home, _ := os.UserHomeDir()
		cache = filepath.Join(home, ".cache")
	}
	return filepath.Join(cache, "heronkit", "servers", "nomad-"+NomadVersion, "nomad")
}

// Nomad is a real Nomad agent in dev mode (server and client in one) on
// 127.0.0.1, with raw_exec enabled and its data dir in the test's temp dir.
// At the end of the test every job is purged and every allocation stopped
// before the agent is stopped by PID; what its tasks left running is killed
// and the task mounts are undone, so the data dir can be removed.
type Nomad struct {
	t    testing.TB
	bin  string
	proc *Process

	// HTTPPort is the HTTP API port on Host.
	HTTPPort int
	// DataDir is the agent's data dir; allocations live under alloc/.
	DataDir string
	// NodeID is the dev node's id, once ready.
	NodeID string
	// allocs are the allocations seen at shutdown, whose cgroups are
	// removed after the agent stops (it would only do so when it
	// garbage-collects them).
	allocs []string
}

// NomadOptions configure StartNomad.
type NomadOptions struct {
	// ConsulAddr is a Consul agent's HTTP host:port for service
	// registration; empty leaves Consul out (services then use Nomad's own
	// catalogue).
	ConsulAddr string
}

// StartNomad starts a fresh dev agent and stops it when the test ends. A
// missing binary skips the test (fails it when CI=true).
func StartNomad(t testing.TB, opts NomadOptions) *Nomad {
	t.Helper()
	bin := NomadBinary()
	if _, err := os.Stat(bin); err != nil {
		if p, lerr := exec.LookPath("nomad"); lerr == nil && os.Getenv(NomadBinaryEnv) == "" {
			bin = p
		} else {
			Missing(t, "Nomad agent "+bin, "run .ci/servers/nomad.sh to build it, or set "+NomadBinaryEnv)
		}
	}
	dir := t.TempDir()
	n := &Nomad{t: t, bin: bin, HTTPPort: FreePort(t), DataDir: filepath.Join(dir, "data")}
	if err := os.MkdirAll(n.DataDir, 0o755); err != nil {
		t.Fatal(err)
	}
	consul := opts.ConsulAddr
	if consul == "" {
		// A port nothing listens on: the dev agent would otherwise look for
		// a Consul on 8500 and use whatever it finds there.
		consul = net.JoinHostPort(Host, strconv.Itoa(FreePort(t)))
	}
	hcl := fmt.Sprintf(`data_dir = %q
bind_addr = %q
disable_update_check = true
log_level = "INFO"
ports {
  http = %d
  rpc  = %d
  serf = %d
}
client {
  # cgroups v2 only (v1 always uses /nomad): agents of parallel tests keep
  # to their own slice.
  cgroup_parent = %q
  options = {
    "driver.denylist" = "docker,exec,java,qemu"
  }
}
consul {
  address = %q
}
plugin "raw_exec" {
  config {
    enabled = true
  }
}
`, n.DataDir, Host, n.HTTPPort, FreePort(t), FreePort(t), "heron-test-"+strconv.Itoa(n.HTTPPort)+".slice", consul)
	cfgFile := filepath.Join(dir, "nomad.hcl")
	if err := os.WriteFile(cfgFile, []byte(hcl), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "agent", "-dev", "-config", cfgFile)
	cmd.Env = append(os.Environ(), "CHECKPOINT_DISABLE=1")
	n.proc = StartProcess(t, "nomad", cmd)
	// Registered after StartProcess, so it runs before the process is
	// stopped: jobs first, then the agent, then what it left behind.
	t.Cleanup(n.shutdown)
	n.waitReady()
	return n
}

// URL is the agent's HTTP API base.
func (n *Nomad) URL() string { return "http://" + net.JoinHostPort(Host, strconv.Itoa(n.HTTPPort)) }

// Process is the agent process.
func (n *Nomad) Process() *Process { return n.proc }

// Get decodes one API answer (path like /v1/jobs) into out; a 404 gives
// an error wrapping os.ErrNotExist.
func (n *Nomad) Get(ctx context.Context, path string, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, n.URL()+path, nil)
	if err != nil {
		return err
	}
	return n.send(req, out)
}

func (n *Nomad) send(req *http.Request, out any) error {
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return fmt.Errorf("%s %s: %w", req.Method, req.URL.Path, os.ErrNotExist)
	}
	if resp.StatusCode/100 != 2 {
		var b strings.Builder
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() && b.Len() < 2000 {
			b.WriteString(sc.Text())
		}
		return fmt.Errorf("%s %s: %s: %s", req.Method, req.URL.Path, resp.Status, b.String())
	}
	if out == nil {
		return nil
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

func (n *Nomad) waitReady() {
	n.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	exited := n.proc.Exited()
	go func() {
		select {
		case <-exited:
			cancel()
		case <-ctx.Done():
		}
	}()
	err := Poll(ctx, nomadReadyTimeout, func() error {
		var nodes []struct {
			ID      string
			Status  string
			Drivers map[string]struct{ Healthy bool }
		}
		if err := n.Get(ctx, "/v1/nodes", &nodes); err != nil {
			return err
		}
		for _, nd := range nodes {
			if nd.Status == "ready" && nd.Drivers["raw_exec"].Healthy {
				n.NodeID = nd.ID
				return nil
			}
		}
		return fmt.Errorf("no ready node with a healthy raw_exec driver yet")
	})
	if err != nil {
		n.t.Fatalf("nomad on %s: %v\n%s", n.URL(), err, n.proc.Tail(30))
	}
}

// shutdown purges every job, waits until every allocation has stopped,
// stops the agent, kills whatever its tasks left and undoes task mounts.
func (n *Nomad) shutdown() {
	if n.proc.Running() {
		ctx, cancel := context.WithTimeout(context.Background(), nomadStopTimeout)
		n.purgeAll(ctx)
		cancel()
	}
	kids := descendants(n.proc.PID())
	if n.proc.Running() {
		_ = syscall.Kill(n.proc.PID(), syscall.SIGINT)
		select {
		case <-n.proc.Exited():
		case <-time.After(15 * time.Second):
		}
	}
	n.proc.Stop()
	for _, pid := range kids {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	unmountUnder(n.DataDir)
	removeCgroups(n.allocs)
}

func (n *Nomad) purgeAll(ctx context.Context) {
	var jobs []struct{ ID, Namespace string }
	if err := n.Get(ctx, "/v1/jobs?namespace=*", &jobs); err != nil {
		n.t.Logf("nomad shutdown: list jobs: %v", err)
		return
	}
	for _, j := range jobs {
		u := n.URL() + "/v1/job/" + url.PathEscape(j.ID) + "?purge=true&namespace=" + url.QueryEscape(j.Namespace)
		req, _ := http.NewRequestWithContext(ctx, http.MethodDelete, u, nil)
		if err := n.send(req, nil); err != nil {
			n.t.Logf("nomad shutdown: purge %s: %v", j.ID, err)
		}
	}
	err := Poll(ctx, nomadStopTimeout, func() error {
		var allocs []struct{ ID, ClientStatus string }
		if err := n.Get(ctx, "/v1/allocations?namespace=*", &allocs); err != nil {
			return err
		}
		n.allocs = n.allocs[:0]
		for _, a := range allocs {
			n.allocs = append(n.allocs, a.ID)
			switch a.ClientStatus {
			case "complete", "failed", "lost":
			default:
				return fmt.Errorf("allocation %s is %s", a.ID, a.ClientStatus)
			}
		}
		return nil
	})
	if err != nil {
		n.t.Logf("nomad shutdown: %v", err)
	}
}

// unmountUnder detaches every mount below dir (Nomad's per-task secrets
// and private tmpfs), deepest first.
func unmountUnder(dir string) {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return
	}
	var mounts []string
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) > 4 && strings.HasPrefix(f[4], dir+"/") {
			mounts = append(mounts, f[4])
		}
	}
	for i := len(mounts) - 1; i >= 0; i-- {
		_ = syscall.Unmount(mounts[i], syscall.MNT_DETACH)
	}
}

// removeCgroups removes the (empty) task cgroups of the allocations:
// <controller>/nomad/<alloc>.<task> on cgroups v1 (cpuset has them one level
// deeper), <slice>/<alloc>.<task>.scope on v2.
func removeCgroups(allocs []string) {
	for _, id := range allocs {
		if len(id) < 8 {
			continue
		}
		var dirs []string
		for _, pat := range []string{"/sys/fs/cgroup/*/nomad/" + id + ".*", "/sys/fs/cgroup/*/nomad/*/" + id + ".*",
			"/sys/fs/cgroup/heron-test-*.slice/*/" + id + ".*", "/sys/fs/cgroup/heron-test-*.slice/" + id + ".*"} {
			m, _ := filepath.Glob(pat)
			dirs = append(dirs, m...)
		}
		for _, d := range dirs {
			_ = syscall.Rmdir(d)
		}
	}
}
