package scheduler

import (
	"encoding/base64"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/heronkit/heronkit/lib/config"
	"github.com/heronkit/heronkit/lib/packing"
	"github.com/heronkit/heronkit/lib/proto/apipb"
	"github.com/heronkit/heronkit/lib/topology"
)

// Runtime keys a submit adds to the config (Heron's Key enum).
const (
	KeyPackageURI  = "heron.package.topology.uri"
	KeyBinaryFile  = "heron.topology.binary.file"
	KeyDefnFile    = "heron.topology.definition.file"
	KeyPackageType = "heron.topology.package.type"
	KeyPackageFile = "heron.topology.package.file"
	KeyContainerID = "heron.topology.container.id"
)

// Heron's ExecutorPort names, in the order the command line lists them.
const (
	PortServer          = "server"
	PortTManagerCtl     = "tmanager-ctl"
	PortTManagerStats   = "tmanager-stats"
	PortShell           = "shell-port"
	PortMetricsMgr      = "metrics-mgr"
	PortScheduler       = "scheduler"
	PortMetricsCacheM   = "metrics-cache-m"
	PortMetricsCacheS   = "metrics-cache-s"
	PortCkptMgr         = "ckptmgr"
	PortRemoteDebuggers = "jvm-remote-debugger"
)

// RequiredPorts are the ports every executor gets.
var RequiredPorts = []string{PortServer, PortTManagerCtl, PortTManagerStats, PortShell, PortMetricsMgr,
	PortScheduler, PortMetricsCacheM, PortMetricsCacheS, PortCkptMgr}

// Ports maps port names to values. Values are strings so that a dry run
// can show placeholders; PortRemoteDebuggers holds "p,p,...".
type Ports map[string]string

// PackageType is Heron's package type of a topology binary, lower-cased as
// the executor receives it: jar, tar, pex, so, dylib; a native topology's
// YAML gives "yaml".
func PackageType(binary string) string {
	b := strings.ToLower(binary)
	switch {
	case strings.HasSuffix(b, ".jar"):
		return "jar"
	case strings.HasSuffix(b, ".tar"), strings.HasSuffix(b, ".tar.gz"):
		return "tar"
	case strings.HasSuffix(b, ".pex"):
		return "pex"
	case strings.HasSuffix(b, ".so"):
		return "so"
	case strings.HasSuffix(b, ".dylib"):
		return "dylib"
	case strings.HasSuffix(b, ".yaml"), strings.HasSuffix(b, ".yml"):
		return "yaml"
	}
	if i := strings.LastIndexByte(b, '.'); i >= 0 {
		return b[i+1:]
	}
	return b
}

// EncodeJVMOpts is Heron's encoding of JVM options on the executor command
// line: base64, every '=' written as "(61)", wrapped in double quotes.
func EncodeJVMOpts(s string) string {
	return `"` + strings.ReplaceAll(base64.StdEncoding.EncodeToString([]byte(s)), "=", "(61)") + `"`
}

// ClassPath is Heron's makeClassPath: a jar's base name, or
// "libs/*:<base without .tar.gz/.tar>.jar", plus topology.additional.classpath.
func ClassPath(t *apipb.Topology, binary string) string {
	base := filepath.Base(binary)
	cp := base
	if !strings.HasSuffix(base, ".jar") {
		name := strings.TrimSuffix(strings.TrimSuffix(base, ".gz"), ".tar")
		cp = "libs/*:" + name + ".jar"
	}
	if extra, ok := topology.ConfigValue(t, "topology.additional.classpath"); ok && extra != "" {
		cp += ":" + extra
	}
	return cp
}

// ExecutorCommand is Heron's SchedulerUtils.getExecutorCommand: the
// executor binary and its flags, each one argv element "--flag=value", in
// Heron's order. cfg is the cluster-mode config (paths like
// ./heron-core/bin/heron-executor), with the topology keys set. shard < 0
// leaves --shard out (as Slurm does).
func ExecutorCommand(cfg *config.Config, t *apipb.Topology, plan *packing.Plan, shard int, ports Ports) ([]string, error) {
	g := getter{cfg: cfg}
	tc := func(key, def string) string {
		if v, ok := topology.ConfigValue(t, key); ok {
			return v
		}
		return def
	}
	binary := g.str(KeyBinaryFile, "")
	statefulCP := ""
	if m, err := cfg.StringMap("heron.statefulstorage.config"); err == nil {
		statefulCP = m["heron.statefulstorage.custom.classpath"]
	}
	ckptRAM := tc("topology.stateful.checkpointmanager.ram", strconv.FormatInt(1<<30, 10))
	args := []string{
		g.str("heron.binaries.executor", ""),
		"--topology-name=" + t.GetName(),
		"--topology-id=" + t.GetId(),
		"--topology-defn-file=" + filepath.Base(g.str(KeyDefnFile, t.GetName()+".defn")),
		"--state-manager-connection=" + g.str(config.KeyStatemgrConn, ""),
		"--state-manager-root=" + g.str(config.KeyStatemgrRoot, ""),
		"--state-manager-config-file=" + g.str("heron.config.file.statemgr.yaml", ""),
		"--tmanager-binary=" + g.str("heron.binaries.tmanager", ""),
		"--stmgr-binary=" + g.str("heron.binaries.stmgr", ""),
		"--metrics-manager-classpath=" + g.str("heron.classpath.metrics.manager", ""),
		"--instance-jvm-opts=" + EncodeJVMOpts(tc("topology.worker.childopts", "")),
		"--classpath=" + ClassPath(t, binary),
		"--heron-internals-config-file=" + g.str("heron.config.file.system.yaml", ""),
		"--override-config-file=" + g.str("heron.config.file.override.yaml", ""),
		"--component-ram-map=" + plan.ComponentRAMMap(),
		"--component-jvm-opts=" + EncodeJVMOpts(tc("topology.component.jvmopts", "")),
		"--pkg-type=" + PackageType(binary),
		"--topology-binary-file=" + binary,
		"--heron-java-home=" + g.str("heron.directory.sandbox.java.home", ""),
	}
	if g.bool("heron.config.verbose_gc") {
		args = append(args, "--verbose-gc")
	}
	args = append(args,
		"--heron-shell-binary="+g.str("heron.binaries.shell", ""),
		"--cluster="+g.str(config.KeyCluster, ""),
		"--role="+g.str(config.KeyRole, ""),
		"--environment="+g.str(config.KeyEnviron, ""),
		"--instance-classpath="+g.str("heron.classpath.instance", ""),
		"--metrics-sinks-config-file="+g.str("heron.config.file.metrics.yaml", ""),
		"--scheduler-classpath="+g.str("heron.classpath.scheduler", "")+":"+g.str("heron.classpath.packing", "")+":"+g.str("heron.classpath.statemgr", ""),
		"--python-instance-binary="+g.str("heron.binaries.python.instance", ""),
		"--cpp-instance-binary="+g.str("heron.binaries.cpp.instance", ""),
		"--metricscache-manager-classpath="+g.str("heron.classpath.metricscache.manager", ""),
		"--metricscache-manager-mode="+g.str("heron.topology.metricscachemgr.mode", "disabled"),
		"--is-stateful="+strconv.FormatBool(tc("topology.reliability.mode", "") == "EFFECTIVELY_ONCE"),
		"--checkpoint-manager-classpath="+g.str("heron.classpath.ckptmgr", "")+":"+g.str("heron.classpath.statefulstorage", "")+":"+statefulCP,
		"--stateful-config-file="+g.str("heron.config.file.stateful.yaml", ""),
		"--checkpoint-manager-ram="+ckptRAM,
		"--health-manager-mode="+g.str("heron.topology.healthmgr.mode", "disabled"),
		"--health-manager-classpath="+g.str("heron.classpath.healthmgr", ""),
	)
	if g.err != nil {
		return nil, g.err
	}
	if shard >= 0 {
		args = append(args, "--shard="+strconv.Itoa(shard))
	}
	flags := []struct{ flag, port string }{
		{"server-port", PortServer}, {"tmanager-controller-port", PortTManagerCtl}, {"tmanager-stats-port", PortTManagerStats},
		{"shell-port", PortShell}, {"metrics-manager-port", PortMetricsMgr}, {"scheduler-port", PortScheduler},
		{"metricscache-manager-server-port", PortMetricsCacheM}, {"metricscache-manager-stats-port", PortMetricsCacheS},
		{"checkpoint-manager-port", PortCkptMgr},
	}
	for _, f := range flags {
		p, ok := ports[f.port]
		if !ok {
			return nil, fmt.Errorf("required port %s not provided", f.port)
		}
		args = append(args, "--"+f.flag+"="+p)
	}
	if p, ok := ports[PortRemoteDebuggers]; ok && p != "" {
		args = append(args, "--jvm-remote-debugger-ports="+p)
	}
	return args, nil
}

// getter reads config strings, keeping the first error.
type getter struct {
	cfg *config.Config
	err error
}

func (g *getter) str(key, def string) string {
	v, err := g.cfg.String(key, def)
	if err != nil && g.err == nil {
		g.err = err
	}
	return v
}

func (g *getter) bool(key string) bool {
	v, err := g.cfg.Bool(key, false)
	if err != nil && g.err == nil {
		g.err = err
	}
	return v
}
