// Package config loads Heron cluster configuration: a cluster folder such as
// conf/local holding Heron's flat YAML files (client.yaml, packing.yaml,
// scheduler.yaml, statemgr.yaml, uploader.yaml, downloader.yaml, ...), merged
// the way Heron 0.20's ConfigLoader merges them, with Heron's ${TOKEN}
// substitution, so that a cluster folder written for Heron works unchanged.
//
// # Loading order
//
// Load merges, later sources winning key by key:
//
//  1. the defaults of Heron's Key enum, with heron.directory.home set to the
//     Heron home and heron.directory.conf to the cluster folder;
//  2. cluster.yaml, client.yaml, healthmgr.yaml, packing.yaml, scheduler.yaml,
//     statemgr.yaml, uploader.yaml, downloader.yaml, stateful.yaml (missing
//     files are skipped); in ClusterMode, as Heron's cluster loader, only
//     packing, healthmgr, scheduler, statemgr, uploader, downloader, stateful;
//  3. the release file, then the override file, then --config-property
//     KEY=VALUE arguments in order;
//  4. the command-line keys: heron.config.cluster, .role, .environ,
//     .submit_user, heron.topology.name and heron.topology.id.
//
// heron_internals.yaml and metrics_sinks.yaml are not merged (Heron hands
// them to its processes); Config.Internals and Config.MetricsSinks read them
// with the override file and properties laid over them, as those processes do.
// ReadMetricsSinks reads a metrics_sinks.yaml and override.yaml without a
// cluster folder, for a sink run on its own.
//
// # Tokens
//
// Every top-level string value is trimmed; a value "scheme://rest" keeps its
// scheme and only rest is treated as a path. The path is split on '/', and a
// component is replaced only when it is a whole token: ${HOME} and ~ (the
// user's home), ${JAVA_HOME} (the environment variable, left alone if
// unset), and ${NAME} for any constant NAME of Heron's Key enum (${CLUSTER},
// ${ROLE}, ${ENVIRON}, ${TOPOLOGY} = ${TOPOLOGY_NAME}, ${HERON_HOME},
// ${HERON_CONF}, ${HERON_DIST}, ...). Unknown tokens, tokens inside a
// component (heron-${CLUSTER}) and tokens whose key is unset stay as they are.
// Components are joined as java.io.File joins them: repeated and trailing
// slashes go. In LocalMode ${HERON_HOME} and ${HERON_CONF} are the Heron home
// and the cluster folder; in ClusterMode they are heron.directory.cluster.home
// and heron.directory.cluster.conf (./heron-core, ./heron-conf), the paths
// inside a container. Nested lists and maps are never expanded.
//
// # Deliberate differences from Heron
//
//   - Expansion repeats until no value changes (at most 32 passes), where
//     Heron stops as soon as the number of values still holding "${" stays the
//     same, which can leave a chain half expanded.
//   - ${USER} is an extra token for heron.config.submit_user. A number or
//     boolean used as a token value is formatted (Heron fails on the cast).
//     A value made only of slashes becomes "/" (Heron fails on it), and a
//     result is trimmed of spaces and trailing slashes until neither is left
//     (Heron trims only its input, so "a/ /" stayed "a/ ").
//   - cluster/role/env: an empty environ is always "default" and an empty role
//     always the submitting user (Heron fills them only when both are empty,
//     so "local/ads" gets environ ""). More than three parts is an error
//     (Heron drops the rest). Names with '/', '\', NUL, "." or ".." are
//     refused, since they end up in paths.
//   - --config-property values may contain '=': the key ends at the first
//     one (Heron's CLI rejects such values).
//   - A release or override file that is named explicitly must exist (Heron
//     skips missing files); the files of the cluster folder stay optional.
//     In ClusterMode the override file defaults to <folder>/override.yaml.
//   - The typed getters accept what Heron's TypeUtils accepts (numbers in
//     strings, since overrides are strings) plus the YAML 1.1 booleans
//     yes/no/on/off that Heron's SnakeYAML parsed and yaml.v3 leaves as
//     strings. A wrong type is an error naming the key and its file and line,
//     where Heron throws a cast exception.
//   - Heron's SSH tunnel keys for the state manager are ignored.
//
// # Drivers
//
// heron.class.* keys take Heron's Java class names or our short names;
// Config.ClassName maps both to the short name (localfs, zookeeper, local,
// nomad, roundrobin, ffd, ...). A metrics sink section's class may name one
// of our heron-sink-* commands or a Heron sink class (SinkRunner);
// StateManagerURI turns statemgr.yaml into a statemgr.Open URI.
package config
