package sink

import (
	"context"
	"time"

	"github.com/rs/zerolog"

	"github.com/heronkit/heronkit/lib/cli"
	"github.com/heronkit/heronkit/lib/exitcode"
)

// Keys every sink reads besides its own. flush-frequency-ms is Heron's; the
// others are this toolkit's (Heron has no equivalent).
const (
	KeyClass            = "class"
	KeyFlushFrequencyMs = "flush-frequency-ms"
	KeyRestartAttempts  = "sink-restart-attempts"
	KeyStatsIntervalMs  = "stats-interval-ms"
	KeyExitTimeoutMs    = "exit-flush-timeout-ms"
	KeyBufferMaxRecords = "buffer-max-records"
	KeyReconnectMinMs   = "reconnect-min-ms"
	KeyReconnectMaxMs   = "reconnect-max-ms"
)

// Defaults of the common keys.
const (
	DefaultFlushFrequencyMs = 60000
	DefaultStatsIntervalMs  = 60000
	DefaultExitTimeoutMs    = 5000
	DefaultBufferMaxRecords = 10000
	DefaultReconnectMinMs   = 100
	DefaultReconnectMaxMs   = 30000
)

// Flags are the flags every heron-sink-* binary has. Embed it in the
// binary's kong struct.
type Flags struct {
	ConfigFile         string            `name:"config-file" placeholder:"FILE" help:"metrics_sinks.yaml to read the sink's section from (Heron's keys); see --sink-id."`
	OverrideConfigFile string            `name:"override-config-file" placeholder:"FILE" help:"override.yaml: its top-level keys replace whole keys of --config-file, as in Heron's metrics manager (a missing file is ignored)."`
	SinkID             string            `name:"sink-id" placeholder:"ID" help:"The sink's id: its section in --config-file and its name in logs (default: the usual id, e.g. file-sink)."`
	Set                map[string]string `name:"set" placeholder:"KEY=VALUE" help:"Set one config key (Heron's yaml key, e.g. file-maximum=3) over the section; repeatable."`

	Topology     string `name:"topology" placeholder:"NAME" help:"Topology name, for records that do not carry one."`
	Cluster      string `name:"cluster" placeholder:"NAME" help:"Cluster, for records that do not carry one."`
	Role         string `name:"role" placeholder:"NAME" help:"Role, for records that do not carry one."`
	Environ      string `name:"environ" placeholder:"NAME" help:"Environment, for records that do not carry one."`
	MetricsMgrID string `name:"metrics-mgr-id" placeholder:"ID" help:"Metrics manager id (e.g. metricsmgr-1), for records that do not carry one."`

	FlushFrequencyMs   *int64 `name:"flush-frequency-ms" placeholder:"MS" help:"Flush interval in ms (flush-frequency-ms; default 60000)."`
	StatsIntervalMs    *int64 `name:"stats-interval-ms" placeholder:"MS" help:"How often the sink logs its counters on stderr, in ms (stats-interval-ms; default 60000)."`
	ExitFlushTimeoutMs *int64 `name:"exit-flush-timeout-ms" placeholder:"MS" help:"At exit, how long to wait for buffered records to be delivered, in ms (exit-flush-timeout-ms; default 5000)."`
}

// NetFlags are the flags of sinks that push to a network destination.
type NetFlags struct {
	BufferMaxRecords *int64 `name:"buffer-max-records" placeholder:"N" help:"Records buffered while the destination is slow or down; the oldest are dropped beyond this (buffer-max-records; default 10000)."`
	ReconnectMinMs   *int64 `name:"reconnect-min-ms" placeholder:"MS" help:"First reconnect delay in ms; it doubles per failure (reconnect-min-ms; default 100)."`
	ReconnectMaxMs   *int64 `name:"reconnect-max-ms" placeholder:"MS" help:"Largest reconnect delay in ms (reconnect-max-ms; default 30000)."`
}

// SetIf sets key in cfg when the flag v was given.
func SetIf[T any](cfg *Config, key string, v *T) {
	if v != nil {
		cfg.Set(key, *v)
	}
}

// Setter lays some of a binary's own flags over the config.
type Setter interface{ Apply(cfg *Config) }

// SetterFunc is a func as a Setter.
type SetterFunc func(cfg *Config)

// Apply calls f.
func (f SetterFunc) Apply(cfg *Config) { f(cfg) }

// Opt sets key when the flag v was given.
func Opt[T any](key string, v *T) Setter {
	return SetterFunc(func(cfg *Config) { SetIf(cfg, key, v) })
}

// OptSwitch sets key to true when the switch was given.
func OptSwitch(key string, on bool) Setter {
	return SetterFunc(func(cfg *Config) {
		if on {
			cfg.Set(key, true)
		}
	})
}

// RunSink is a sink binary's Run: the config from the common flags with the
// binary's own flags over it, then the sink built by build on stdin until EOF
// or a signal.
func (f *Flags) RunSink(env *cli.Env, defaultID string, build Builder, own ...Setter) error {
	cfg, err := f.Config(defaultID, env.Log)
	if err != nil {
		return err
	}
	for _, s := range own {
		s.Apply(cfg)
	}
	return Main(env, cfg, f.Context(), build)
}

// Config builds the sink's config: the --config-file section (or nothing),
// then --set, then the named common flags. RunSink then lays the binary's
// own named flags over it.
func (f *Flags) Config(defaultID string, log zerolog.Logger) (*Config, error) {
	id := f.SinkID
	if id == "" {
		id = defaultID
	}
	cfg := NewConfig(id)
	if f.ConfigFile != "" {
		c, warning, err := LoadSection(f.ConfigFile, f.OverrideConfigFile, id)
		if err != nil {
			return nil, err
		}
		if warning != "" {
			log.Warn().Msg(warning)
		}
		cfg = c
	}
	for k, v := range f.Set {
		cfg.Set(k, v)
	}
	SetIf(cfg, KeyFlushFrequencyMs, f.FlushFrequencyMs)
	SetIf(cfg, KeyStatsIntervalMs, f.StatsIntervalMs)
	SetIf(cfg, KeyExitTimeoutMs, f.ExitFlushTimeoutMs)
	return cfg, nil
}

// Apply sets the network keys that were given as flags.
func (n *NetFlags) Apply(cfg *Config) {
	SetIf(cfg, KeyBufferMaxRecords, n.BufferMaxRecords)
	SetIf(cfg, KeyReconnectMinMs, n.ReconnectMinMs)
	SetIf(cfg, KeyReconnectMaxMs, n.ReconnectMaxMs)
}

// Context returns the sink context given by flags.
func (f *Flags) Context() Context {
	return Context{Topology: f.Topology, Cluster: f.Cluster, Role: f.Role, Environ: f.Environ, MetricsMgrID: f.MetricsMgrID}
}

// OutboxOptions reads the network keys of cfg.
func OutboxOptionsFrom(cfg *Config) (OutboxOptions, error) {
	var o OutboxOptions
	n, err := cfg.Int(KeyBufferMaxRecords, DefaultBufferMaxRecords)
	if err != nil {
		return o, err
	}
	if n <= 0 {
		return o, cfg.errorf(KeyBufferMaxRecords, "want a positive number, got %d", n)
	}
	lo, err := cfg.PositiveMs(KeyReconnectMinMs, DefaultReconnectMinMs)
	if err != nil {
		return o, err
	}
	hi, err := cfg.PositiveMs(KeyReconnectMaxMs, DefaultReconnectMaxMs)
	if err != nil {
		return o, err
	}
	o.MaxItems = int(n)
	o.ReconnectMin = time.Duration(lo) * time.Millisecond
	o.ReconnectMax = time.Duration(max(hi, lo)) * time.Millisecond
	return o, nil
}

// Lingerer is a Sink that stays up after EOF (Prometheus keeps serving).
type Lingerer interface{ Linger() bool }

// Builder makes a sink from its config.
type Builder func(cfg *Config, sctx Context, c *Counters, log zerolog.Logger) (Sink, error)

// Main is a sink binary's Run: it builds the sink from cfg and runs it on
// stdin until EOF or a signal.
func Main(env *cli.Env, cfg *Config, sctx Context, build Builder) error {
	log := env.Log.With().Str("sink_id", cfg.ID).Logger()
	r, err := NewRunner(cfg, sctx, build, log)
	if err != nil {
		return err
	}
	log.Info().Strs("config_keys", cfg.Keys()).Str("config_from", cfg.Origin).Msg("sink started")
	return r.Run(env.Ctx, env.Stdin)
}

// NewRunner builds the sink and a Runner for it from cfg.
func NewRunner(cfg *Config, sctx Context, build Builder, log zerolog.Logger) (*Runner, error) {
	flushMs, err := cfg.PositiveMs(KeyFlushFrequencyMs, DefaultFlushFrequencyMs)
	if err != nil {
		return nil, err
	}
	statsMs, err := cfg.Int(KeyStatsIntervalMs, DefaultStatsIntervalMs)
	if err != nil {
		return nil, err
	}
	exitMs, err := cfg.Int(KeyExitTimeoutMs, DefaultExitTimeoutMs)
	if err != nil {
		return nil, err
	}
	counters := NewCounters(CountRecords, CountMetrics, CountExceptions, CountFlushes, CountMalformed, CountProcessErrors)
	s, err := build(cfg, sctx, counters, log)
	if err != nil {
		// A sink that cannot start has a bad config unless it says otherwise.
		if exitcode.Code(err) == exitcode.Failure {
			err = exitcode.Wrap(exitcode.Config, err)
		}
		return nil, err
	}
	r := &Runner{
		Sink: s, Context: sctx, Counters: counters, Log: log,
		FlushEvery:  time.Duration(flushMs) * time.Millisecond,
		StatsEvery:  time.Duration(max(statsMs, 0)) * time.Millisecond,
		ExitTimeout: time.Duration(max(exitMs, 0)) * time.Millisecond,
	}
	if l, ok := s.(Lingerer); ok {
		r.Linger = l.Linger()
	}
	return r, nil
}

// WaitCtx sleeps for d or until ctx ends; it reports whether the sleep completed.
func WaitCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
