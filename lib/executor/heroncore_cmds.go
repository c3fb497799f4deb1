package executor

import (
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/heronkit/heronkit/lib/proto/systempb"
)

// The command lines of Heron-core mode. Every builder here reproduces, item
// by item, the argv Heron's Python executor gives the same process (the
// reference's executor section, "Exact command lines"); Heron's own unit
// test vectors are our tests. Nothing here starts a process.

// CoreConfig is what the command lines are built from: the executor flags
// as given (ports stay text, as Heron passes them through untouched), the
// JVM options decoded, and the few facts of the container.
type CoreConfig struct {
	Shard                                                       int
	TopologyName, TopologyID, TopologyDefnFile                  string
	StateManagerConnection, StateManagerRoot                    string
	TmanagerBinary, StmgrBinary, HeronShellBinary               string
	PythonInstanceBinary, CppInstanceBinary                     string
	HeronJavaHome                                               string
	MetricsManagerClasspath, MetricscacheManagerClasspath       string
	InstanceClasspath, Classpath                                string
	SchedulerClasspath, HealthManagerClasspath                  string
	CheckpointManagerClasspath                                  string
	ServerPort, TmanagerControllerPort, TmanagerStatsPort       string
	ShellPort, MetricsManagerPort                               string
	MetricscacheManagerServerPort, MetricscacheManagerStatsPort string
	CheckpointManagerPort                                       string
	HeronInternalsConfigFile, OverrideConfigFile                string
	MetricsSinksConfigFile, StatefulConfigFile                  string
	Cluster, Role, Environment                                  string
	PkgType, TopologyBinaryFile                                 string
	MetricscacheManagerMode, HealthManagerMode                  string
	Stateful, VerboseGC                                         bool
	CheckpointManagerRAM                                        int64
	InstanceJVMOpts                                             string            // decoded --instance-jvm-opts
	ComponentJVMOpts                                            map[string]string // decoded --component-jvm-opts
	ComponentRAM                                                map[string]int64  // --component-ram-map, bytes
	DebuggerPorts                                               []string          // --jvm-remote-debugger-ports
	Host                                                        string            // --myhost of the TManager and stmgr
	LogDir                                                      string            // heron.logging.directory
	Dir                                                         string            // the working directory (absolute)
	HeapCheck                                                   bool              // ENABLE_HEAPCHECK is set
	JVMVersion                                                  func() (string, error)
}

// CoreConfigOf turns executor flags into a CoreConfig.
func CoreConfigOf(a Args, dir, logDir, host string) (CoreConfig, error) {
	itoa := strconv.Itoa
	cfg := CoreConfig{
		Shard: a.Shard, TopologyName: a.TopologyName, TopologyID: a.TopologyID, TopologyDefnFile: a.TopologyDefnFile,
		StateManagerConnection: a.StateManagerConnection, StateManagerRoot: a.StateManagerRoot,
		TmanagerBinary: a.TmanagerBinary, StmgrBinary: a.StmgrBinary, HeronShellBinary: a.HeronShellBinary,
		PythonInstanceBinary: a.PythonInstanceBinary, CppInstanceBinary: a.CppInstanceBinary,
		HeronJavaHome:           a.HeronJavaHome,
		MetricsManagerClasspath: a.MetricsManagerClasspath, MetricscacheManagerClasspath: a.MetricscacheManagerClasspath,
		InstanceClasspath: a.InstanceClasspath, Classpath: a.Classpath,
		SchedulerClasspath: a.SchedulerClasspath, HealthManagerClasspath: a.HealthManagerClasspath,
		CheckpointManagerClasspath: a.CheckpointManagerClasspath,
		ServerPort:                 itoa(a.ServerPort), TmanagerControllerPort: itoa(a.TmanagerControllerPort),
		TmanagerStatsPort: itoa(a.TmanagerStatsPort), ShellPort: itoa(a.ShellPort), MetricsManagerPort: itoa(a.MetricsManagerPort),
		MetricscacheManagerServerPort: a.MetricscacheManagerServer, MetricscacheManagerStatsPort: a.MetricscacheManagerStats,
		CheckpointManagerPort:    a.CheckpointManagerPort,
		HeronInternalsConfigFile: a.HeronInternalsConfigFile, OverrideConfigFile: a.OverrideConfigFile,
		MetricsSinksConfigFile: a.MetricsSinksConfigFile, StatefulConfigFile: a.StatefulConfigFile,
		Cluster: a.Cluster, Role: a.Role, Environment: a.Environment,
		PkgType: a.PkgType, TopologyBinaryFile: a.TopologyBinaryFile,
		MetricscacheManagerMode: a.MetricscacheManagerMode, HealthManagerMode: a.HealthManagerMode,
		Stateful: strings.EqualFold(a.IsStateful, "true"), VerboseGC: a.VerboseGC,
		Host: host, LogDir: logDir, Dir: dir,
	}
	if cfg.MetricscacheManagerMode == "" {
		cfg.MetricscacheManagerMode = "disabled" // Heron's default for the optional flag
	}
	var err error
	if cfg.InstanceJVMOpts, err = DecodeJVMOpts(a.InstanceJvmOpts); err != nil {
		return cfg, fmt.Errorf("--instance-jvm-opts: %w", err)
	}
	if cfg.ComponentJVMOpts, err = DecodeComponentJVMOpts(a.ComponentJvmOpts); err != nil {
		return cfg, fmt.Errorf("--component-jvm-opts: %w", err)
	}
	if cfg.ComponentRAM, err = ParseRAMMap(a.ComponentRAMMap); err != nil {
		return cfg, err
	}
	if a.CheckpointManagerRAM != "" {
		if cfg.CheckpointManagerRAM, err = strconv.ParseInt(a.CheckpointManagerRAM, 10, 64); err != nil {
			return cfg, fmt.Errorf("--checkpoint-manager-ram=%s is not a number of bytes", a.CheckpointManagerRAM)
		}
	} else if cfg.Stateful {
		return cfg, fmt.Errorf("--is-stateful=true needs --checkpoint-manager-ram (bytes)")
	}
	if a.JvmRemoteDebuggerPorts != "" {
		cfg.DebuggerPorts = strings.Split(a.JvmRemoteDebuggerPorts, ",")
	}
	if a.Shard > 0 {
		switch a.PkgType {
		case "jar", "tar", "pex", "so", "dylib":
		default:
			return cfg, fmt.Errorf("--pkg-type=%q: Heron's executor runs jar, tar, pex, so or dylib topologies", a.PkgType)
		}
	}
	return cfg, nil
}

// CoreCommand is one process of a container: its name (Heron's key, which
// is also the pid file's name), its argv, and what it adds to the
// executor's environment.
type CoreCommand struct {
	Name string
	Argv []string
	Env  []string
}

// String is the argv joined by spaces, as Heron's unit test compares them.
func (c CoreCommand) String() string { return strings.Join(c.Argv, " ") }

// CoreIDs are Heron's per-container process ids for a packing plan: stream
// managers for every container of the plan; metrics managers, checkpoint
// managers and shells for those plus container 0.
type CoreIDs struct {
	Stmgr, MetricsMgr, CkptMgr, Shell map[int32]string
}

// CoreIDsOf returns the ids of a packing plan.
func CoreIDsOf(pp *systempb.PackingPlan) CoreIDs {
	ids := func(prefix string, zero bool) map[int32]string {
		m := map[int32]string{}
		if zero {
			m[0] = prefix + "-0"
		}
		for _, cp := range pp.GetContainerPlans() {
			m[cp.GetId()] = prefix + "-" + strconv.Itoa(int(cp.GetId()))
		}
		return m
	}
	return CoreIDs{Stmgr: ids("stmgr", false), MetricsMgr: ids("metricsmgr", true),
		CkptMgr: ids("ckptmgr", true), Shell: ids("heron-shell", true)}
}

// gcOptions is Heron's G1 group, given to every JVM with a -cp.
var gcOptions = []string{"-XX:+UseG1GC", "-XX:+ParallelRefProcEnabled", "-XX:+UseStringDeduplication",
	"-XX:MaxGCPauseMillis=100", "-XX:InitiatingHeapOccupancyPercent=30", "-XX:ParallelGCThreads=4"}

// Heron's Java main classes.
const (
	classMetricsManager = "org.apache.heron.metricsmgr.MetricsManager"
	classMetricsCache   = "org.apache.heron.metricscachemgr.MetricsCacheManager"
	classHealthManager  = "org.apache.heron.healthmgr.HealthManager"
	classCkptManager    = "org.apache.heron.ckptmgr.CheckpointManager"
	classInstance       = "org.apache.heron.instance.HeronInstance"
	classJvmVersion     = "org.apache.heron.instance.util.JvmVersion"
)

// Instance JVM sizing (MB), as Heron's executor fixes them.
const (
	codeCacheMB = 64
	metaspaceMB = 128
)

// java is <java home>/bin/java joined the way Python's os.path.join does
// (no cleaning: "./jdk" stays "./jdk/bin/java").
func (cfg CoreConfig) java() string {
	switch {
	case cfg.HeronJavaHome == "":
		return "bin/java"
	case strings.HasSuffix(cfg.HeronJavaHome, "/"):
		return cfg.HeronJavaHome + "bin/java"
	}
	return cfg.HeronJavaHome + "/bin/java"
}

// JVMVersionArgv is the command whose stdout is the instances' JVM version.
func (cfg CoreConfig) JVMVersionArgv() []string {
	return []string{cfg.java(), "-cp", cfg.InstanceClasspath, classJvmVersion}
}

// withGC inserts the GC group right before the first "-cp"; a command
// without one gets none.
func (cfg CoreConfig) withGC(argv []string, gcName string) []string {
	i := indexOf(argv, "-cp")
	if i < 0 {
		return argv
	}
	gc := append([]string(nil), gcOptions...)
	if cfg.VerboseGC {
		gc = append(gc, "-Xlog:gc*,safepoint=info:file="+cfg.LogDir+"/gc."+gcName+
			".log:tags,time,uptime,level:filecount=5,filesize=100M")
	}
	out := make([]string, 0, len(argv)+len(gc))
	out = append(out, argv[:i]...)
	out = append(out, gc...)
	return append(out, argv[i:]...)
}

func indexOf(s []string, v string) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return -1
}

// heapCheckEnv is what ENABLE_HEAPCHECK adds for the C++ daemons.
func (cfg CoreConfig) heapCheckEnv() []string {
	if !cfg.HeapCheck {
		return nil
	}
	return []string{"LD_PRELOAD=/usr/lib/libtcmalloc.so", "HEAPCHECK=normal"}
}

// TmanagerCommand is heron-tmanager.
func (cfg CoreConfig) TmanagerCommand() CoreCommand {
	return CoreCommand{Name: "heron-tmanager", Env: cfg.heapCheckEnv(), Argv: []string{cfg.TmanagerBinary,
		"--topology_name=" + cfg.TopologyName, "--topology_id=" + cfg.TopologyID,
		"--zkhostportlist=" + cfg.StateManagerConnection, "--zkroot=" + cfg.StateManagerRoot,
		"--myhost=" + cfg.Host, "--server_port=" + cfg.ServerPort, "--controller_port=" + cfg.TmanagerControllerPort,
		"--stats_port=" + cfg.TmanagerStatsPort, "--config_file=" + cfg.HeronInternalsConfigFile,
		"--override_config_file=" + cfg.OverrideConfigFile, "--metrics_sinks_yaml=" + cfg.MetricsSinksConfigFile,
		"--metricsmgr_port=" + cfg.MetricsManagerPort, "--ckptmgr_port=" + cfg.CheckpointManagerPort}}
}

// daemonJVM is the JVM prefix of Heron's Java daemons.
func (cfg CoreConfig) daemonJVM(classpath, class string) []string {
	return []string{cfg.java(), "-Xmx1024M", "-XX:+PrintCommandLineFlags", "-Djava.net.preferIPv4Stack=true", "-cp", classpath, class}
}

// MetricsManagerCommand is metricsmgr-<id>.
func (cfg CoreConfig) MetricsManagerCommand(id string) CoreCommand {
	argv := append(cfg.daemonJVM(cfg.MetricsManagerClasspath, classMetricsManager),
		"--id="+id, "--port="+cfg.MetricsManagerPort, "--topology="+cfg.TopologyName, "--cluster="+cfg.Cluster,
		"--role="+cfg.Role, "--environment="+cfg.Environment, "--topology-id="+cfg.TopologyID,
		"--system-config-file="+cfg.HeronInternalsConfigFile, "--override-config-file="+cfg.OverrideConfigFile,
		"--sink-config-file="+cfg.MetricsSinksConfigFile)
	return CoreCommand{Name: id, Argv: cfg.withGC(argv, id)}
}

// MetricsCacheCommand is heron-metricscache (flags and values as separate items).
func (cfg CoreConfig) MetricsCacheCommand() CoreCommand {
	argv := append(cfg.daemonJVM(cfg.MetricscacheManagerClasspath, classMetricsCache),
		"--metricscache_id", "metricscache-0", "--server_port", cfg.MetricscacheManagerServerPort,
		"--stats_port", cfg.MetricscacheManagerStatsPort, "--topology_name", cfg.TopologyName,
		"--topology_id", cfg.TopologyID, "--system_config_file", cfg.HeronInternalsConfigFile,
		"--override_config_file", cfg.OverrideConfigFile, "--sink_config_file", cfg.MetricsSinksConfigFile,
		"--cluster", cfg.Cluster, "--role", cfg.Role, "--environment", cfg.Environment)
	return CoreCommand{Name: "heron-metricscache", Argv: cfg.withGC(argv, "metricscache")}
}

// HealthManagerCommand is heron-healthmgr; its classpath is the scheduler's
// followed by the health manager's.
func (cfg CoreConfig) HealthManagerCommand() CoreCommand {
	argv := append(cfg.daemonJVM(cfg.SchedulerClasspath+":"+cfg.HealthManagerClasspath, classHealthManager),
		"--cluster", cfg.Cluster, "--role", cfg.Role, "--environment", cfg.Environment,
		"--topology_name", cfg.TopologyName, "--metricsmgr_port", cfg.MetricsManagerPort)
	return CoreCommand{Name: "heron-healthmgr", Argv: cfg.withGC(argv, "healthmgr")}
}

// CheckpointManagerCommand is ckptmgr-<id>: heap in whole MB, short
// options glued to their values.
func (cfg CoreConfig) CheckpointManagerCommand(id string) CoreCommand {
	mb := strconv.FormatInt(cfg.CheckpointManagerRAM/(1<<20), 10)
	argv := []string{cfg.java(), "-Xms" + mb + "M", "-Xmx" + mb + "M", "-XX:+PrintCommandLineFlags",
		"-Djava.net.preferIPv4Stack=true", "-cp", cfg.CheckpointManagerClasspath, classCkptManager,
		"-t" + cfg.TopologyName, "-i" + cfg.TopologyID, "-c" + id, "-p" + cfg.CheckpointManagerPort,
		"-f" + cfg.StatefulConfigFile, "-o" + cfg.OverrideConfigFile, "-g" + cfg.HeronInternalsConfigFile}
	return CoreCommand{Name: id, Argv: cfg.withGC(argv, id)}
}

// ShellCommand is heron-shell under the given name (heron-shell-<shard>,
// or heron-shell for a container with no plan).
func (cfg CoreConfig) ShellCommand(name string) CoreCommand {
	return CoreCommand{Name: name, Argv: []string{cfg.HeronShellBinary, "--port=" + cfg.ShellPort,
		"--log_file_prefix=" + cfg.LogDir + "/heron-shell-" + strconv.Itoa(cfg.Shard) + ".log",
		"--secret=" + cfg.TopologyID}}
}

// StmgrCommand is stmgr-<shard> for the container's instance ids.
func (cfg CoreConfig) StmgrCommand(id, ckptID string, instanceIDs []string) CoreCommand {
	return CoreCommand{Name: id, Env: cfg.heapCheckEnv(), Argv: []string{cfg.StmgrBinary,
		"--topology_name=" + cfg.TopologyName, "--topology_id=" + cfg.TopologyID,
		"--topologydefn_file=" + cfg.TopologyDefnFile, "--zkhostportlist=" + cfg.StateManagerConnection,
		"--zkroot=" + cfg.StateManagerRoot, "--stmgr_id=" + id, "--instance_ids=" + strings.Join(instanceIDs, ","),
		"--myhost=" + cfg.Host, "--data_port=" + cfg.ServerPort, "--local_data_port=" + cfg.TmanagerControllerPort,
		"--metricsmgr_port=" + cfg.MetricsManagerPort, "--shell_port=" + cfg.ShellPort,
		"--config_file=" + cfg.HeronInternalsConfigFile, "--override_config_file=" + cfg.OverrideConfigFile,
		"--ckptmgr_port=" + cfg.CheckpointManagerPort, "--ckptmgr_id=" + ckptID,
		"--metricscachemgr_mode=" + strings.ToLower(cfg.MetricscacheManagerMode)}}
}

// CoreInstance is one instance of a container plan.
type CoreInstance struct {
	ID        string // container_<shard>_<component>_<task>
	Component string
	TaskID    int32
	Index     int32
}

func (cfg CoreConfig) ram(component string) (int64, error) {
	n, ok := cfg.ComponentRAM[component]
	if !ok {
		return 0, fmt.Errorf("--component-ram-map has no RAM for component %q", component)
	}
	return n, nil
}

// JavaInstanceCommand is a Java instance (jar and tar topologies). stmgrID
// is the container's stream manager; debugPort is "" for none.
func (cfg CoreConfig) JavaInstanceCommand(in CoreInstance, stmgrID, debugPort string) (CoreCommand, error) {
	ram, err := cfg.ram(in.Component)
	if err != nil {
		return CoreCommand{}, err
	}
	if cfg.JVMVersion == nil {
		return CoreCommand{}, fmt.Errorf("the JVM version of the instances is unknown")
	}
	version, err := cfg.JVMVersion()
	if err != nil {
		return CoreCommand{}, err
	}
	version = strings.TrimSpace(version)
	head, _, _ := strings.Cut(version, ".")
	major, err := strconv.Atoi(head)
	if err != nil {
		return CoreCommand{}, fmt.Errorf("JVM version %q has no major number", version)
	}
	heap := ram/(1<<20) - codeCacheMB - metaspaceMB
	param := "MetaspaceSize"
	for _, old := range []string{"1.7", "1.6", "1.5"} {
		if strings.HasPrefix(version, old) {
			param = "PermSize"
		}
	}
	mb := func(n int64) string { return strconv.FormatInt(n, 10) + "M" }
	opts := []string{"-Xmx" + mb(heap), "-Xms" + mb(heap)}
	if major < 11 {
		opts = append(opts, "-Xmn"+mb(heap/2))
	}
	opts = append(opts, "-XX:Max"+param+"="+mb(metaspaceMB), "-XX:"+param+"="+mb(metaspaceMB),
		"-XX:ReservedCodeCacheSize="+mb(codeCacheMB), "-XX:+PrintCommandLineFlags", "-Djava.net.preferIPv4Stack=true",
		"-cp", cfg.InstanceClasspath+":"+cfg.Classpath)
	opts = cfg.withGC(opts, in.ID)
	if debugPort != "" {
		opts = append(opts, "-agentlib:jdwp=transport=dt_socket,server=y,suspend=n,address="+debugPort)
	}
	opts = append(opts, strings.Fields(cfg.InstanceJVMOpts)...)
	opts = append(opts, strings.Fields(cfg.ComponentJVMOpts[in.Component])...)
	argv := []string{cfg.java()}
	for _, o := range opts {
		if o != "" { // Heron drops empty items
			argv = append(argv, o)
		}
	}
	argv = append(argv, classInstance,
		"-topology_name", cfg.TopologyName, "-topology_id", cfg.TopologyID, "-instance_id", in.ID,
		"-component_name", in.Component, "-task_id", strconv.Itoa(int(in.TaskID)),
		"-component_index", strconv.Itoa(int(in.Index)), "-stmgr_id", stmgrID,
		"-stmgr_port", cfg.TmanagerControllerPort, "-metricsmgr_port", cfg.MetricsManagerPort,
		"-system_config_file", cfg.HeronInternalsConfigFile, "-override_config_file", cfg.OverrideConfigFile)
	if debugPort != "" {
		argv = append(argv, "-remote_debugger_port", debugPort)
	}
	return CoreCommand{Name: in.ID, Argv: argv}, nil
}

// nativeInstanceArgs are the flags the Python and C++ instances share.
func (cfg CoreConfig) nativeInstanceArgs(binary string, in CoreInstance, stmgrID string) []string {
	return []string{binary, "--topology_name=" + cfg.TopologyName, "--topology_id=" + cfg.TopologyID,
		"--instance_id=" + in.ID, "--component_name=" + in.Component, "--task_id=" + strconv.Itoa(int(in.TaskID)),
		"--component_index=" + strconv.Itoa(int(in.Index)), "--stmgr_id=" + stmgrID,
		"--stmgr_port=" + cfg.TmanagerControllerPort, "--metricsmgr_port=" + cfg.MetricsManagerPort,
		"--config_file=" + cfg.HeronInternalsConfigFile, "--override_config_file=" + cfg.OverrideConfigFile}
}

// PythonInstanceCommand is a Python instance (pex topologies).
func (cfg CoreConfig) PythonInstanceCommand(in CoreInstance, stmgrID string) (CoreCommand, error) {
	ram, err := cfg.ram(in.Component)
	if err != nil {
		return CoreCommand{}, err
	}
	argv := append(cfg.nativeInstanceArgs(cfg.PythonInstanceBinary, in, stmgrID),
		"--topology_pex="+cfg.TopologyBinaryFile, "--max_ram="+strconv.FormatInt(ram, 10))
	return CoreCommand{Name: in.ID, Argv: argv}, nil
}

// CppInstanceCommand is a C++ instance (so and dylib topologies); the
// topology binary is given as an absolute path.
func (cfg CoreConfig) CppInstanceCommand(in CoreInstance, stmgrID string) CoreCommand {
	bin := cfg.TopologyBinaryFile
	if !filepath.IsAbs(bin) {
		bin = filepath.Join(cfg.Dir, bin)
	}
	return CoreCommand{Name: in.ID, Argv: append(cfg.nativeInstanceArgs(cfg.CppInstanceBinary, in, stmgrID), "--topology_binary="+bin)}
}

// containerPlan returns the plan of a container, or nil when the packing
// plan has none for it.
func containerPlan(pp *systempb.PackingPlan, id int32) *systempb.ContainerPlan {
	var found *systempb.ContainerPlan
	for _, cp := range pp.GetContainerPlans() {
		if cp.GetId() == id {
			found = cp // the last one wins, as in Heron
		}
	}
	return found
}

// CoreCommands returns the processes of shard cfg.Shard for a packing plan,
// in start order:
//
//   - shard 0: heron-tmanager, [heron-metricscache], [heron-healthmgr],
//     metricsmgr-0, [ckptmgr-0], heron-shell-0;
//   - a shard with a container plan: stmgr-N, metricsmgr-N, [ckptmgr-N],
//     the instances in plan order, heron-shell-N;
//   - a shard with no container plan: heron-shell alone;
//   - a plan with no containers at all: nothing.
func CoreCommands(cfg CoreConfig, pp *systempb.PackingPlan) ([]CoreCommand, error) {
	if len(pp.GetContainerPlans()) == 0 {
		return nil, nil
	}
	shard := int32(cfg.Shard)
	mine := containerPlan(pp, shard)
	if mine == nil && shard != 0 {
		return []CoreCommand{cfg.ShellCommand("heron-shell")}, nil
	}
	ids := CoreIDsOf(pp)
	var out []CoreCommand
	if shard == 0 {
		out = append(out, cfg.TmanagerCommand())
		if !strings.EqualFold(cfg.MetricscacheManagerMode, "disabled") {
			out = append(out, cfg.MetricsCacheCommand())
		}
		// Heron requires the flag; an empty value is taken as "disabled"
		// here rather than starting a health manager nobody asked for.
		if m := cfg.HealthManagerMode; m != "" && !strings.EqualFold(m, "disabled") {
			out = append(out, cfg.HealthManagerCommand())
		}
		out = append(out, cfg.MetricsManagerCommand(ids.MetricsMgr[0]))
		if cfg.Stateful {
			out = append(out, cfg.CheckpointManagerCommand(ids.CkptMgr[0]))
		}
		return append(out, cfg.ShellCommand(ids.Shell[0])), nil
	}

	var instances []CoreInstance
	var iids []string
	for _, ip := range mine.GetInstancePlans() {
		in := CoreInstance{ID: fmt.Sprintf("container_%d_%s_%d", shard, ip.GetComponentName(), ip.GetTaskId()),
			Component: ip.GetComponentName(), TaskID: ip.GetTaskId(), Index: ip.GetComponentIndex()}
		instances = append(instances, in)
		iids = append(iids, in.ID)
	}
	stmgrID := ids.Stmgr[shard]
	out = append(out, cfg.StmgrCommand(stmgrID, ids.CkptMgr[shard], iids), cfg.MetricsManagerCommand(ids.MetricsMgr[shard]))
	if cfg.Stateful {
		out = append(out, cfg.CheckpointManagerCommand(ids.CkptMgr[shard]))
	}
	for i, in := range instances {
		var c CoreCommand
		var err error
		switch cfg.PkgType {
		case "jar", "tar":
			// Heron pops debugger ports off the end of the list, once for
			// the executor's life; here each launch hands them out afresh
			// in the same order, so a relaunch keeps them.
			port := ""
			if n := len(cfg.DebuggerPorts); i < n {
				port = cfg.DebuggerPorts[n-1-i]
			}
			c, err = cfg.JavaInstanceCommand(in, stmgrID, port)
		case "pex":
			c, err = cfg.PythonInstanceCommand(in, stmgrID)
		case "so", "dylib":
			c = cfg.CppInstanceCommand(in, stmgrID)
		default:
			err = fmt.Errorf("unrecognized package type %q", cfg.PkgType)
		}
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return append(out, cfg.ShellCommand(ids.Shell[shard])), nil
}

// CoreCommandChanges compares the running commands with the wanted ones,
// as Heron does on a packing-plan change: a running process is kept when a
// wanted command of the same name has the same argv (the environment is not
// compared), unless it is a stream manager, which is always restarted;
// every other running process is killed, and every wanted command not kept
// is started (in the wanted order). kill and keep are sorted by name.
func CoreCommandChanges(current, wanted []CoreCommand) (kill, keep, start []CoreCommand) {
	want := map[string]CoreCommand{}
	for _, c := range wanted {
		want[c.Name] = c
	}
	kept := map[string]bool{}
	for _, c := range current {
		w, ok := want[c.Name]
		if ok && slices.Equal(w.Argv, c.Argv) && !strings.HasPrefix(c.Name, "stmgr-") {
			keep = append(keep, c)
			kept[c.Name] = true
		} else {
			kill = append(kill, c)
		}
	}
	for _, c := range wanted {
		if !kept[c.Name] {
			start = append(start, c)
		}
	}
	byName := func(a, b CoreCommand) int { return strings.Compare(a.Name, b.Name) }
	slices.SortFunc(kill, byName)
	slices.SortFunc(keep, byName)
	return kill, keep, start
}
