package config

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// classTables map, per heron.class.* key, Heron's Java class names and our
// short names to the short name our drivers register under. A short name maps
// to itself.
var classTables = map[string]map[string]string{
	KeyStateManager: {
		"org.apache.heron.statemgr.localfs.LocalFileSystemStateManager":   "localfs",
		"org.apache.heron.statemgr.zookeeper.curator.CuratorStateManager": "zookeeper",
	},
	KeySchedulerClass: schedulerTable("Scheduler"),
	KeyLauncherClass:  schedulerTable("Launcher"),
	KeyUploaderClass: {
		"org.apache.heron.uploader.localfs.LocalFileSystemUploader": "localfs",
		"org.apache.heron.uploader.hdfs.HdfsUploader":               "hdfs",
		"org.apache.heron.uploader.s3.S3Uploader":                   "s3",
		"org.apache.heron.uploader.scp.ScpUploader":                 "scp",
		"org.apache.heron.uploader.http.HttpUploader":               "http",
		"org.apache.heron.uploader.gcs.GcsUploader":                 "gcs",
		"org.apache.heron.uploader.dlog.DLUploader":                 "dlog",
		"org.apache.heron.uploader.NullUploader":                    "null",
	},
	KeyPackingClass:   packingTable(),
	KeyRepackingClass: packingTable(),
}

func schedulerTable(suffix string) map[string]string {
	t := map[string]string{}
	for short, java := range map[string]string{
		"local": "local.Local", "nomad": "nomad.Nomad", "kubernetes": "kubernetes.Kubernetes",
		"slurm": "slurm.Slurm", "aurora": "aurora.Aurora", "marathon": "marathon.Marathon",
		"yarn": "yarn.Yarn", "mesos": "mesos.Mesos",
	} {
		t["org.apache.heron.scheduler."+java+suffix] = short
	}
	return t
}

func packingTable() map[string]string {
	return map[string]string{
		"org.apache.heron.packing.roundrobin.RoundRobinPacking":          "roundrobin",
		"org.apache.heron.packing.binpacking.FirstFitDecreasingPacking":  "ffd",
		"org.apache.heron.packing.roundrobin.ResourceCompliantRRPacking": "rcrr",
	}
}

// ShortClassName maps a heron.class.* value, a Java class name or one of our
// short names, to the short name. Unknown keys and classes are errors that
// list what is accepted.
func ShortClassName(key, class string) (string, error) {
	t, ok := classTables[key]
	if !ok {
		return "", fmt.Errorf("config: %s is not a driver class key (use one of %s)",
			key, strings.Join(slices.Sorted(maps.Keys(classTables)), ", "))
	}
	class = strings.TrimSpace(class)
	if short, ok := t[class]; ok {
		return short, nil
	}
	for _, short := range t {
		if class == short {
			return short, nil
		}
	}
	return "", fmt.Errorf("%q is not a known class (use one of %s)", class, acceptedClasses(t))
}

func acceptedClasses(t map[string]string) string {
	shorts := map[string]bool{}
	for _, s := range t {
		shorts[s] = true
	}
	names := slices.Sorted(maps.Keys(shorts))
	names = append(names, slices.Sorted(maps.Keys(t))...)
	return strings.Join(names, ", ")
}

// ClassName returns the short driver name a heron.class.* key selects, e.g.
// "localfs" for Heron's LocalFileSystemStateManager. An unset key is an error
// naming the file that should set it.
func (c *Config) ClassName(key string) (string, error) {
	if _, ok := classTables[key]; !ok {
		_, err := ShortClassName(key, "")
		return "", err
	}
	v, ok := c.vals[key]
	if !ok || v == nil {
		return "", fmt.Errorf("config: %s is not set; set it in %s", key, c.fileFor(key))
	}
	s, err := c.String(key, "")
	if err != nil {
		return "", err
	}
	short, err := ShortClassName(key, s)
	if err != nil {
		return "", fmt.Errorf("config: %s in %s: %w", key, c.origins[key], err)
	}
	return short, nil
}

// fileFor names the cluster file where Heron keeps a key, for hints.
func (c *Config) fileFor(key string) string {
	name := "the cluster's YAML files"
	switch {
	case strings.HasPrefix(key, "heron.class.packing"), strings.HasPrefix(key, "heron.class.repacking"):
		name = "packing.yaml"
	case key == KeyStateManager, strings.HasPrefix(key, "heron.statemgr."):
		name = "statemgr.yaml"
	case key == KeyUploaderClass, strings.HasPrefix(key, "heron.uploader."):
		name = "uploader.yaml"
	case key == KeySchedulerClass, key == KeyLauncherClass, strings.HasPrefix(key, "heron.scheduler."):
		name = "scheduler.yaml"
	default:
		return name
	}
	if c.dir != "" {
		return c.dir + "/" + name
	}
	return name
}
