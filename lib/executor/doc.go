// Package executor runs one container of a native topology, in the place of
// Heron's Python heron-executor. It takes Heron's executor flags exactly (a
// scheduler builds the same command line for both), reads the topology (the
// .defn in the working directory, else topologies/<name>) and follows the
// packing plan in the state manager, and plays the roles of Heron's
// container processes itself:
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
// # Files in the working directory (Heron's names)
//
//	heron-executor-<shard>.pid     the executor's pid
//	heron-executor-<shard>.stdout  the executor's log (also on stderr)
//	<instance id>.pid              each instance's pid (process group leader)
//	log-files/<instance id>.log.N  each instance's stderr and JSON log lines
//	log-files/metricsmgr-<n>.log.N the output of the metrics sink processes
//
// All pid files are written atomically as Heron's are. The log directory is
// heron.logging.directory of heron_internals.yaml, rotated at
// heron.logging.maximum.size.mb over heron.logging.maximum.files files.
//
// # Decisions where Heron does something else
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
//     plan; an unchanged plan changes nothing.
//   - Shutdown: on SIGTERM every instance's process group gets SIGTERM, then
//     SIGKILL after StopGrace (5 s, Heron's atexit delay), and every instance
//     is reaped before the executor exits. Instance process-group leaders die
//     with the executor even if it is killed outright (PR_SET_PDEATHSIG).
//   - Metrics: instances publish Heron's spout and bolt names (see
//     lib/stmgr), plus their process group's CPU and memory from /proc as
//     __jvm-process-cpu-load (cores), __jvm-memory-used-mb (RSS) and
//     __jvm-uptime-secs, the names Heron's UI charts, and
//     __process/{__cpu_user_usec,__cpu_system_usec,__mem_used_bytes}.
//     __execute-latency of a raw bolt is the time the bolt took to accept a
//     batch on stdin divided by its tuples.
//   - Queues: each destination (an instance's stdin, a peer container) has a
//     bounded queue: above heron.executor.queue.highwatermark.kb (4096) the
//     container asks every container to stop its spouts (Heron's back
//     pressure), below ...lowwatermark.kb it lets them go, and above
//     heron.executor.queue.limit.kb (8 x high) producers wait, so memory stays
//     bounded even when a bolt never reads its input.
//   - Heron-core mode (launching Heron's JVM and C++ processes from a
//     heron-core package) is not implemented: the executor runs native
//     topologies (heron.native.topology) only.
//   - Metrics sinks are processes: each sink of metrics_sinks.yaml whose class
//     is a heron-sink-* command (or a Heron sink class mapped to one) runs as
//     `<command> --config-file=... --override-config-file=... --sink-id=...
//     --topology=... --cluster=... --role=... --environ=...
//     --metrics-mgr-id=...` in the working directory and reads JSON-lines
//     records (lib/metricsrecord) on stdin; it is restarted per
//     sink-restart-attempts. TManagerSink is built in: the whitelisted metrics
//     (tmanager-metrics-type, matched by substring as Heron's sink does) go
//     to the topology manager.
package executor
