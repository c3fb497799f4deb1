package config

import (
	"fmt"
	"maps"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// DefaultEnviron is the environ used when none is given.
const DefaultEnviron = "default"

// LoadOptions says which cluster folder to load and what the command line adds.
type LoadOptions struct {
	// ConfigPath is the folder holding one folder per cluster (--config-path).
	// Default: <HeronHome>/conf.
	ConfigPath string
	// Dir is the cluster folder itself; it wins over ConfigPath/Cluster. In
	// ClusterMode it defaults to heron.directory.cluster.conf (./heron-conf).
	Dir string
	// HeronHome is heron.directory.home. Default: /usr/local/heron
	// (ClusterMode: ./heron-core).
	HeronHome string

	// Cluster, Role and Environ are the cluster/role/env triple. Role
	// defaults to SubmitUser and Environ to "default".
	Cluster, Role, Environ string
	// SubmitUser is heron.config.submit_user. Default: the current user.
	SubmitUser string
	// Topology and TopologyID set heron.topology.name and heron.topology.id
	// when not empty.
	Topology, TopologyID string

	// ReleaseFile and OverrideFile are optional; when named they must exist.
	// In ClusterMode OverrideFile defaults to <Dir>/override.yaml, which may
	// be absent.
	ReleaseFile, OverrideFile string
	// Properties are --config-property KEY=VALUE arguments, in order.
	Properties []string

	// Mode selects local (client) or cluster (container) expansion and, as
	// in Heron, which files are read.
	Mode Mode

	// Home replaces ${HOME} and ~. Default: the user's home directory.
	Home string
	// LookupEnv reads ${JAVA_HOME}. Default: os.LookupEnv.
	LookupEnv func(string) (string, bool)
}

// Heron's merge order for a client (ConfigLoader.loadConfig) and for a
// container (loadClusterConfig). heron_internals.yaml and metrics_sinks.yaml
// are not merged: Heron hands them to its processes; see Internals and
// MetricsSinks.
var (
	localFiles   = []string{"cluster", "client", "healthmgr", "packing", "scheduler", "statemgr", "uploader", "downloader", "stateful"}
	clusterFiles = []string{"packing", "healthmgr", "scheduler", "statemgr", "uploader", "downloader", "stateful"}
)

// Load reads a Heron cluster folder the way Heron does: Key defaults, the
// cluster's YAML files, the release file, the override file, the
// --config-property values, then the command-line keys (cluster, role,
// environ, submit user, topology), and expands tokens for opts.Mode.
func Load(opts LoadOptions) (*Config, error) {
	if err := fillDefaults(&opts); err != nil {
		return nil, err
	}
	if st, err := os.Stat(opts.Dir); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("cluster %q not found: no folder %s; create it or pass --config-path", opts.Cluster, opts.Dir)
	}

	merged := newLayer()
	merge := func(l *layer) {
		for k, v := range l.vals {
			merged.put(k, v, l.origins[k])
		}
	}
	def := newLayer()
	for k, v := range defaults() {
		def.put(k, v, Origin{File: "defaults"})
	}
	def.put(KeyHeronHome, opts.HeronHome, Origin{File: "defaults"})
	def.put(KeyHeronConf, opts.Dir, Origin{File: "defaults"})
	merge(def)

	files := localFiles
	if opts.Mode == ClusterMode {
		files = clusterFiles
	}
	var clientFile string
	for _, f := range files {
		path := filepath.Join(opts.Dir, f+".yaml")
		l, ok, err := readYAMLFile(path)
		if err != nil {
			return nil, err
		}
		if ok && f == "client" {
			clientFile = path
		}
		merge(l)
	}
	if opts.ReleaseFile != "" {
		l, err := requiredFile(opts.ReleaseFile, "release file")
		if err != nil {
			return nil, err
		}
		merge(l)
	}

	over := newLayer()
	if opts.OverrideFile != "" {
		l, ok, err := readYAMLFile(opts.OverrideFile)
		if err != nil {
			return nil, err
		}
		if !ok && opts.Mode != ClusterMode {
			return nil, fmt.Errorf("override file %s does not exist; create it or drop the flag", opts.OverrideFile)
		}
		maps.Copy(over.vals, l.vals)
		maps.Copy(over.origins, l.origins)
		maps.Copy(over.nodes, l.nodes)
	}
	for _, p := range opts.Properties {
		k, v, err := ParseProperty(p)
		if err != nil {
			return nil, err
		}
		over.put(k, v, Origin{File: "--config-property"})
		delete(over.nodes, k)
	}
	merge(over)

	if opts.Mode == LocalMode {
		if err := checkRequired(merged, clientFile, opts); err != nil {
			return nil, err
		}
	}
	role, environ := opts.Role, opts.Environ
	if role == "" {
		role = opts.SubmitUser
	}
	if environ == "" {
		environ = DefaultEnviron
	}
	cli := Origin{File: "command line"}
	merged.put(KeyCluster, opts.Cluster, cli)
	merged.put(KeyRole, role, cli)
	merged.put(KeyEnviron, environ, cli)
	merged.put(KeySubmitUser, opts.SubmitUser, cli)
	if opts.Topology != "" {
		merged.put(KeyTopologyName, opts.Topology, cli)
	}
	if opts.TopologyID != "" {
		merged.put(KeyTopologyID, opts.TopologyID, cli)
	}

	exp := expander{home: opts.Home, lookup: opts.LookupEnv}
	return &Config{
		mode:      opts.Mode,
		exp:       exp,
		raw:       merged.vals,
		vals:      exp.expandAll(withModeDirs(merged.vals, opts.Mode)),
		origins:   merged.origins,
		dir:       opts.Dir,
		overrides: over,
	}, nil
}

func fillDefaults(opts *LoadOptions) error {
	for name, v := range map[string]string{"cluster": opts.Cluster, "role": opts.Role, "environ": opts.Environ} {
		if err := checkName(name, v, name != "cluster"); err != nil {
			return err
		}
	}
	if opts.Topology != "" {
		if err := checkName("topology name", opts.Topology, false); err != nil {
			return err
		}
	}
	if opts.SubmitUser == "" {
		opts.SubmitUser = currentUser()
	}
	if opts.Mode == ClusterMode {
		d := defaults()
		if opts.HeronHome == "" {
			opts.HeronHome = d[KeyClusterHome].(string)
		}
		if opts.Dir == "" {
			opts.Dir = d[KeyClusterConf].(string)
		}
		if opts.OverrideFile == "" {
			opts.OverrideFile = filepath.Join(opts.Dir, "override.yaml")
		}
	}
	if opts.HeronHome == "" {
		opts.HeronHome = DefaultHeronHome
	}
	if opts.Dir == "" {
		cp := opts.ConfigPath
		if cp == "" {
			cp = filepath.Join(opts.HeronHome, "conf")
		}
		opts.Dir = filepath.Join(cp, opts.Cluster)
	}
	if opts.Home == "" {
		h, err := os.UserHomeDir()
		if err != nil {
			return fmt.Errorf("config: cannot expand ${HOME}: %w; set HOME", err)
		}
		opts.Home = h
	}
	if opts.LookupEnv == nil {
		opts.LookupEnv = os.LookupEnv
	}
	return nil
}

// checkName keeps names that end up in paths (${CLUSTER}, ${ROLE},
// ${TOPOLOGY}) from leaving their folder.
func checkName(what, v string, mayBeEmpty bool) error {
	switch {
	case v == "" && mayBeEmpty:
		return nil
	case v == "":
		return fmt.Errorf("%s is empty; give cluster/role/env, e.g. local", what)
	case v == "." || v == "..":
		return fmt.Errorf("%s %q is not allowed", what, v)
	case strings.ContainsAny(v, "/\\\x00"):
		return fmt.Errorf("%s %q must not contain '/', '\\' or NUL", what, v)
	case strings.TrimSpace(v) != v:
		return fmt.Errorf("%s %q has leading or trailing spaces", what, v)
	}
	return nil
}

func currentUser() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	return os.Getenv("USER")
}

func requiredFile(path, what string) (*layer, error) {
	l, ok, err := readYAMLFile(path)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("%s %s does not exist; create it or drop the flag", what, path)
	}
	return l, nil
}

// checkRequired applies client.yaml's heron.config.is.role.required and
// heron.config.is.env.required before the defaults fill role and environ in.
func checkRequired(merged *layer, clientFile string, opts LoadOptions) error {
	c := &Config{vals: merged.vals, origins: merged.origins}
	triple := fmt.Sprintf("%s/%s/%s", opts.Cluster, opts.Role, opts.Environ)
	where := clientFile
	if where == "" {
		where = filepath.Join(opts.Dir, "client.yaml")
	}
	for _, r := range []struct{ key, what, val string }{
		{KeyRoleRequired, "role", opts.Role},
		{KeyEnvRequired, "environ", opts.Environ},
	} {
		need, err := c.Bool(r.key, false)
		if err != nil {
			return err
		}
		if need && r.val == "" {
			return fmt.Errorf("%s required but not given (cluster/role/env = %s); pass cluster/role/env or unset %s in %s",
				r.what, triple, r.key, where)
		}
	}
	return nil
}

// ClusterRoleEnv is the cluster/[role]/[env] argument of Heron's commands.
type ClusterRoleEnv struct {
	Cluster, Role, Environ string
}

func (c ClusterRoleEnv) String() string {
	return c.Cluster + "/" + c.Role + "/" + c.Environ
}

// ParseClusterRoleEnv splits "cluster[/role[/env]]". Missing parts stay
// empty; Load fills in the defaults.
func ParseClusterRoleEnv(s string) (ClusterRoleEnv, error) {
	parts := strings.Split(s, "/")
	if len(parts) > 3 {
		return ClusterRoleEnv{}, fmt.Errorf("%q has more than three parts; want cluster[/role[/env]]", s)
	}
	parts = append(parts, "", "")
	c := ClusterRoleEnv{Cluster: parts[0], Role: parts[1], Environ: parts[2]}
	if err := checkName("cluster", c.Cluster, false); err != nil {
		return ClusterRoleEnv{}, fmt.Errorf("%q: %w", s, err)
	}
	for _, p := range []struct{ what, v string }{{"role", c.Role}, {"environ", c.Environ}} {
		if err := checkName(p.what, p.v, true); err != nil {
			return ClusterRoleEnv{}, fmt.Errorf("%q: %w", s, err)
		}
	}
	return c, nil
}

// ParseProperty parses one --config-property KEY=VALUE as Heron's CLI does:
// true/True/TRUE and false/False/FALSE become booleans, anything else stays a
// string. Unlike Heron, the value may contain '=' (the key ends at the first).
func ParseProperty(s string) (string, any, error) {
	k, v, ok := strings.Cut(s, "=")
	if !ok || k == "" {
		return "", nil, fmt.Errorf("--config-property %q: want KEY=VALUE", s)
	}
	if strings.ContainsFunc(k, func(r rune) bool { return r <= ' ' }) {
		return "", nil, fmt.Errorf("--config-property %q: the key must not contain spaces", s)
	}
	switch v {
	case "true", "True", "TRUE":
		return k, true, nil
	case "false", "False", "FALSE":
		return k, false, nil
	}
	return k, v, nil
}

// ParseProperties parses --config-property arguments; a later key wins.
func ParseProperties(args []string) (map[string]any, error) {
	m := make(map[string]any, len(args))
	for _, a := range args {
		k, v, err := ParseProperty(a)
		if err != nil {
			return nil, err
		}
		m[k] = v
	}
	return m, nil
}

// OverrideYAML renders properties as the override.yaml Heron packages with a
// topology: booleans as YAML booleans, everything else as strings, keys
// sorted; an empty map is "{}".
func OverrideYAML(props map[string]any) ([]byte, error) {
	if len(props) == 0 {
		return []byte("{}\n"), nil
	}
	var n yaml.Node
	n.Kind = yaml.MappingNode
	for _, k := range slices.Sorted(maps.Keys(props)) {
		v := &yaml.Node{Kind: yaml.ScalarNode}
		switch t := props[k].(type) {
		case bool:
			v.Tag = "!!bool"
			v.Value = fmt.Sprint(t)
		default:
			v.Tag = "!!str"
			v.Value = formatScalar(t)
			if strings.ContainsFunc(v.Value, func(r rune) bool { return r < ' ' }) {
				// yaml.v3's block style loses a lone newline; quoting keeps it.
				v.Style = yaml.DoubleQuotedStyle
			}
		}
		n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: k}, v)
	}
	out, err := yaml.Marshal(&n)
	if err != nil {
		return nil, fmt.Errorf("config: render override.yaml: %w", err)
	}
	return out, nil
}
