package hdfs

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/user"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/colinmarc/hdfs/v2"
	"github.com/colinmarc/hdfs/v2/hadoopconf"
	krb "github.com/jcmturner/gokrb5/v8/client"
	krbconfig "github.com/jcmturner/gokrb5/v8/config"
	"github.com/jcmturner/gokrb5/v8/credentials"
	"github.com/jcmturner/gokrb5/v8/keytab"

	"github.com/heronkit/heronkit/lib/uploader/internal/transfer"
)

// Heron's HdfsUploader keys, and two of ours for Kerberos logins from a
// keytab (Heron's uploader ran the hadoop CLI, which found a ticket cache).
const (
	KeyConfigDir   = "heron.uploader.hdfs.config.directory"
	KeyDirURI      = "heron.uploader.hdfs.topologies.directory.uri"
	KeyKeytab      = "heron.uploader.hdfs.kerberos.keytab"
	KeyPrincipal   = "heron.uploader.hdfs.kerberos.principal"
	defaultNNPort  = "8020"
	dialTimeout    = 30 * time.Second
	ioTimeout      = 2 * time.Minute
	userEnv        = "HADOOP_USER_NAME"
	krb5ConfigEnv  = "KRB5_CONFIG"
	krb5CCacheEnv  = "KRB5CCNAME"
	defaultKrb5Cfg = "/etc/krb5.conf"
)

// Settings are what a connection needs, from Heron's keys.
type Settings struct {
	// ConfigDir is the Hadoop configuration directory (core-site.xml,
	// hdfs-site.xml); empty means HADOOP_CONF_DIR or HADOOP_HOME/conf.
	ConfigDir string
	// Keytab and Principal log in to Kerberos without a ticket cache.
	Keytab, Principal string
}

// Location is a parsed hdfs:// URI (or a bare absolute path).
type Location struct {
	// Authority is the URI's host[:port], a nameservice, or empty for the
	// configuration's default file system.
	Authority string
	// Path is absolute and clean.
	Path string
}

// ParseLocation reads hdfs://[authority]/path, hdfs:/path or /path.
func ParseLocation(s string) (Location, error) {
	if strings.HasPrefix(s, "/") {
		return Location{Path: path.Clean(s)}, nil
	}
	u, err := url.Parse(s)
	if err != nil {
		return Location{}, fmt.Errorf("bad HDFS URI %q: %w", s, err)
	}
	if !strings.EqualFold(u.Scheme, "hdfs") {
		return Location{}, fmt.Errorf("bad HDFS URI %q: want hdfs://namenode/path", s)
	}
	p := u.Path
	if p == "" {
		p = "/"
	}
	if !strings.HasPrefix(p, "/") {
		return Location{}, fmt.Errorf("bad HDFS URI %q: the path must be absolute", s)
	}
	return Location{Authority: u.Host, Path: path.Clean(p)}, nil
}

// URI is the location as hdfs://authority/path (hdfs:///path without one).
func (l Location) URI() string {
	return (&url.URL{Scheme: "hdfs", Host: l.Authority, Path: l.Path}).String()
}

// Join returns the location of name inside l.
func (l Location) Join(name string) Location {
	return Location{Authority: l.Authority, Path: path.Join(l.Path, name)}
}

// client connects to the namenode(s) of loc: the URI's host (a namenode or
// an HA nameservice of the configuration) or, without one, the
// configuration's default file system.
func client(ctx context.Context, s Settings, loc Location) (*hdfs.Client, error) {
	conf, err := loadConf(s.ConfigDir)
	if err != nil {
		return nil, transfer.Errorf(transfer.Config, "read Hadoop configuration", s.ConfigDir, err,
			"set "+KeyConfigDir+" to the directory holding core-site.xml and hdfs-site.xml")
	}
	opts := hdfs.ClientOptionsFromConf(conf)
	if loc.Authority != "" {
		opts.Addresses = namenodes(conf, loc.Authority)
	}
	if len(opts.Addresses) == 0 {
		return nil, transfer.Errorf(transfer.Config, "connect to", loc.URI(), errors.New("no namenode in the URI nor in fs.defaultFS"),
			"put the namenode in "+KeyDirURI+" (hdfs://host:port/dir) or set fs.defaultFS in core-site.xml")
	}
	d := &net.Dialer{Timeout: dialTimeout}
	opts.NamenodeDialFunc = d.DialContext
	opts.DatanodeDialFunc = d.DialContext
	if opts.KerberosClient != nil {
		if opts.KerberosClient, err = kerberosClient(s); err != nil {
			return nil, transfer.Errorf(transfer.Auth, "log in to Kerberos for", loc.URI(), err,
				"run kinit, or set "+KeyKeytab+" and "+KeyPrincipal)
		}
	} else {
		opts.User = os.Getenv(userEnv)
		if opts.User == "" {
			u, err := user.Current()
			if err != nil {
				return nil, transfer.Errorf(transfer.Config, "connect to", loc.URI(), err, "set "+userEnv)
			}
			opts.User = u.Username
		}
	}
	c, err := hdfs.NewClient(opts)
	if err != nil {
		return nil, hdfsError(ctx, "connect to", loc.URI(), err, "")
	}
	return c, nil
}

func loadConf(dir string) (hadoopconf.HadoopConf, error) {
	if dir == "" {
		return hadoopconf.LoadFromEnvironment()
	}
	if _, err := os.Stat(dir); err != nil {
		return nil, err
	}
	return hadoopconf.Load(dir)
}

// namenodes maps a URI authority to namenode addresses: a nameservice's
// rpc addresses, or the host with the default port added.
func namenodes(conf hadoopconf.HadoopConf, authority string) []string {
	if nns := conf["dfs.ha.namenodes."+authority]; nns != "" {
		var addrs []string
		for _, nn := range strings.Split(nns, ",") {
			if a := conf["dfs.namenode.rpc-address."+authority+"."+strings.TrimSpace(nn)]; a != "" {
				addrs = append(addrs, a)
			}
		}
		slices.Sort(addrs)
		return addrs
	}
	if _, _, err := net.SplitHostPort(authority); err != nil {
		return []string{net.JoinHostPort(authority, defaultNNPort)}
	}
	return []string{authority}
}

// kerberosClient logs in from a keytab when one is configured, else from the
// ticket cache kinit left (KRB5CCNAME, or /tmp/krb5cc_<uid>).
func kerberosClient(s Settings) (*krb.Client, error) {
	cfgPath := os.Getenv(krb5ConfigEnv)
	if cfgPath == "" {
		cfgPath = defaultKrb5Cfg
	}
	cfg, err := krbconfig.Load(cfgPath)
	if err != nil {
		return nil, fmt.Errorf("kerberos config %s: %w", cfgPath, err)
	}
	if s.Keytab != "" {
		if s.Principal == "" {
			return nil, fmt.Errorf("%s is set but %s is not", KeyKeytab, KeyPrincipal)
		}
		kt, err := keytab.Load(s.Keytab)
		if err != nil {
			return nil, fmt.Errorf("keytab %s: %w", s.Keytab, err)
		}
		name, realm, _ := strings.Cut(s.Principal, "@")
		if realm == "" {
			realm = cfg.LibDefaults.DefaultRealm
		}
		c := krb.NewWithKeytab(name, realm, kt, cfg, krb.DisablePAFXFAST(true))
		if err := c.Login(); err != nil {
			return nil, fmt.Errorf("login as %s: %w", s.Principal, err)
		}
		return c, nil
	}
	ccPath := os.Getenv(krb5CCacheEnv)
	if rest, ok := strings.CutPrefix(ccPath, "FILE:"); ok {
		ccPath = rest
	} else if strings.Contains(ccPath, ":") {
		return nil, fmt.Errorf("ticket cache %s: only FILE: caches are supported", ccPath)
	}
	if ccPath == "" {
		u, err := user.Current()
		if err != nil {
			return nil, err
		}
		ccPath = "/tmp/krb5cc_" + u.Uid
	}
	cc, err := credentials.LoadCCache(ccPath)
	if err != nil {
		return nil, fmt.Errorf("ticket cache %s: %w", ccPath, err)
	}
	return krb.NewFromCCache(cc, cfg, krb.DisablePAFXFAST(true))
}

// hdfsError sorts an HDFS failure into the kinds every uploader reports.
func hdfsError(ctx context.Context, op, remote string, err error, hint string) error {
	msg := err.Error()
	switch {
	case ctx.Err() != nil:
		return transfer.Errorf(transfer.Failed, op, remote, ctx.Err(), "")
	case errors.Is(err, os.ErrNotExist):
		return transfer.Errorf(transfer.NotFound, op, remote, err, hint)
	case errors.Is(err, os.ErrPermission):
		return transfer.Errorf(transfer.Denied, op, remote, err, hint)
	case strings.Contains(msg, "SASL") || strings.Contains(msg, "kerberos") ||
		strings.Contains(msg, "Kerberos") || strings.Contains(msg, "AccessControl"):
		return transfer.Errorf(transfer.Auth, op, remote, err, hint)
	case transfer.IsNetwork(err) || strings.Contains(msg, "no available namenodes") ||
		strings.Contains(msg, "connection refused") || strings.Contains(msg, "i/o timeout"):
		return transfer.Errorf(transfer.Network, op, remote, err, "is the namenode running and reachable?")
	default:
		return transfer.Errorf(transfer.Failed, op, remote, err, hint)
	}
}
