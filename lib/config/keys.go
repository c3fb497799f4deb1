package config

// Keys this package and its callers refer to by name. The strings are Heron's.
const (
	KeyHeronHome        = "heron.directory.home"
	KeyHeronConf        = "heron.directory.conf"
	KeyClusterHome      = "heron.directory.cluster.home"
	KeyClusterConf      = "heron.directory.cluster.conf"
	KeyCluster          = "heron.config.cluster"
	KeyRole             = "heron.config.role"
	KeyEnviron          = "heron.config.environ"
	KeySubmitUser       = "heron.config.submit_user"
	KeyRoleRequired     = "heron.config.is.role.required"
	KeyEnvRequired      = "heron.config.is.env.required"
	KeyTopologyName     = "heron.topology.name"
	KeyTopologyID       = "heron.topology.id"
	KeyUploaderClass    = "heron.class.uploader"
	KeyLauncherClass    = "heron.class.launcher"
	KeySchedulerClass   = "heron.class.scheduler"
	KeyPackingClass     = "heron.class.packing.algorithm"
	KeyRepackingClass   = "heron.class.repacking.algorithm"
	KeyStateManager     = "heron.class.state.manager"
	KeyStatemgrConn     = "heron.statemgr.connection.string"
	KeyStatemgrRoot     = "heron.statemgr.root.path"
	KeyDownloaderReg    = "heron.downloader.registry"
	KeyLocalWorkingDir  = "heron.scheduler.local.working.directory"
	KeyLocalFSUploadDir = "heron.uploader.localfs.file.system.directory"
)

// tokenKeys maps the names usable as ${NAME} tokens to the keys whose values
// replace them. The names are the constants of Heron's Key enum (TokenSub looks
// tokens up there), so any Heron config that uses a token resolves the same
// way here. TOPOLOGY is Heron's alias for TOPOLOGY_NAME; USER is our addition
// (see the package comment).
var tokenKeys = map[string]string{
	"HERON_HOME":                        KeyHeronHome,
	"HERON_BIN":                         "heron.directory.bin",
	"HERON_CONF":                        KeyHeronConf,
	"HERON_LIB":                         "heron.directory.lib",
	"HERON_DIST":                        "heron.directory.dist",
	"HERON_ETC":                         "heron.directory.etc",
	"JAVA_HOME":                         "heron.directory.java.home", // only reached when $JAVA_HOME is unset
	"CLUSTER_YAML":                      "heron.config.file.cluster.yaml",
	"CLIENT_YAML":                       "heron.config.file.client.yaml",
	"HEALTHMGR_YAML":                    "heron.config.file.healthmgr.yaml",
	"METRICS_YAML":                      "heron.config.file.metrics.yaml",
	"PACKING_YAML":                      "heron.config.file.packing.yaml",
	"SCHEDULER_YAML":                    "heron.config.file.scheduler.yaml",
	"STATEMGR_YAML":                     "heron.config.file.statemgr.yaml",
	"SYSTEM_YAML":                       "heron.config.file.system.yaml",
	"UPLOADER_YAML":                     "heron.config.file.uploader.yaml",
	"DOWNLOADER_YAML":                   "heron.config.file.downloader.yaml",
	"STATEFUL_YAML":                     "heron.config.file.stateful.yaml",
	"OVERRIDE_YAML":                     "heron.config.file.override.yaml",
	"CLUSTER":                           KeyCluster,
	"ROLE":                              KeyRole,
	"ENVIRON":                           KeyEnviron,
	"SUBMIT_USER":                       KeySubmitUser,
	"USER":                              KeySubmitUser,
	"DRY_RUN":                           "heron.config.dry_run",
	"VERBOSE":                           "heron.config.verbose",
	"VERBOSE_GC":                        "heron.config.verbose_gc",
	"CONFIG_PROPERTY":                   "heron.config.property",
	"BUILD_VERSION":                     "heron.build.version",
	"BUILD_TIME":                        "heron.build.time",
	"BUILD_TIMESTAMP":                   "heron.build.timestamp",
	"BUILD_HOST":                        "heron.build.host",
	"BUILD_USER":                        "heron.build.user",
	"UPLOADER_CLASS":                    KeyUploaderClass,
	"LAUNCHER_CLASS":                    KeyLauncherClass,
	"SCHEDULER_CLASS":                   KeySchedulerClass,
	"PACKING_CLASS":                     KeyPackingClass,
	"REPACKING_CLASS":                   KeyRepackingClass,
	"STATE_MANAGER_CLASS":               KeyStateManager,
	"SCHEDULER_IS_SERVICE":              "heron.scheduler.is.service",
	"SCHEDULER_JAR":                     "heron.jars.scheduler",
	"INTERNALS_CONFIG_FILE":             "heron.internals.config.file",
	"CORE_PACKAGE_DIRECTORY":            "heron.package.core.directory",
	"CORE_PACKAGE_URI":                  "heron.package.core.uri",
	"USE_CORE_PACKAGE_URI":              "heron.package.use_core_uri",
	"TOPOLOGY_PACKAGE_URI":              "heron.package.topology.uri",
	"TOPOLOGY_ID":                       KeyTopologyID,
	"TOPOLOGY_NAME":                     KeyTopologyName,
	"TOPOLOGY":                          KeyTopologyName,
	"TOPOLOGY_DEFINITION_FILE":          "heron.topology.definition.file",
	"TOPOLOGY_DEFINITION":               "heron.topology.definition",
	"TOPOLOGY_BINARY_FILE":              "heron.topology.binary.file",
	"TOPOLOGY_PACKAGE_FILE":             "heron.topology.package.file",
	"TOPOLOGY_PACKAGE_TYPE":             "heron.topology.package.type",
	"TOPOLOGY_CONTAINER_ID":             "heron.topology.container.id",
	"SCHEDULER_PROXY_CONNECTION_STRING": "heron.proxy.connection.string",
	"SCHEDULER_PROXY_CONNECTION_TYPE":   "heron.proxy.connection.type",
	"STATEMGR_CONNECTION_STRING":        KeyStatemgrConn,
	"STATEMGR_ROOT_PATH":                KeyStatemgrRoot,
	"STMGR_RAM":                         "heron.resources.stmgr.ram",
	"CKPTMGR_RAM":                       "heron.resources.ckptmgr.ram",
	"METRICSMGR_RAM":                    "heron.resources.metricsmgr.ram",
	"INSTANCE_RAM":                      "heron.resources.instance.ram",
	"INSTANCE_CPU":                      "heron.resources.instance.cpu",
	"INSTANCE_DISK":                     "heron.resources.instance.disk",
	"STATEFUL_STORAGE_CLASSNAME":        "heron.statefulstorage.classname",
	"STATEFUL_STORAGE_CONF":             "heron.statefulstorage.config",
	"STATEFUL_STORAGE_CUSTOM_CLASSPATH": "heron.statefulstorage.custom.classpath",
	"METRICSCACHEMGR_MODE":              "heron.topology.metricscachemgr.mode",
	"HEALTHMGR_MODE":                    "heron.topology.healthmgr.mode",
	"INSTANCE_CLASSPATH":                "heron.classpath.instance",
	"HEALTHMGR_CLASSPATH":               "heron.classpath.healthmgr",
	"METRICSMGR_CLASSPATH":              "heron.classpath.metrics.manager",
	"METRICSCACHEMGR_CLASSPATH":         "heron.classpath.metricscache.manager",
	"PACKING_CLASSPATH":                 "heron.classpath.packing",
	"SCHEDULER_CLASSPATH":               "heron.classpath.scheduler",
	"STATEMGR_CLASSPATH":                "heron.classpath.statemgr",
	"UPLOADER_CLASSPATH":                "heron.classpath.uploader",
	"CKPTMGR_CLASSPATH":                 "heron.classpath.ckptmgr",
	"STATEFULSTORAGE_CLASSPATH":         "heron.classpath.statefulstorage",
	"NUM_CONTAINERS":                    "heron.runtime.num.containers",
	"DOWNLOADER_PROTOCOLS":              KeyDownloaderReg,
	"HERON_RELEASE_PACKAGE":             "heron.release.package",
	"HERON_RELEASE_PACKAGE_ROLE":        "heron.release.package.role",
	"HERON_RELEASE_PACKAGE_NAME":        "heron.release.package.name",
	"HERON_RELEASE_PACKAGE_VERSION":     "heron.release.package.version",
	"HERON_UPLOADER_VERSION":            "heron.uploader.version",
	"HERON_CLUSTER_HOME":                KeyClusterHome,
	"HERON_CLUSTER_CONF":                KeyClusterConf,
	"HERON_CLUSTER_JAVA_HOME":           "heron.directory.sandbox.java.home",
	"APISERVER_OVERRIDE_YAML":           "heron.apiserver.file.override.yaml",
	"EXECUTOR_BINARY":                   "heron.binaries.executor",
	"STMGR_BINARY":                      "heron.binaries.stmgr",
	"TMANAGER_BINARY":                   "heron.binaries.tmanager",
	"SHELL_BINARY":                      "heron.binaries.shell",
	"PYTHON_INSTANCE_BINARY":            "heron.binaries.python.instance",
	"CPP_INSTANCE_BINARY":               "heron.binaries.cpp.instance",
	"DOWNLOADER_BINARY":                 "heron.binaries.downloader",
	"DOWNLOADER_CONF":                   "heron.binaries.downloader-conf",
	"UPDATE_PROMPT":                     "heron.command.update.prompt",
}

const gib = int64(1) << 30

// defaults are the Key enum defaults Heron puts under every loaded config.
// heron.directory.home and heron.directory.conf are set by Load.
func defaults() map[string]any {
	return map[string]any{
		"heron.directory.bin":                         "${HERON_HOME}/bin",
		"heron.directory.lib":                         "${HERON_HOME}/lib",
		"heron.directory.dist":                        "${HERON_HOME}/dist",
		"heron.directory.etc":                         "${HERON_HOME}/etc",
		"heron.directory.java.home":                   "${JAVA_HOME}",
		"heron.config.file.cluster.yaml":              "${HERON_CONF}/cluster.yaml",
		"heron.config.file.client.yaml":               "${HERON_CONF}/client.yaml",
		"heron.config.file.healthmgr.yaml":            "${HERON_CONF}/healthmgr.yaml",
		"heron.config.file.metrics.yaml":              "${HERON_CONF}/metrics_sinks.yaml",
		"heron.config.file.packing.yaml":              "${HERON_CONF}/packing.yaml",
		"heron.config.file.scheduler.yaml":            "${HERON_CONF}/scheduler.yaml",
		"heron.config.file.statemgr.yaml":             "${HERON_CONF}/statemgr.yaml",
		"heron.config.file.system.yaml":               "${HERON_CONF}/heron_internals.yaml",
		"heron.config.file.uploader.yaml":             "${HERON_CONF}/uploader.yaml",
		"heron.config.file.downloader.yaml":           "${HERON_CONF}/downloader.yaml",
		"heron.config.file.stateful.yaml":             "${HERON_CONF}/stateful.yaml",
		"heron.config.file.override.yaml":             "${HERON_CONF}/override.yaml",
		"heron.config.dry_run":                        false,
		"heron.config.verbose":                        false,
		"heron.config.verbose_gc":                     false,
		"heron.class.scheduler.aurora.controller.cli": true,
		"heron.scheduler.is.service":                  true,
		"heron.jars.scheduler":                        "${HERON_LIB}/scheduler/heron-scheduler.jar",
		"heron.package.core.directory":                "${HERON_DIST}/heron-core",
		"heron.package.core.uri":                      "${HERON_DIST}/heron-core.tar.gz",
		"heron.package.use_core_uri":                  true,
		"heron.resources.stmgr.ram":                   gib,
		"heron.resources.ckptmgr.ram":                 gib,
		"heron.resources.metricsmgr.ram":              gib,
		"heron.resources.instance.ram":                gib,
		"heron.resources.instance.cpu":                1.0,
		"heron.resources.instance.disk":               gib,
		"heron.topology.metricscachemgr.mode":         "disabled",
		"heron.classpath.instance":                    "${HERON_LIB}/instance/*",
		"heron.classpath.healthmgr":                   "${HERON_LIB}/healthmgr/*",
		"heron.classpath.metrics.manager":             "${HERON_LIB}/metricsmgr/*",
		"heron.classpath.metricscache.manager":        "${HERON_LIB}/metricscachemgr/*",
		"heron.classpath.packing":                     "${HERON_LIB}/packing/*",
		"heron.classpath.scheduler":                   "${HERON_LIB}/scheduler/*",
		"heron.classpath.statemgr":                    "${HERON_LIB}/statemgr/*",
		"heron.classpath.uploader":                    "${HERON_LIB}/uploader/*",
		"heron.classpath.ckptmgr":                     "${HERON_LIB}/ckptmgr/*",
		"heron.classpath.statefulstorage":             "${HERON_LIB}/statefulstorage/*",
		KeyClusterHome:                                "./heron-core",
		KeyClusterConf:                                "./heron-conf",
		"heron.directory.sandbox.java.home":           "/usr/lib/jvm/default-java",
		"heron.binaries.executor":                     "${HERON_BIN}/heron-executor",
		"heron.binaries.stmgr":                        "${HERON_BIN}/heron-stmgr",
		"heron.binaries.tmanager":                     "${HERON_BIN}/heron-tmanager",
		"heron.binaries.shell":                        "${HERON_BIN}/heron-shell",
		"heron.binaries.python.instance":              "${HERON_BIN}/heron-python-instance",
		"heron.binaries.cpp.instance":                 "${HERON_BIN}/heron-cpp-instance",
		"heron.binaries.downloader":                   "${HERON_BIN}/heron-downloader",
		"heron.binaries.downloader-conf":              "${HERON_BIN}/heron-downloader-config",
		"heron.command.update.prompt":                 "disabled",
	}
}

// DefaultHeronHome is Heron's default install directory (Key HERON_HOME).
const DefaultHeronHome = "/usr/local/heron"
