package executor

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
	"google.golang.org/protobuf/proto"

	"github.com/heronkit/heronkit/lib/exitcode"
	"github.com/heronkit/heronkit/lib/native"
	"github.com/heronkit/heronkit/lib/proto/apipb"
	"github.com/heronkit/heronkit/lib/proto/systempb"
	"github.com/heronkit/heronkit/lib/stmgr"
)

// Heron-core mode: a topology that is not native (a Java, Python or C++
// topology submitted with a Heron core package) runs Heron's own
// processes, started from ./heron-core with the command lines of
// heroncore_cmds.go and supervised as Heron's executor does.

// nativeCheck returns nil when the native runtime can run the topology:
// it is marked native, or every component carries a native command. The
// error says why not; such a topology runs in Heron-core mode.
func nativeCheck(t *apipb.Topology) error {
	if v, _ := stmgr.ConfigValue(t.GetTopologyConfig(), native.KeyNative); v == "true" {
		return nil
	}
	if _, err := stmgr.NewPlan(t, &systempb.PackingPlan{}); err != nil && !isPlacement(err) {
		return err
	}
	return nil
}

// heronHost is the --myhost Heron's executor gives the TManager and stream
// manager: the fully qualified name on Kubernetes (POD_NAME set), $HOST
// (else the host name) in Docker, the host name elsewhere.
func heronHost() string {
	h, _ := os.Hostname()
	if _, ok := os.LookupEnv("POD_NAME"); ok {
		return fqdn(h)
	}
	if _, err := os.Stat("/.dockerenv"); err == nil {
		if v, ok := os.LookupEnv("HOST"); ok {
			return v
		}
	}
	return h
}

// fqdn is the first dotted name of the host's addresses, else the name.
func fqdn(h string) string {
	addrs, err := net.LookupHost(h)
	if err != nil {
		return h
	}
	for _, a := range addrs {
		names, _ := net.LookupAddr(a)
		for _, n := range names {
			if n = strings.TrimSuffix(n, "."); strings.Contains(n, ".") {
				return n
			}
		}
	}
	return h
}

// coreProc is one run of a process.
type coreProc struct {
	cmd      CoreCommand
	attempts int // runs so far, this one included
	pid      int
	started  bool
	status   string
	exited   chan struct{} // closed once reaped and its output drained
}

// coreRunner is the process monitor of one container.
type coreRunner struct {
	c        *container
	cfg      CoreConfig
	env      []string
	interval time.Duration
	budget   int
	plan     *systempb.PackingPlan
	procs    map[string]*coreProc // the monitored processes, by name
	exits    chan *coreProc
	restarts chan *coreProc
	done     chan struct{}
	jvm      string
}

// runHeronCore runs the container's Heron processes until ctx ends.
// whyNot says why the native runtime cannot run the topology.
func (c *container) runHeronCore(ctx context.Context, whyNot error) error {
	a := c.a
	for _, b := range []struct{ flag, path string }{{"tmanager-binary", a.TmanagerBinary},
		{"stmgr-binary", a.StmgrBinary}, {"heron-shell-binary", a.HeronShellBinary}} {
		if _, err := os.Stat(c.path(b.path)); b.path == "" || err != nil {
			return exitcode.WithHint(exitcode.Wrap(exitcode.DataErr, fmt.Errorf(
				"topology %s is not native (%v) and there is no Heron core to run it: --%s=%q does not exist",
				a.TopologyName, whyNot, b.flag, b.path)),
				"unpack a Heron core package as ./heron-core in the working directory, or submit a native topology (heron.native.topology: true)")
		}
	}
	if flag, ok := zeroPort(a); ok {
		return exitcode.WithHint(exitcode.Errorf(exitcode.Usage,
			"--%s=0: Heron's processes need their ports given; port 0 (any free port) is for native topologies only", flag),
			"pass a free port for every executor port flag")
	}
	cfg, err := CoreConfigOf(a, c.dir, c.set.LogDir, heronHost())
	if err != nil {
		return exitcode.Wrap(exitcode.Usage, err)
	}
	cfg.HeapCheck = os.Getenv("ENABLE_HEAPCHECK") != ""
	if err := c.prepareCore(cfg); err != nil {
		return err
	}
	// Heron's executor leads its own process group: heron-shell's
	// /killexecutor signals the group of the shell's parent.
	if pid := os.Getpid(); syscall.Getpgrp() != pid {
		if sid, err := unix.Getsid(pid); err == nil && sid != pid {
			_ = syscall.Setpgid(0, 0)
		}
	}
	r := &coreRunner{c: c, cfg: cfg, interval: c.set.CoreRestartInterval, budget: c.set.RestartBudget,
		procs: map[string]*coreProc{}, exits: make(chan *coreProc, 16), restarts: make(chan *coreProc, 16),
		done: make(chan struct{}),
		env:  append(os.Environ(), "PEX_ROOT="+filepath.Join(c.dir, ".pex"))}
	r.cfg.JVMVersion = func() (string, error) { return r.jvm, nil }
	c.log.Info().Str("host", cfg.Host).Str("pkg_type", cfg.PkgType).Str("state", a.StateManagerURI()).
		Msg("executor starting in Heron-core mode")
	return r.run(ctx)
}

// path resolves a path of the flags against the working directory.
func (c *container) path(p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(c.dir, p)
}

// prepareCore makes the working directory readable and Heron's binaries
// executable, as Heron's executor does before its first launch.
func (c *container) prepareCore(cfg CoreConfig) error {
	addMode := func(path string, bits os.FileMode) error {
		st, err := os.Stat(path)
		if err != nil {
			return err
		}
		if st.Mode().Perm()&bits == bits {
			return nil
		}
		return os.Chmod(path, st.Mode().Perm()|bits)
	}
	if err := addMode(c.dir, 0o555); err != nil {
		return fmt.Errorf("make the working directory readable: %w", err)
	}
	if err := addMode(c.path(cfg.LogDir), 0o111); err != nil {
		return fmt.Errorf("make the log directory searchable: %w", err)
	}
	for _, b := range []string{cfg.TmanagerBinary, cfg.StmgrBinary, cfg.HeronShellBinary} {
		p := c.path(b)
		if st, err := os.Stat(p); err == nil && st.Mode().Perm()&0o001 != 0 {
			continue
		}
		if err := addMode(p, 0o111); err != nil {
			return fmt.Errorf("make %s executable: %w", b, err)
		}
	}
	return nil
}

func (r *coreRunner) run(ctx context.Context) error {
	plans, err := r.c.watchPacking(ctx)
	if err != nil {
		return err
	}
	defer r.stopAll()
	for {
		select {
		case <-ctx.Done():
			return nil
		case pp, ok := <-plans:
			if !ok {
				return nil
			}
			if r.plan != nil && proto.Equal(r.plan, pp) {
				r.c.log.Info().Msg("packing plan watch fired but the plan did not change; nothing to relaunch")
				continue
			}
			r.plan = pp
			if err := r.launch(); err != nil {
				return err
			}
		case p := <-r.exits:
			if r.procs[p.cmd.Name] != p {
				continue // killed on purpose
			}
			r.c.log.Warn().Str("process", p.cmd.Name).Int("pid", p.pid).Str("status", p.status).
				Int("runs", p.attempts).Str("command", p.cmd.String()).Msg("process exited")
			if p.pid > 0 {
				core := filepath.Join(r.c.dir, "core."+strconv.Itoa(p.pid))
				if st, err := os.Stat(core); err == nil {
					_ = os.Chmod(core, st.Mode().Perm()|0o444)
				}
			}
			if p.attempts >= r.budget {
				return fmt.Errorf("%s exited too many times (%d runs, last: %s); the container stops, as Heron's does (raise %s)",
					p.cmd.Name, p.attempts, p.status, KeyRestartBudget)
			}
			time.AfterFunc(r.interval, func() {
				select {
				case r.restarts <- p:
				case <-r.done:
				}
			})
		case p := <-r.restarts:
			if r.procs[p.cmd.Name] != p {
				continue // killed or replaced while it waited
			}
			r.procs[p.cmd.Name] = r.start(p.cmd, p.attempts+1)
		}
	}
}

// launch brings the running processes in line with the current plan.
func (r *coreRunner) launch() error {
	cfg := r.cfg
	if mine := containerPlan(r.plan, int32(cfg.Shard)); cfg.Shard > 0 && mine != nil {
		r.untar()
		if (cfg.PkgType == "jar" || cfg.PkgType == "tar") && len(mine.GetInstancePlans()) > 0 && r.jvm == "" {
			v, err := r.jvmVersion()
			if err != nil {
				return err
			}
			r.jvm = v
		}
		if n := len(mine.GetInstancePlans()); len(cfg.DebuggerPorts) > 0 && n > len(cfg.DebuggerPorts) {
			r.c.log.Warn().Int("instances", n).Int("ports", len(cfg.DebuggerPorts)).Msg("not enough remote debugger ports for all instances")
		}
	}
	wanted, err := CoreCommands(cfg, r.plan)
	if err != nil {
		// As in the native mode: keep what runs and wait for a better plan.
		r.c.log.Error().Err(err).Str("packing_plan", r.plan.GetId()).Msg("cannot build the commands of this packing plan; waiting for another")
		return nil
	}
	var current []CoreCommand
	for _, p := range r.procs {
		current = append(current, p.cmd)
	}
	kill, keep, start := CoreCommandChanges(current, wanted)
	names := func(cs []CoreCommand) []string {
		out := []string{}
		for _, c := range cs {
			out = append(out, c.Name)
		}
		slices.Sort(out)
		return out
	}
	r.c.log.Info().Str("packing_plan", r.plan.GetId()).Strs("kill", names(kill)).Strs("keep", names(keep)).
		Strs("start", names(start)).Msg("launching")
	var killed []*coreProc
	for _, c := range kill {
		p := r.procs[c.Name]
		delete(r.procs, c.Name)
		killed = append(killed, p)
	}
	r.stop(killed)
	for _, c := range start {
		r.procs[c.Name] = r.start(c, 1)
	}
	return nil
}

// jvmVersion asks the instances' JVM for its version, once.
func (r *coreRunner) jvmVersion() (string, error) {
	argv := r.cfg.JVMVersionArgv()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir, cmd.Env = r.c.dir, r.env
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("cannot determine the JVM version with %s: %v: %s", strings.Join(argv, " "), err, strings.TrimSpace(stderr.String()))
	}
	v := strings.TrimSpace(string(out))
	r.c.log.Info().Str("jvm_version", v).Msg("detected JVM version")
	return v, nil
}

// untar unpacks tar and pex topologies into the working directory before
// each launch, as Heron does.
func (r *coreRunner) untar() {
	var argv []string
	switch r.cfg.PkgType {
	case "tar":
		argv = []string{"tar", "-xvf", r.cfg.TopologyBinaryFile}
	case "pex":
		argv = []string{"unzip", "-qq", "-n", r.cfg.TopologyBinaryFile}
	default:
		return
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir, cmd.Env = r.c.dir, r.env
	if out, err := cmd.CombinedOutput(); err != nil {
		r.c.log.Warn().Err(err).Str("output", strings.TrimSpace(string(out))).Msg("cannot unpack " + r.cfg.TopologyBinaryFile)
	}
}

// start starts one run of a command: its own process group, stdout and
// stderr merged into the executor's log line by line, pid file written.
func (r *coreRunner) start(c CoreCommand, attempts int) *coreProc {
	p := &coreProc{cmd: c, attempts: attempts, exited: make(chan struct{})}
	report := func() {
		close(p.exited)
		select {
		case r.exits <- p:
		case <-r.done:
		}
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		p.status = err.Error()
		go report()
		return p
	}
	cmd := exec.Command(c.Argv[0], c.Argv[1:]...)
	cmd.Dir = r.c.dir
	cmd.Env = append(append([]string(nil), r.env...), c.Env...)
	cmd.Stdout, cmd.Stderr = pw, pw
	cmd.SysProcAttr = coreSysProcAttr()
	err = cmd.Start()
	pw.Close()
	if err != nil {
		pr.Close()
		p.status = err.Error()
		r.c.log.Error().Err(err).Str("process", c.Name).Msg("cannot start process")
		go report()
		return p
	}
	p.pid, p.started = cmd.Process.Pid, true
	r.c.log.Info().Str("process", c.Name).Int("pid", p.pid).Int("run", attempts).Str("command", c.String()).Msg("process started")
	if err := WritePidFile(r.c.dir, c.Name, p.pid); err != nil {
		r.c.log.Warn().Err(err).Str("process", c.Name).Msg("cannot write pid file")
	}
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		r.logOutput(c.Name, pr)
	}()
	go func() {
		err := cmd.Wait()
		if cmd.ProcessState != nil {
			p.status = cmd.ProcessState.String()
		} else if err != nil {
			p.status = err.Error()
		}
		// Something the process started may still hold the pipe open.
		select {
		case <-drained:
		case <-time.After(2 * time.Second):
		}
		pr.Close()
		report()
	}()
	return p
}

// logOutput writes each line of a child's output to the executor's log,
// as "<name> stdout: <line>" (Heron's format); over-long lines come in
// pieces rather than stalling the child.
func (r *coreRunner) logOutput(name string, rd io.Reader) {
	br := bufio.NewReaderSize(rd, 64<<10)
	for {
		line, _, err := br.ReadLine()
		if len(line) > 0 || err == nil {
			r.c.log.Info().Str("process", name).Msg(name + " stdout: " + string(line))
		}
		if err != nil {
			return
		}
	}
}

// signal sends sig to a run's process group.
func (p *coreProc) signal(sig syscall.Signal) {
	select {
	case <-p.exited:
		return // reaped: its pid may belong to someone else by now
	default:
	}
	if !p.started {
		return
	}
	if err := syscall.Kill(-p.pid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		_ = syscall.Kill(p.pid, sig)
	}
}

// stop ends runs: SIGTERM to each process group, SIGKILL to those still
// there after StopGrace, and waits until all are reaped.
func (r *coreRunner) stop(ps []*coreProc) {
	for _, p := range ps {
		r.c.log.Info().Str("process", p.cmd.Name).Int("pid", p.pid).Msg("stopping process")
		p.signal(syscall.SIGTERM)
	}
	deadline := time.After(StopGrace)
	for _, p := range ps {
		select {
		case <-p.exited:
		case <-deadline:
		}
	}
	for _, p := range ps {
		p.signal(syscall.SIGKILL)
	}
	for _, p := range ps {
		<-p.exited
	}
}

// stopAll stops every monitored process (the executor is going away).
func (r *coreRunner) stopAll() {
	var ps []*coreProc
	for _, p := range r.procs {
		ps = append(ps, p)
	}
	r.procs = map[string]*coreProc{}
	r.stop(ps)
	close(r.done)
}
