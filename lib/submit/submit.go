package submit

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"

	"github.com/heronkit/heronkit/lib/config"
	"github.com/heronkit/heronkit/lib/exitcode"
	"github.com/heronkit/heronkit/lib/pkgtar"
	"github.com/heronkit/heronkit/lib/proto/apipb"
	"github.com/heronkit/heronkit/lib/statemgr/nodes"
	"github.com/heronkit/heronkit/lib/topology"
	"github.com/heronkit/heronkit/lib/uploader"
)

// SubmitRequest is a submit from the command line (Heron's `heron submit`).
type SubmitRequest struct {
	Target
	// File is a native topology YAML, a Heron topology binary (.jar, .tar,
	// .tar.gz, .pex, .so, .dylib) or a URI of a .tar.gz holding one.
	File string
	// ClassName is the topology's main class (jar/tar/pex) or, for .so and
	// .dylib, the executable that writes the .defn. Unused for YAML.
	ClassName string
	// Args are the topology program's arguments.
	Args []string
	// Defn is a precomputed <name>.defn to use instead of running the
	// topology program.
	Defn string
	// JVMProperties are -D properties for the topology's JVM (P=V).
	JVMProperties []string
	// DeployDeactivated starts the topology PAUSED.
	DeployDeactivated bool
	DryRun            bool
	// ReleaseVersion is recorded when the config has no heron.build.version.
	ReleaseVersion string
}

// SubmitResult is the output of Submit.
type SubmitResult struct {
	Action     string           `json:"action"`
	Cluster    string           `json:"cluster"`
	Role       string           `json:"role"`
	Environ    string           `json:"environ"`
	DryRun     bool             `json:"dry_run,omitempty"`
	Topologies []TopologyResult `json:"topologies"`
}

var binaryExts = []string{".tar.gz", ".jar", ".tar", ".pex", ".so", ".dylib"}

func isYAML(f string) bool {
	l := strings.ToLower(f)
	return strings.HasSuffix(l, ".yaml") || strings.HasSuffix(l, ".yml")
}

// Submit turns the input into one or more topology definitions, builds
// each one's package and launches it (Launch). A native YAML is compiled;
// a Heron binary needs --defn or its program is run the way Heron's CLI
// runs it (java for .jar/.tar, the pex, or the .so's executable) to write
// <name>.defn files; every one found is launched.
func Submit(ctx context.Context, opts Options, req SubmitRequest) (*SubmitResult, error) {
	tmp, err := os.MkdirTemp("", "heron-submit-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	base, err := LoadConfig(req.Target, "", "")
	if err != nil {
		return nil, err
	}
	cluster, role, environ := triple(base)
	out := &SubmitResult{Action: "submit", Cluster: cluster, Role: role, Environ: environ, DryRun: req.DryRun}

	file := req.File
	if u, err := url.Parse(file); err == nil && len(u.Scheme) > 1 {
		if file, err = download(ctx, file, tmp); err != nil {
			return nil, err
		}
	}
	state := apipb.TopologyState_RUNNING
	if req.DeployDeactivated {
		state = apipb.TopologyState_PAUSED
	}
	type unit struct {
		top              *apipb.Topology
		dir, binary, bin string // topology folder (native) or binary file
	}
	var units []unit
	switch {
	case isYAML(file):
		if req.Defn != "" {
			return nil, exitcode.Errorf(exitcode.Usage, "--defn is for Heron topology binaries; a YAML topology is compiled by heron-submit")
		}
		def, err := topology.Load(file)
		if err != nil {
			return nil, err
		}
		top, err := def.Compile(topology.CompileOptions{State: state})
		if err != nil {
			return nil, err
		}
		units = append(units, unit{top: top, dir: def.Dir, bin: filepath.Base(file)})
	default:
		if err := checkBinary(file); err != nil {
			return nil, err
		}
		prog := TopologyProgram{File: file, ClassName: req.ClassName, Args: req.Args, JVMProperties: req.JVMProperties,
			State: state, Cluster: cluster, Role: role, Environ: environ, SubmitUser: req.SubmitUser, ConfigPath: req.ConfigPath}
		tops, err := BinaryTopologies(ctx, opts, prog, req.Defn, tmp)
		if err != nil {
			return nil, err
		}
		for _, top := range tops {
			units = append(units, unit{top: top, binary: file, bin: filepath.Base(file)})
		}
	}

	for i, u := range units {
		top := u.top
		cfg, err := LoadConfig(req.Target, top.GetName(), top.GetId())
		if err != nil {
			return nil, err
		}
		defn, err := FinishDefinition(cfg, top, role, environ)
		if err != nil {
			return nil, err
		}
		override, err := overrideYAML(req.Properties)
		if err != nil {
			return nil, err
		}
		contents := pkgtar.Contents{TopologyDir: u.dir, TopologyFile: u.binary, DefnName: top.GetName() + ".defn", Defn: defn,
			ClusterConfDir: cfg.Dir(), ReleaseFile: req.ReleaseFile, Override: override}
		pkgFile := filepath.Join(tmp, fmt.Sprintf("topology-%d", i), "topology.tar.gz")
		if err := os.MkdirAll(filepath.Dir(pkgFile), 0o755); err != nil {
			return nil, err
		}
		var entries []pkgtar.Entry
		if req.DryRun {
			entries, err = pkgtar.Plan(contents, pkgtar.Limits{})
		} else {
			entries, err = pkgtar.BuildFile(pkgFile, contents, pkgtar.Limits{})
		}
		if err != nil {
			return nil, fmt.Errorf("build the package of %s: %w", top.GetName(), err)
		}
		res, err := Launch(ctx, opts, LaunchRequest{Config: cfg, Topology: top, PackageFile: pkgFile, BinaryFile: u.bin,
			Package: entries, ReleaseVersion: req.ReleaseVersion, DryRun: req.DryRun})
		if err != nil {
			return out, err
		}
		if !req.DryRun {
			res.Package = nil
		}
		out.Topologies = append(out.Topologies, *res)
	}
	return out, nil
}

// SetTeam copies role and environ into topology.team.name and
// topology.team.environment when the topology does not set them, as
// Heron's submitter does.
func SetTeam(top *apipb.Topology, role, environ string) {
	if _, ok := topology.ConfigValue(top, "topology.team.name"); !ok {
		topology.SetConfig(top, "topology.team.name", role)
	}
	if _, ok := topology.ConfigValue(top, "topology.team.environment"); !ok {
		topology.SetConfig(top, "topology.team.environment", environ)
	}
}

// FinishDefinition does to a topology what Heron's client does before it
// packages the definition: SetTeam, then cfg's packing, which rewrites
// topology.stmgrs to the plan's container count (so the packaged .defn
// matches the plan the submit writes). It returns the finished <name>.defn
// bytes. Both heron-submit and heron-apiserver package what it returns.
func FinishDefinition(cfg *config.Config, top *apipb.Topology, role, environ string) ([]byte, error) {
	SetTeam(top, role, environ)
	if _, err := pack(cfg, top); err != nil {
		return nil, err
	}
	return nodes.Marshal(top)
}

func overrideYAML(props []string) ([]byte, error) {
	m, err := config.ParseProperties(props)
	if err != nil {
		return nil, exitcode.Wrap(exitcode.Usage, err)
	}
	return config.OverrideYAML(m)
}

func checkBinary(file string) error {
	st, err := os.Stat(file)
	if err != nil || !st.Mode().IsRegular() {
		return exitcode.WithHint(exitcode.Errorf(exitcode.NotFound, "topology file %s does not exist", file),
			"give a topology YAML, or a .jar/.tar/.tar.gz/.pex/.so/.dylib with --defn")
	}
	for _, ext := range binaryExts {
		if strings.HasSuffix(strings.ToLower(file), ext) {
			return nil
		}
	}
	return exitcode.Errorf(exitcode.Usage, "unknown file type %q; use a .yaml topology or a .tar, .tar.gz, .jar, .pex, .so or .dylib file", filepath.Ext(file))
}

// download fetches a URI topology file the way Heron's CLI does: the URI
// names a .tar.gz, unpacked into dir, whose first top-level topology file
// is the one to submit.
func download(ctx context.Context, uri, dir string) (string, error) {
	d := filepath.Join(dir, "download")
	if _, err := uploader.Fetch(ctx, uri, d, pkgtar.Limits{}); err != nil {
		return "", err
	}
	ents, err := os.ReadDir(d)
	if err != nil {
		return "", err
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	for _, n := range names {
		if isYAML(n) || checkBinary(filepath.Join(d, n)) == nil {
			return filepath.Join(d, n), nil
		}
	}
	return "", exitcode.Errorf(exitcode.DataErr, "%s holds no topology file (.yaml, .jar, .tar, .pex, .so, .dylib) at its top level", uri)
}

// HeronOptions encodes the HERON_OPTIONS environment variable Heron's CLI
// gives a topology program: k=v pairs joined with ',', spaces as "%%%%".
func HeronOptions(kv [][2]string) string {
	parts := make([]string, len(kv))
	for i, p := range kv {
		parts[i] = p[0] + "=" + p[1]
	}
	return strings.ReplaceAll(strings.Join(parts, ","), " ", "%%%%")
}

// javaBinary finds java as Heron's CLI does: $JAVA_BIN, $JAVA_HOME/bin/java, PATH.
func javaBinary() (string, error) {
	if j := os.Getenv("JAVA_BIN"); j != "" {
		return j, nil
	}
	if h := os.Getenv("JAVA_HOME"); h != "" {
		if j := filepath.Join(h, "bin", "java"); fileExists(j) {
			return j, nil
		}
	}
	if j, err := exec.LookPath("java"); err == nil {
		return j, nil
	}
	return "", exitcode.WithHint(exitcode.Errorf(exitcode.Config, "unable to find the java command to run the topology's main class"),
		"install a JRE (or set JAVA_HOME), or pass the topology definition with --defn")
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// TopologyProgram is a Heron topology binary whose program writes the
// topology definitions, with what Heron's CLI tells the program
// (BinaryTopologies).
type TopologyProgram struct {
	// File is the .jar, .tar, .tar.gz, .pex, .so or .dylib.
	File string
	// ClassName is the main class (jar/tar), "-" to run a pex, or the
	// executable that writes the .defn (.so/.dylib).
	ClassName string
	// Args are the program's arguments.
	Args []string
	// JVMProperties are -D properties (P=V) for a Java program.
	JVMProperties []string
	// State is the topology's initial state.
	State apipb.TopologyState
	// Cluster, Role and Environ are where the topology goes.
	Cluster, Role, Environ string
	// SubmitUser defaults to the current user.
	SubmitUser string
	// ConfigPath is the folder of cluster folders; its parent is Heron's
	// home, whose lib/third_party/ joins a Java program's classpath.
	ConfigPath string
}

// BinaryTopologies returns the topologies of a Heron topology binary, in
// prog.State: the precomputed definition defn when given, else every one
// that the binary's program writes when run as Heron's CLI runs it (see the
// package comment), in a folder under tmp. heron-submit calls it for local
// submits and for --service-url ones: Heron's server mode also makes the
// definition on the client.
func BinaryTopologies(ctx context.Context, opts Options, prog TopologyProgram, defn, tmp string) ([]*apipb.Topology, error) {
	defns := []string{defn}
	if defn == "" {
		var err error
		if defns, err = runTopologyProgram(ctx, opts, prog, tmp); err != nil {
			return nil, err
		}
	}
	var tops []*apipb.Topology
	for _, d := range defns {
		data, err := os.ReadFile(d)
		if err != nil {
			return nil, exitcode.Errorf(exitcode.NotFound, "topology definition %s: %v", d, err)
		}
		top, err := topology.ReadDefn(d, data)
		if err != nil {
			return nil, err
		}
		top.State = prog.State.Enum()
		tops = append(tops, top)
	}
	return tops, nil
}

// runTopologyProgram runs the topology's program so that it writes
// <name>.defn files into <tmp>/defn, and returns their paths.
func runTopologyProgram(ctx context.Context, opts Options, prog TopologyProgram, tmp string) ([]string, error) {
	if err := checkBinary(prog.File); err != nil {
		return nil, err
	}
	file := prog.File
	defnDir := filepath.Join(tmp, "defn")
	if err := os.MkdirAll(defnDir, 0o755); err != nil {
		return nil, err
	}
	user := prog.SubmitUser
	if user == "" {
		user = currentUser()
	}
	kv := [][2]string{
		{"cmdline.topologydefn.tmpdirectory", defnDir},
		{"cmdline.topology.initial.state", prog.State.String()},
		{"cmdline.topology.role", prog.Role},
		{"cmdline.topology.environment", prog.Environ},
		{"cmdline.topology.cluster", prog.Cluster},
		{"cmdline.topology.file_name", file},
		{"cmdline.topology.class_name", prog.ClassName},
		{"cmdline.topology.submit_user", user},
	}
	heronHome := ""
	if prog.ConfigPath != "" {
		heronHome = filepath.Dir(filepath.Clean(prog.ConfigPath))
	}
	thirdParty := filepath.Join(heronHome, "lib", "third_party", "*")
	lower := strings.ToLower(file)
	var argv []string
	switch {
	case strings.HasSuffix(lower, ".jar"), strings.HasSuffix(lower, ".tar"), strings.HasSuffix(lower, ".tar.gz"):
		if prog.ClassName == "" {
			return nil, exitcode.Errorf(exitcode.Usage, "a %s topology needs its main class name after the file (or --defn)", filepath.Ext(file))
		}
		java, err := javaBinary()
		if err != nil {
			return nil, err
		}
		cp := file + ":" + thirdParty
		if !strings.HasSuffix(lower, ".jar") {
			dir, err := os.MkdirTemp(tmp, "tmp")
			if err != nil {
				return nil, err
			}
			if _, err := pkgtar.ExtractFile(file, dir, pkgtar.Limits{}); err != nil {
				return nil, fmt.Errorf("unpack %s: %w", file, err)
			}
			name := strings.TrimSuffix(strings.TrimSuffix(filepath.Base(file), ".gz"), ".tar")
			cp = strings.Join([]string{filepath.Join(dir, name+".jar"), filepath.Join(dir, "*"), filepath.Join(dir, "libs", "*"), thirdParty}, ":")
		}
		argv = []string{java, "-client", "-Xmx1g"}
		for _, p := range prog.JVMProperties {
			argv = append(argv, "-D"+p)
		}
		argv = append(append(argv, "-cp", cp, prog.ClassName), prog.Args...)
	case strings.HasSuffix(lower, ".pex"):
		if prog.ClassName != "-" {
			return nil, exitcode.WithHint(exitcode.Errorf(exitcode.Usage, "loading class %s from a pex needs Heron's Python runtime", prog.ClassName),
				"run the pex as a program with class name -, or pass --defn")
		}
		argv = append([]string{file}, prog.Args...)
	default: // .so, .dylib: the class name is the executable that writes the defn
		if prog.ClassName == "" {
			return nil, exitcode.Errorf(exitcode.Usage, "a %s topology needs the executable that writes its definition (or --defn)", filepath.Ext(file))
		}
		argv = append([]string{prog.ClassName}, prog.Args...)
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), "HERON_OPTIONS="+HeronOptions(kv))
	var stderr io.Writer = io.Discard
	if opts.ChildStderr != nil {
		stderr = opts.ChildStderr
	}
	cmd.Stdout, cmd.Stderr = stderr, stderr
	opts.Log.Debug().Strs("argv", argv).Msg("running the topology program")
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return nil, exitcode.Errorf(exitcode.Failure, "failed to create the topology definition running %s of %s: %v", prog.ClassName, file, err)
		}
		return nil, exitcode.Errorf(exitcode.Config, "failed to run %s: %v", argv[0], err)
	}
	defns, _ := filepath.Glob(filepath.Join(defnDir, "*.defn"))
	if len(defns) == 0 {
		return nil, exitcode.Errorf(exitcode.DataErr, "no topologies found: %s %s wrote no .defn file", file, prog.ClassName)
	}
	return defns, nil
}
