// Package executor runs one container of a topology, in the place of
// Heron's Python heron-executor. It takes Heron's executor flags exactly (a
// scheduler builds the same command line for both), reads the topology (the
// .defn in the working directory, else topologies/<name>) and follows the
// packing plan in the state manager. It has two modes.
//
// # Native mode
//
// A native topology (heron.native.topology: true, or every component has a
// heron.native.command) runs without a JVM: the executor plays the roles of
// Heron's container processes itself:
//
//   - shard 0: the topology manager (lib/tmanager): location, physical plan,
//     controller on --tmanager-controller-port, stats protocol
//     (lib/tmstats) on --tmanager-stats-port, registrations on
//     --server-port; and its metrics manager (metricsmgr-0);
//   - shards 1..N: the stream manager (lib/stmgr) with its data port on
//     --server-port, the instances of the container's plan as child
//     processes (lib/instance), and the metrics manager (metricsmgr-<n>);
//   - every shard: heron-shell's endpoints (lib/shell) on --shell-port.
//
// # Native mode: files in the working directory (Heron's names)
//
//	heron-executor-<shard>.pid     the executor's pid
//	heron-executor-<shard>.stdout  the executor's log (also on stderr)
//	<instance id>.pid              each instance's pid (process group leader)
//	log-files/<instance id>.log.N  each instance's stderr and JSON log lines,
//	                               between the executor's start and exit lines
//	log-files/metricsmgr-<n>.log.N the output of the metrics sink processes
//
// All pid files are written atomically as Heron's are. The log directory is
// heron.logging.directory of heron_internals.yaml, rotated at
// heron.logging.maximum.size.mb over heron.logging.maximum.files files.
//
// # Native mode: decisions where Heron does something else
//
//   - Restarts: Heron waits a fixed 10 s and gives up after 150 runs of any
//     process (exiting the container). Here a crashed instance restarts after
//     heron.executor.instance.restart.backoff.min.ms (1000), doubling to
//     ...backoff.max.ms (60000), reset after a run that lasted that long; the
//     budget is heron.executor.instance.restart.max runs (150), after which
//     the executor exits with an error as Heron's does. A spout that exits
//     with status 0 has finished (it read all its input) and is not
//     restarted. Restarts are the metric __instance-restart-count.
//   - Packing-plan changes: Heron restarts only the processes whose command
//     changed (and always the stream manager). Here the whole container
//     runtime (stream manager and instances) restarts on any change of the
//     plan; an unchanged plan changes nothing. The data port is bound once
//     per executor and kept across runtimes (peers connecting in between
//     wait in the accept queue), and a runtime that fails to start is tried
//     again with backoff (0.5 s doubling to 30 s) rather than left for the
//     next plan, so a container always registers again.
//   - Ports: Heron's scheduler always passes port numbers. Here port 0
//     for --server-port, --tmanager-controller-port, --tmanager-stats-port
//     or --shell-port means any free port: the executor binds it and
//     reports the port it got where Heron's processes report theirs (the
//     topology manager location; the stream manager's data and shell ports
//     in the physical plan). The local scheduler passes 0 for native
//     topologies, so no other process can take a port between its choice
//     and the bind. Heron-core mode refuses 0.
//   - Registration: Heron gives every packing plan of a topology the
//     topology id as its id, so the id cannot tell plans apart. A stream
//     manager registers with a digest of the plan it runs, and the topology
//     manager writes the physical plan only once every container of its
//     current plan registered running that plan (a container still on the
//     previous plan, or restarted just before the change, registers again
//     after adopting it). A registration overtaken by a later one of the
//     same executor is refused rather than evicting it.
//   - Controller texts: for activate of a running topology and deactivate
//     of a paused one Heron answers 400 with an empty body; here the body
//     says "Topology not in paused state" / "Topology not in running
//     state" (Heron's log line). Heron's clients only test for 200 (the
//     runtime manager checks the state in the physical plan first), so no
//     client depends on the empty body, and heron-submit shows the text.
//   - Shutdown: on SIGTERM every instance's process group gets SIGTERM, then
//     SIGKILL after StopGrace (5 s, Heron's atexit delay), and every instance
//     is reaped before the executor exits. Instance process-group leaders die
//     with the executor even if it is killed outright (PR_SET_PDEATHSIG).
//   - Metrics: instances publish Heron's spout and bolt names (see
//     lib/stmgr), plus their process group's CPU and memory from /proc as
//     __jvm-process-cpu-load, __jvm-memory-used-mb (RSS) and
//     __jvm-uptime-secs, the names Heron's UI charts, and
//     __process/{__cpu_user_usec,__cpu_system_usec,__mem_used_bytes}.
//     The CPU load is in cores in use since the previous export, as
//     Heron's (the JVM's process CPU load times the processors), which is
//     what the UI's CPU thresholds (1, 1.5, 2) expect. __jvm-memory-mb-total
//     is the RAM the packing plan gives the instance, in MB (Heron's is the
//     JVM heap size): the UI's memory colouring, used / total, is then the
//     share of its allocation an instance uses.
//     __execute-latency of a raw bolt is the time the bolt took to accept a
//     batch on stdin divided by its tuples.
//   - Queues: each destination (an instance's stdin, a peer container) has a
//     bounded queue: above heron.executor.queue.highwatermark.kb (4096) the
//     container asks every container to stop its spouts (Heron's back
//     pressure), below ...lowwatermark.kb it lets them go, and above
//     heron.executor.queue.limit.kb (8 x high) producers wait, so memory stays
//     bounded even when a bolt never reads its input.
//   - Metrics sinks are processes: each sink of metrics_sinks.yaml whose class
//     is a heron-sink-* command (or a Heron sink class mapped to one) runs as
//     `<command> --config-file=... --override-config-file=... --sink-id=...
//     --topology=... --cluster=... --role=... --environ=...
//     --metrics-mgr-id=...` in the working directory and reads JSON-lines
//     records (lib/metricsrecord) on stdin; it is restarted per
//     sink-restart-attempts. TManagerSink is built in: the whitelisted metrics
//     (tmanager-metrics-type, matched by substring as Heron's sink does) go
//     to the topology manager.
//
// # Heron-core mode (heroncore.go, heroncore_cmds.go)
//
// Any other topology (Java, Python, C++) runs Heron's own processes from
// the Heron core package unpacked as ./heron-core, with the command lines
// Heron's executor builds, item for item (CoreCommands; Heron's executor
// unit test vectors are its tests):
//
//   - shard 0: heron-tmanager, heron-metricscache (unless
//     --metricscache-manager-mode=disabled), heron-healthmgr (unless
//     --health-manager-mode=disabled), metricsmgr-0, ckptmgr-0 (with
//     --is-stateful=true), heron-shell-0;
//   - a shard whose container is in the packing plan: stmgr-N,
//     metricsmgr-N, ckptmgr-N (stateful), one instance per instance plan
//     (Java for jar and tar packages, Python for pex, C++ for so and
//     dylib; named container_N_<component>_<task>), heron-shell-N; tar and
//     pex packages are unpacked in the working directory before each launch;
//   - a shard with no container in the plan (just added by an update):
//     heron-shell alone; a plan with no containers: nothing.
//
// Each process runs in the working directory with the executor's
// environment plus PEX_ROOT=<cwd>/.pex (and LD_PRELOAD/HEAPCHECK for the
// C++ daemons when ENABLE_HEAPCHECK is set); its stdout and stderr go to
// the executor's log as "<name> stdout: <line>"; its pid goes to
// <name>.pid. The Java instances' JVM version is asked once with
// `<java> -cp <instance classpath> org.apache.heron.instance.util.JvmVersion`.
// As in Heron: a process that exits is restarted with the same argv after
// a fixed delay, and after heron.executor.instance.restart.max runs (150)
// the executor exits with an error; on a packing-plan change the processes
// whose argv changed (and always the stream manager) are stopped, the new
// ones started and the rest kept; the executor leads its own process
// group, so heron-shell's /killexecutor reaches it. Where this mode differs
// from Heron:
//
//   - the restart delay is heron.executor.process.restart.interval.ms
//     (default 10000, Heron's fixed 10 s) and waiting for it blocks nothing
//     else (Heron sleeps holding its process lock);
//   - processes being replaced get SIGTERM, then SIGKILL after StopGrace,
//     and are reaped before their successors start (Heron does not wait,
//     so a new stream manager can find its port still taken);
//   - each process leads its own process group, stopped as a whole; on
//     SIGTERM the executor stops every process this way and exits 0, rather
//     than signalling its own group (Heron's atexit killpg);
//   - remote debugger ports are handed out afresh at each launch, the first
//     instance taking the last port as in Heron (Heron consumes the list
//     once, so relaunched instances lose their ports);
//   - the state manager is the one of the flags (--state-manager-connection
//     and --state-manager-root), as in native mode; Heron's executor reads
//     the root from statemgr.yaml. A deleted packing plan counts as an empty
//     one on every backend (everything stops), where Heron's ZooKeeper watch
//     fails;
//   - a missing Heron core, an unknown --pkg-type or a missing
//     --component-ram-map entry is a clear error (Heron raises in a
//     thread); an empty --health-manager-mode counts as disabled.
package executor
