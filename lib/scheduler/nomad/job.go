package nomad

import (
	"fmt"
	"math"
	"net/url"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/heronkit/heronkit/lib/config"
	"github.com/heronkit/heronkit/lib/exitcode"
	"github.com/heronkit/heronkit/lib/packing"
	"github.com/heronkit/heronkit/lib/proto/apipb"
	"github.com/heronkit/heronkit/lib/scheduler"
)

// The job, as Nomad's HTTP API takes it (field names are Nomad's; durations
// are nanoseconds). Only what the scheduler sets is modelled; Nomad fills
// the rest with its defaults.
type (
	// Job is one topology: one task group per container.
	Job struct {
		ID          string
		Name        string
		Type        string
		Region      string `json:",omitempty"`
		Namespace   string `json:",omitempty"`
		Datacenters []string
		NodePool    string `json:",omitempty"`
		Priority    int    `json:",omitempty"`
		Meta        map[string]string
		TaskGroups  []*TaskGroup
	}
	// TaskGroup is one container.
	TaskGroup struct {
		Name          string
		Count         int
		Meta          map[string]string
		Networks      []Network
		Services      []Service `json:",omitempty"`
		RestartPolicy *RestartPolicy
		EphemeralDisk *EphemeralDisk
		Tasks         []*Task
	}
	Network struct {
		Mode         string `json:",omitempty"`
		DynamicPorts []Port
	}
	Port struct {
		Label string
	}
	Service struct {
		Name      string
		Provider  string
		PortLabel string
		Tags      []string
		Checks    []Check
	}
	Check struct {
		Name      string
		Type      string
		PortLabel string
		Interval  time.Duration
		Timeout   time.Duration
	}
	RestartPolicy struct {
		Attempts int
		Interval time.Duration
		Delay    time.Duration
		Mode     string
	}
	EphemeralDisk struct {
		SizeMB int
	}
	// Task runs heron-executor.
	Task struct {
		Name        string
		Driver      string
		Config      map[string]any
		Env         map[string]string
		Resources   Resources
		Artifacts   []Artifact `json:",omitempty"`
		KillTimeout time.Duration
		KillSignal  string
	}
	Resources struct {
		CPU      int
		MemoryMB int
	}
	// Artifact is fetched by Nomad (go-getter) into the task directory
	// before the task starts; archives are unpacked.
	Artifact struct {
		GetterSource   string
		GetterOptions  map[string]string `json:",omitempty"`
		GetterInsecure bool              `json:",omitempty"`
		RelativeDest   string
	}
)

// Names inside the job.
const (
	TaskName = "executor"
	// Heron's job meta keys, then ours.
	MetaTopologyName   = "topology.name"
	MetaTopologyID     = "topology.id"
	MetaContainerIndex = "container.index"
	MetaCluster        = "heron.cluster"
	MetaRole           = "heron.role"
	MetaEnviron        = "heron.environ"
	MetaPackageURI     = "heron.package.topology.uri"
	MetaBinaryFile     = "heron.topology.binary.file"
	MetaDefnFile       = "heron.topology.definition.file"
	// MetricsPortLabel is Heron's label of the Prometheus sink's port.
	MetricsPortLabel = "metrics_port"
	// artifactDir is where artifacts land and the executor runs: the task's
	// local/ folder, which the docker driver mounts too.
	artifactDir = "local/"
	killTimeout = 30 * time.Second
)

// PortLabel is the Nomad port label of one of Heron's executor ports:
// Heron's names with '-' as '_' (server, tmanager_ctl, shell_port, ...).
func PortLabel(name string) string { return strings.ReplaceAll(name, "-", "_") }

// Spec is everything one topology's job is built from.
type Spec struct {
	Settings *Settings
	Topology *apipb.Topology
	// Plan is the packing plan the containers run; Build sizes every
	// container by its scheduled resource (else its required one).
	Plan *packing.Plan
	// Cluster is the cluster-mode config (./heron-core, ./heron-conf paths)
	// with the topology keys set, for the executor command line.
	Cluster *config.Config
	// PackageURI is where the uploader put topology.tar.gz.
	PackageURI string
	// BinaryFile and DefnFile are the topology keys of the same names.
	BinaryFile, DefnFile string
	// ClusterName, Role and Environ go into the job's meta.
	ClusterName, Role, Environ string
	// MetricsPortFile is the Prometheus sink's port-file (relative to the
	// working directory), "" when no such sink runs.
	MetricsPortFile string
	// Provider is the resolved service provider (consul or nomad).
	Provider string
}

// Build makes the topology's job: container 0 (the topology manager) and
// one group per container of the plan.
func (s *Spec) Build() (*Job, error) {
	st := s.Settings
	name := s.Topology.GetName()
	j := &Job{
		ID: st.JobID(name), Name: st.JobID(name), Type: "service",
		Region: st.Region, Namespace: st.Namespace, Datacenters: st.Datacenters,
		NodePool: st.NodePool, Priority: st.Priority,
		Meta: map[string]string{
			MetaTopologyName: name, MetaTopologyID: s.Topology.GetId(),
			MetaCluster: s.ClusterName, MetaRole: s.Role, MetaEnviron: s.Environ,
			MetaPackageURI: s.PackageURI, MetaBinaryFile: s.BinaryFile, MetaDefnFile: s.DefnFile,
		},
	}
	for _, shard := range append([]int{0}, s.Plan.ContainerIDs()...) {
		g, err := s.Group(shard)
		if err != nil {
			return nil, err
		}
		j.TaskGroups = append(j.TaskGroups, g)
	}
	return j, nil
}

// Group makes the task group of one container (shard).
func (s *Spec) Group(shard int) (*TaskGroup, error) {
	st := s.Settings
	name := s.Topology.GetName()
	if s.Settings.ServiceRegister && s.MetricsPortFile == "" {
		return nil, exitcode.WithHint(exitcode.Errorf(exitcode.Config,
			"%s is true but metrics_sinks.yaml enables no Prometheus sink with a port-file, so containers have no metrics port to register", KeyServiceRegister),
			"enable prometheus-sink with port-file: port_file (see conf/nomad/metrics_sinks.yaml), or set "+KeyServiceRegister+" to false")
	}

	// Ports are marked, the rest escaped for Nomad's HCL2 interpolation of
	// driver config (a config value holding ${JAVA_HOME} would otherwise
	// make the task fail), then the marks become Nomad's port variables.
	ports := scheduler.Ports{}
	var dyn []Port
	for _, p := range scheduler.RequiredPorts {
		ports[p] = portMark + PortLabel(p) + portMark
		dyn = append(dyn, Port{Label: PortLabel(p)})
	}
	if s.MetricsPortFile != "" {
		dyn = append(dyn, Port{Label: MetricsPortLabel})
	}
	argv, err := scheduler.ExecutorCommand(s.Cluster, s.Topology, s.Plan, shard, ports)
	if err != nil {
		return nil, exitcode.Wrap(exitcode.Config, err)
	}
	steps, artifacts, err := s.fetchSteps()
	if err != nil {
		return nil, err
	}
	var script strings.Builder
	script.WriteString("set -e\ncd \"$NOMAD_TASK_DIR\"\n")
	for _, step := range steps {
		script.WriteString(step + "\n")
	}
	if s.MetricsPortFile != "" {
		script.WriteString("echo \"$NOMAD_PORT_" + MetricsPortLabel + "\" > " + shellQuote(s.MetricsPortFile) + "\n")
	}
	script.WriteString("exec")
	for _, a := range argv {
		script.WriteString(" " + shellQuote(a))
	}
	script.WriteString("\n")
	sh := portMarks.ReplaceAllString(nomadEscape(script.String()), "$${NOMAD_PORT_$1}")

	res := s.resource()
	task := &Task{
		Name: TaskName, Driver: st.Driver,
		Config: map[string]any{"command": "/bin/sh", "args": []string{"-c", sh}},
		// The executor tells the other containers this address (Heron's
		// docker setup does the same).
		Env:         map[string]string{"HOST": "${attr.unique.network.ip-address}"},
		Resources:   Resources{CPU: max(1, int(math.Round(res.CPU*st.CoreFreqMHz))), MemoryMB: max(1, mib(res.RAM))},
		Artifacts:   artifacts,
		KillTimeout: killTimeout,
		KillSignal:  "SIGTERM",
	}
	if s.MetricsPortFile != "" {
		task.Env["METRICS_PORT_FILE"] = s.MetricsPortFile
	}
	if st.Driver == DriverDocker {
		task.Config["image"] = nomadEscape(st.Image)
		task.Config["network_mode"] = nomadEscape(st.NetworkMode)
		if st.NetworkMode != "host" {
			labels := make([]string, len(dyn))
			for i, p := range dyn {
				labels[i] = p.Label
			}
			task.Config["ports"] = labels
		}
	}
	g := &TaskGroup{
		Name: fmt.Sprintf("%s-%d", name, shard), Count: 1,
		Meta:     map[string]string{MetaContainerIndex: strconv.Itoa(shard)},
		Networks: []Network{{DynamicPorts: dyn}},
		// Restart in place without end, as Heron's local scheduler does;
		// Nomad reschedules elsewhere only when the node is lost.
		RestartPolicy: &RestartPolicy{Attempts: 10, Interval: 5 * time.Minute, Delay: 5 * time.Second, Mode: "delay"},
		EphemeralDisk: &EphemeralDisk{SizeMB: max(10, mib(res.Disk))},
		Tasks:         []*Task{task},
	}
	if st.ServiceRegister {
		g.Services = []Service{{
			Name:      fmt.Sprintf("metrics-heron-%s-%d", name, shard),
			Provider:  s.Provider,
			PortLabel: MetricsPortLabel,
			Tags:      append([]string{fmt.Sprintf("%s-%d", name, shard)}, st.ServiceTags...),
			Checks: []Check{{Name: "metrics port", Type: "tcp", PortLabel: MetricsPortLabel,
				Interval: st.CheckInterval, Timeout: st.CheckTimeout}},
		}}
	}
	return g, nil
}

// resource is the size every container gets: the plan's largest container
// (Heron makes the plan homogeneous the same way and sizes each job by it).
func (s *Spec) resource() packing.Resource {
	r := s.Plan.MaxContainerResource()
	if r.CPU <= 0 {
		r.CPU = 1
	}
	return r
}

func mib(b int64) int { return int((b + (1<<20)/2) >> 20) }

// fetchSteps says how the core and the topology package reach the task:
// Nomad artifacts for what go-getter fetches (http, https, s3, gcs), shell
// steps for file:// URIs (raw_exec only: the path must exist on every node)
// and for a core directory already on the nodes.
func (s *Spec) fetchSteps() (steps []string, arts []Artifact, err error) {
	st := s.Settings
	if st.UseCoreURI {
		step, art, err := s.fetch("core package ("+KeyCoreURI+")", st.CoreURI)
		if err != nil {
			return nil, nil, err
		}
		steps, arts = appendStep(steps, arts, step, art)
	} else {
		if st.CoreDir == "" {
			return nil, nil, exitcode.Errorf(exitcode.Config, "%s is false and %s is not set; set one of them", KeyUseCoreURI, KeyCoreDirectory)
		}
		steps = append(steps, "ln -sfn "+shellQuote(st.CoreDir)+" heron-core")
	}
	step, art, err := s.fetch("topology package", s.PackageURI)
	if err != nil {
		return nil, nil, err
	}
	steps, arts = appendStep(steps, arts, step, art)
	return steps, arts, nil
}

func appendStep(steps []string, arts []Artifact, step string, art *Artifact) ([]string, []Artifact) {
	if step != "" {
		steps = append(steps, step)
	}
	if art != nil {
		arts = append(arts, *art)
	}
	return steps, arts
}

// archiveSuffixes are the names go-getter unpacks by themselves.
var archiveSuffixes = []string{".tar.gz", ".tgz", ".tar", ".zip", ".tar.bz2", ".tbz2", ".tar.xz", ".txz", ".tar.zst"}

func (s *Spec) fetch(what, uri string) (step string, art *Artifact, err error) {
	if uri == "" {
		return "", nil, exitcode.Errorf(exitcode.Config, "the %s URI is empty", what)
	}
	if !strings.Contains(uri, "://") {
		uri = "file://" + uri
	}
	u, err := url.Parse(uri)
	if err != nil {
		return "", nil, exitcode.Errorf(exitcode.Config, "the %s URI %q: %v", what, uri, err)
	}
	switch strings.ToLower(u.Scheme) {
	case "file":
		if s.Settings.Driver != DriverRawExec {
			return "", nil, exitcode.WithHint(exitcode.Errorf(exitcode.Config,
				"the %s is %s, which a docker container cannot read", what, uri),
				"serve it over http: heron-apiserver serves the core package at /api/v1/file/download/core and topology packages with the http uploader")
		}
		if u.Path == "" {
			return "", nil, exitcode.Errorf(exitcode.Config, "the %s URI %q names no file", what, uri)
		}
		// raw_exec runs on the node itself; Nomad's artifact sandbox has no
		// file getter, so unpack with tar as Heron's heron_nomad.sh did.
		return "tar -xzf " + shellQuote(u.Path), nil, nil
	case "http", "https", "s3", "gcs":
		a := &Artifact{GetterSource: uri, RelativeDest: artifactDir, GetterInsecure: s.Settings.ArtifactInsecure}
		p := strings.ToLower(path.Clean(u.Path))
		if !slices.ContainsFunc(archiveSuffixes, func(suf string) bool { return strings.HasSuffix(p, suf) }) &&
			u.Query().Get("archive") == "" {
			// e.g. the API server's /api/v1/file/download/core
			a.GetterOptions = map[string]string{"archive": "tar.gz"}
		}
		return "", a, nil
	}
	return "", nil, exitcode.WithHint(exitcode.Errorf(exitcode.Config, "the %s URI %s has a scheme Nomad cannot fetch", what, uri),
		"use an uploader that gives http(s) URIs (e.g. heron-apiserver with the http uploader), or file:// on storage every node mounts (raw_exec)")
}

// portMark brackets a port label in the command line until the rest is
// escaped; it cannot occur in config values.
const portMark = "\x00"

var portMarks = regexp.MustCompile("\x00([a-z_]+)\x00")

// nomadEscape keeps Nomad from interpolating a value: driver config strings
// are HCL2 templates, where ${ and %{ start expressions.
func nomadEscape(s string) string {
	return strings.NewReplacer("${", "$${", "%{", "%%{").Replace(s)
}

// shellQuote quotes one word for /bin/sh. Nomad still interpolates
// ${NOMAD_...} inside it before the shell runs.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./=:,+@%", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
