package nomad

import (
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/heronkit/heronkit/lib/config"
	"github.com/heronkit/heronkit/lib/exitcode"
)

// Heron's keys (NomadKey.java), then ours for what real clusters need.
const (
	KeySchedulerURI     = "heron.nomad.scheduler.uri"
	KeyCoreFreqMapping  = "heron.nomad.core.freq.mapping"
	KeyDriver           = "heron.nomad.driver"
	KeyDockerImage      = "heron.executor.docker.image"
	KeyNetworkMode      = "heron.nomad.network.mode"
	KeyServiceRegister  = "heron.nomad.metrics.service.register"
	KeyServiceInterval  = "heron.nomad.metrics.service.check.interval.sec"
	KeyServiceTimeout   = "heron.nomad.metrics.service.check.timeout.sec"
	KeyServiceTags      = "heron.nomad.metrics.service.additional.tags"
	KeyUseCoreURI       = "heron.package.use_core_uri"
	KeyCoreURI          = "heron.package.core.uri"
	KeyCoreDirectory    = "heron.package.core.directory"
	KeyServiceProvider  = "heron.nomad.metrics.service.provider"
	KeyDatacenters      = "heron.nomad.datacenters"
	KeyRegion           = "heron.nomad.region"
	KeyNamespace        = "heron.nomad.namespace"
	KeyToken            = "heron.nomad.acl.token"
	KeyTokenFile        = "heron.nomad.acl.token.file"
	KeyTLSCA            = "heron.nomad.tls.ca.file"
	KeyTLSCert          = "heron.nomad.tls.cert.file"
	KeyTLSKey           = "heron.nomad.tls.key.file"
	KeyTLSServerName    = "heron.nomad.tls.server.name"
	KeyTLSSkipVerify    = "heron.nomad.tls.skip.verify"
	KeyJobPrefix        = "heron.nomad.job.prefix"
	KeyLaunchTimeout    = "heron.nomad.launch.timeout.sec"
	KeyKillTimeout      = "heron.nomad.kill.timeout.sec"
	KeyPriority         = "heron.nomad.job.priority"
	KeyNodePool         = "heron.nomad.node.pool"
	KeyArtifactInsecure = "heron.nomad.artifact.insecure"
)

// Drivers.
const (
	DriverDocker  = "docker"
	DriverRawExec = "raw_exec"
)

// Service providers: Consul (Heron's), Nomad's own catalogue, or whichever
// the cluster has (auto: Consul when a node reports a Consul agent).
const (
	ProviderConsul = "consul"
	ProviderNomad  = "nomad"
	ProviderAuto   = "auto"
)

// Settings are a cluster's Nomad settings, read once from the config.
type Settings struct {
	// URI is the Nomad HTTP API base (Heron's heron.nomad.scheduler.uri).
	URI         string
	Token       string
	Region      string
	Namespace   string
	Datacenters []string
	NodePool    string
	Priority    int
	TLS         TLSSettings

	Driver      string
	Image       string
	NetworkMode string
	// CoreFreqMHz turns a packing plan's cores into Nomad's MHz.
	CoreFreqMHz float64

	ServiceRegister bool
	ServiceProvider string
	CheckInterval   time.Duration
	CheckTimeout    time.Duration
	ServiceTags     []string

	UseCoreURI bool
	CoreURI    string
	CoreDir    string
	// ArtifactInsecure lets artifacts come over https without checking
	// certificates (Nomad's artifact insecure flag).
	ArtifactInsecure bool

	JobPrefix     string
	LaunchTimeout time.Duration
	KillTimeout   time.Duration
}

// TLSSettings are the client side of a TLS-enabled Nomad API.
type TLSSettings struct {
	CAFile, CertFile, KeyFile, ServerName string
	SkipVerify                            bool
}

// Defaults (Heron's code defaults where Heron has the key).
const (
	DefaultURI          = "http://127.0.0.1:4646"
	DefaultCoreFreqMHz  = 1000
	DefaultImage        = "apache/heron:latest"
	DefaultNetworkMode  = "default"
	DefaultJobPrefix    = "heron-"
	defaultLaunchWait   = 300 * time.Second
	defaultKillWait     = 120 * time.Second
	defaultCheckSeconds = 10
	defaultCheckTimeout = 2
)

// ReadSettings reads the Nomad keys of a cluster config. Environment
// variables NOMAD_TOKEN, NOMAD_REGION and NOMAD_NAMESPACE fill keys that are
// not set, as Nomad's own tools do.
func ReadSettings(cfg *config.Config) (*Settings, error) {
	g := reader{cfg: cfg}
	s := &Settings{
		URI:         strings.TrimRight(g.str(KeySchedulerURI, DefaultURI), "/"),
		Token:       g.str(KeyToken, ""),
		Region:      g.str(KeyRegion, os.Getenv("NOMAD_REGION")),
		Namespace:   g.str(KeyNamespace, os.Getenv("NOMAD_NAMESPACE")),
		Datacenters: g.list(KeyDatacenters),
		NodePool:    g.str(KeyNodePool, ""),
		Priority:    g.int(KeyPriority, 0),
		TLS: TLSSettings{
			CAFile: g.str(KeyTLSCA, ""), CertFile: g.str(KeyTLSCert, ""), KeyFile: g.str(KeyTLSKey, ""),
			ServerName: g.str(KeyTLSServerName, ""), SkipVerify: g.bool(KeyTLSSkipVerify, false),
		},
		Driver:           strings.ToLower(g.str(KeyDriver, DriverDocker)),
		Image:            g.str(KeyDockerImage, DefaultImage),
		NetworkMode:      g.str(KeyNetworkMode, DefaultNetworkMode),
		CoreFreqMHz:      g.float(KeyCoreFreqMapping, DefaultCoreFreqMHz),
		ServiceRegister:  g.bool(KeyServiceRegister, false),
		ServiceProvider:  strings.ToLower(g.str(KeyServiceProvider, ProviderAuto)),
		CheckInterval:    time.Duration(g.int(KeyServiceInterval, defaultCheckSeconds)) * time.Second,
		CheckTimeout:     time.Duration(g.int(KeyServiceTimeout, defaultCheckTimeout)) * time.Second,
		ServiceTags:      splitTags(g.str(KeyServiceTags, "")),
		UseCoreURI:       g.bool(KeyUseCoreURI, true),
		CoreURI:          g.str(KeyCoreURI, ""),
		CoreDir:          g.str(KeyCoreDirectory, ""),
		ArtifactInsecure: g.bool(KeyArtifactInsecure, false),
		JobPrefix:        g.str(KeyJobPrefix, DefaultJobPrefix),
		LaunchTimeout:    time.Duration(g.int(KeyLaunchTimeout, int(defaultLaunchWait/time.Second))) * time.Second,
		KillTimeout:      time.Duration(g.int(KeyKillTimeout, int(defaultKillWait/time.Second))) * time.Second,
	}
	if g.err != nil {
		return nil, exitcode.Wrap(exitcode.Config, g.err)
	}
	if s.Token == "" {
		if f := g.str(KeyTokenFile, ""); f != "" {
			b, err := os.ReadFile(f)
			if err != nil {
				return nil, exitcode.Errorf(exitcode.Config, "%s: %v", KeyTokenFile, err)
			}
			s.Token = strings.TrimSpace(string(b))
		} else {
			s.Token = os.Getenv("NOMAD_TOKEN")
		}
	}
	if len(s.Datacenters) == 0 {
		// Heron hard-coded dc1; "*" (every datacenter, Nomad 1.5 and later)
		// places containers wherever the cluster has room.
		s.Datacenters = []string{"*"}
	}
	return s, s.validate()
}

func (s *Settings) validate() error {
	u, err := url.Parse(s.URI)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return exitcode.Errorf(exitcode.Config, "%s is %q; want the Nomad HTTP API address, e.g. %s", KeySchedulerURI, s.URI, DefaultURI)
	}
	switch s.Driver {
	case DriverDocker, DriverRawExec:
	default:
		return exitcode.Errorf(exitcode.Config, "%s is %q; use %s or %s", KeyDriver, s.Driver, DriverRawExec, DriverDocker)
	}
	if s.Driver == DriverDocker && s.Image == "" {
		return exitcode.Errorf(exitcode.Config, "%s is empty; the docker driver needs an image holding /bin/sh", KeyDockerImage)
	}
	switch s.ServiceProvider {
	case ProviderConsul, ProviderNomad, ProviderAuto:
	default:
		return exitcode.Errorf(exitcode.Config, "%s is %q; use %s, %s or %s", KeyServiceProvider, s.ServiceProvider, ProviderConsul, ProviderNomad, ProviderAuto)
	}
	if s.CoreFreqMHz <= 0 {
		return exitcode.Errorf(exitcode.Config, "%s is %v; want the MHz of one core, e.g. 2000", KeyCoreFreqMapping, s.CoreFreqMHz)
	}
	if s.CheckInterval <= 0 || s.CheckTimeout <= 0 {
		return exitcode.Errorf(exitcode.Config, "%s and %s must be positive", KeyServiceInterval, KeyServiceTimeout)
	}
	if s.LaunchTimeout < 0 || s.KillTimeout <= 0 {
		return exitcode.Errorf(exitcode.Config, "%s must be 0 or more and %s positive", KeyLaunchTimeout, KeyKillTimeout)
	}
	if (s.TLS.CertFile == "") != (s.TLS.KeyFile == "") {
		return exitcode.Errorf(exitcode.Config, "%s and %s go together", KeyTLSCert, KeyTLSKey)
	}
	return nil
}

// splitTags reads Heron's comma-separated tag list.
func splitTags(s string) []string {
	var out []string
	for _, t := range strings.Split(s, ",") {
		if t = strings.TrimSpace(t); t != "" {
			out = append(out, t)
		}
	}
	return out
}

// reader reads config values, keeping the first error.
type reader struct {
	cfg *config.Config
	err error
}

func (r *reader) keep(err error) {
	if err != nil && r.err == nil {
		r.err = err
	}
}

func (r *reader) str(key, def string) string {
	v, err := r.cfg.String(key, def)
	r.keep(err)
	return strings.TrimSpace(v)
}

func (r *reader) bool(key string, def bool) bool {
	v, err := r.cfg.Bool(key, def)
	r.keep(err)
	return v
}

func (r *reader) int(key string, def int) int {
	v, err := r.cfg.Int(key, def)
	r.keep(err)
	return v
}

func (r *reader) float(key string, def float64) float64 {
	v, err := r.cfg.Float(key, def)
	r.keep(err)
	return v
}

// list reads a YAML list or a comma-separated string.
func (r *reader) list(key string) []string {
	v, ok := r.cfg.Get(key)
	if !ok || v == nil {
		return nil
	}
	if s, ok := v.(string); ok {
		return splitTags(s)
	}
	l, err := r.cfg.StringList(key)
	r.keep(err)
	var out []string
	for _, e := range l {
		if e = strings.TrimSpace(e); e != "" {
			out = append(out, e)
		}
	}
	return out
}

// JobID is the Nomad job of a topology.
func (s *Settings) JobID(topology string) string { return s.JobPrefix + topology }

func (s *Settings) String() string {
	return fmt.Sprintf("nomad %s (driver %s)", s.URI, s.Driver)
}
