package config

import (
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/heronkit/heronkit/lib/statemgr"
)

// StateManagerURI turns statemgr.yaml's keys into what statemgr.Open takes:
// file://<root> for Heron's local file-system state manager, and
// zk://<connection.string><root> for its ZooKeeper one, with Options from the
// heron.statemgr.zookeeper.* keys (defaults: statemgr.DefaultOptions).
// Heron's SSH tunnel keys (heron.statemgr.*tunnel*) are not used: our tools
// connect directly.
func StateManagerURI(cfg *Config) (string, statemgr.Options, error) {
	opts := statemgr.DefaultOptions()
	kind, err := cfg.ClassName(KeyStateManager)
	if err != nil {
		return "", opts, err
	}
	root, err := cfg.String(KeyStatemgrRoot, "")
	if err != nil {
		return "", opts, err
	}
	if root == "" {
		return "", opts, fmt.Errorf("config: %s is not set; set it in %s", KeyStatemgrRoot, cfg.fileFor(KeyStatemgrRoot))
	}
	switch kind {
	case "localfs":
		if opts.InitTree, err = cfg.Bool("heron.statemgr.localfs.is.initialize.file.tree", true); err != nil {
			return "", opts, err
		}
		abs, err := filepath.Abs(root)
		if err != nil {
			return "", opts, fmt.Errorf("config: %s %q: %w", KeyStatemgrRoot, root, err)
		}
		return "file://" + filepath.ToSlash(abs), opts, nil
	case "zookeeper":
		conn, err := cfg.String(KeyStatemgrConn, "")
		if err != nil {
			return "", opts, err
		}
		// Heron strips all whitespace from the host list.
		conn = strings.Join(strings.Fields(conn), "")
		if conn == "" || conn == "LOCALMODE" {
			return "", opts, fmt.Errorf("config: %s in %s must list ZooKeeper servers (host:port[,host:port]) for %s, got %q",
				KeyStatemgrConn, cfg.Origin(KeyStatemgrConn), cfg.vals[KeyStateManager], conn)
		}
		if strings.ContainsAny(conn, "/?#@") {
			return "", opts, fmt.Errorf("config: %s in %s: %q is not a host:port list; put the path in %s",
				KeyStatemgrConn, cfg.Origin(KeyStatemgrConn), conn, KeyStatemgrRoot)
		}
		if !strings.HasPrefix(root, "/") {
			root = "/" + root
		}
		if err := zkOptions(cfg, &opts); err != nil {
			return "", opts, err
		}
		return "zk://" + conn + root, opts, nil
	}
	return "", opts, fmt.Errorf("config: state manager %q has no URI form", kind)
}

func zkOptions(cfg *Config, o *statemgr.Options) error {
	const p = "heron.statemgr.zookeeper."
	var err error
	durations := []struct {
		key string
		dst *time.Duration
	}{
		{p + "session.timeout.ms", &o.SessionTimeout},
		{p + "connection.timeout.ms", &o.ConnectionTimeout},
		{p + "retry.interval.ms", &o.RetryInterval},
	}
	for _, d := range durations {
		if *d.dst, err = cfg.Duration(d.key, *d.dst); err != nil {
			return err
		}
		if *d.dst < 0 {
			return fmt.Errorf("config: %s in %s must not be negative", d.key, cfg.Origin(d.key))
		}
	}
	if o.RetryCount, err = cfg.Int(p+"retry.count", o.RetryCount); err != nil {
		return err
	}
	if o.RetryCount < 0 {
		return fmt.Errorf("config: %sretry.count in %s must not be negative", p, cfg.Origin(p+"retry.count"))
	}
	o.InitTree, err = cfg.Bool(p+"is.initialize.tree", o.InitTree)
	return err
}
