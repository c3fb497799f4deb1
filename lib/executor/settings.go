package executor

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/heronkit/heronkit/lib/config"
	"github.com/heronkit/heronkit/lib/tmstats"
)

// settings are what the executor reads from heron_internals.yaml and
// metrics_sinks.yaml (with override.yaml over both).
type settings struct {
	LogDir         string
	LogMaxBytes    int64
	LogFiles       int
	ExportInterval time.Duration
	// Stats store retention (tmanager metrics collector).
	PurgeInterval time.Duration
	MaxInterval   time.Duration
	MaxExceptions int
	// Instance restarts: first delay, largest delay, and the budget after
	// which the executor gives up (Heron: 150 runs).
	RestartMin, RestartMax time.Duration
	RestartBudget          int
	// CoreRestartInterval is the fixed delay before a Heron-core process
	// restarts (heroncore.go; Heron: 10 s).
	CoreRestartInterval time.Duration
	// Stream manager queue limits per destination.
	HighWater, LowWater, HardLimit int64

	Sinks     []config.Sink
	SinksFile string
	Types     tmstats.Types
	Whitelist []string
}

// Keys of this runtime that Heron does not have; they go in
// heron_internals.yaml (or override.yaml) like Heron's own.
const (
	KeyRestartMinMs  = "heron.executor.instance.restart.backoff.min.ms"
	KeyRestartMaxMs  = "heron.executor.instance.restart.backoff.max.ms"
	KeyRestartBudget = "heron.executor.instance.restart.max"
	KeyQueueHighKB   = "heron.executor.queue.highwatermark.kb"
	KeyQueueLowKB    = "heron.executor.queue.lowwatermark.kb"
	KeyQueueHardKB   = "heron.executor.queue.limit.kb"
	// KeyCoreRestartMs is the restart delay of Heron-core processes.
	KeyCoreRestartMs = "heron.executor.process.restart.interval.ms"
)

func defaultSettings() settings {
	return settings{
		LogDir: "log-files", LogMaxBytes: 100 << 20, LogFiles: 5,
		ExportInterval: time.Minute, PurgeInterval: time.Minute, MaxInterval: 180 * time.Minute, MaxExceptions: 256,
		RestartMin: time.Second, RestartMax: time.Minute, RestartBudget: 150, CoreRestartInterval: 10 * time.Second,
		Types: tmstats.DefaultTypes(),
	}
}

// loadSettings reads the container's Heron config folder (the directory of
// --heron-internals-config-file, ./heron-conf in Heron's layout).
func loadSettings(a Args) (settings, []string, error) {
	s := defaultSettings()
	var warnings []string
	dir := filepath.Dir(a.HeronInternalsConfigFile)
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		warnings = append(warnings, fmt.Sprintf("no config folder %s: using defaults and no metrics sinks", dir))
		for k := range s.Types {
			s.Whitelist = append(s.Whitelist, k)
		}
		return s, warnings, nil
	}
	cluster := a.Cluster
	if cluster == "" {
		cluster = "local"
	}
	cfg, err := config.Load(config.LoadOptions{Dir: dir, Cluster: cluster, Role: a.Role, Environ: a.Environment,
		OverrideFile: a.OverrideConfigFile, Mode: config.ClusterMode, Topology: a.TopologyName, TopologyID: a.TopologyID})
	if err != nil {
		return s, warnings, err
	}
	abs := func(p string) string {
		if q, err := filepath.Abs(p); err == nil {
			return q
		}
		return p
	}
	cfg = cfg.With(map[string]any{"heron.config.file.system.yaml": abs(a.HeronInternalsConfigFile),
		"heron.config.file.metrics.yaml": abs(a.MetricsSinksConfigFile)})
	in, err := cfg.Internals()
	if err != nil {
		return s, warnings, err
	}
	var errs []error
	str := func(k string, p *string) {
		v, err := in.String(k, *p)
		errs = append(errs, err)
		*p = v
	}
	num := func(k string, def int64) int64 {
		v, err := in.Int64(k, def)
		errs = append(errs, err)
		return v
	}
	str("heron.logging.directory", &s.LogDir)
	s.LogMaxBytes = num("heron.logging.maximum.size.mb", 100) << 20
	s.LogFiles = int(num("heron.logging.maximum.files", 5))
	s.ExportInterval = time.Duration(num("heron.metrics.export.interval.sec", 60)) * time.Second
	s.PurgeInterval = time.Duration(num("heron.tmanager.metrics.collector.purge.interval.sec", 60)) * time.Second
	s.MaxInterval = time.Duration(num("heron.tmanager.metrics.collector.maximum.interval.min", 180)) * time.Minute
	s.MaxExceptions = int(num("heron.tmanager.metrics.collector.maximum.exception", 256))
	s.RestartMin = time.Duration(num(KeyRestartMinMs, 1000)) * time.Millisecond
	s.RestartMax = time.Duration(num(KeyRestartMaxMs, 60000)) * time.Millisecond
	s.RestartBudget = int(num(KeyRestartBudget, 150))
	s.CoreRestartInterval = time.Duration(num(KeyCoreRestartMs, 10000)) * time.Millisecond
	s.HighWater = num(KeyQueueHighKB, 0) << 10
	s.LowWater = num(KeyQueueLowKB, 0) << 10
	s.HardLimit = num(KeyQueueHardKB, 0) << 10
	for _, e := range errs {
		if e != nil {
			return s, warnings, e
		}
	}
	if s.ExportInterval <= 0 {
		s.ExportInterval = time.Minute
	}

	ms, err := cfg.MetricsSinks()
	if err != nil {
		return s, warnings, err
	}
	s.SinksFile = ms.File
	if _, err := os.Stat(ms.File); err == nil {
		if s.Sinks, err = ms.Sinks(); err != nil {
			return s, warnings, err
		}
		if s.Types, err = tmstats.TypesFromSinks(ms); err != nil {
			return s, warnings, err
		}
		for k := range s.Types {
			s.Whitelist = append(s.Whitelist, k)
		}
	} else {
		warnings = append(warnings, fmt.Sprintf("no metrics sinks file %s: the topology manager keeps Heron's default metrics, no sink runs", ms.File))
		for k := range s.Types {
			s.Whitelist = append(s.Whitelist, k)
		}
	}
	return s, warnings, nil
}
