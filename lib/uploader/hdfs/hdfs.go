// Package hdfs is Heron's HdfsUploader on github.com/colinmarc/hdfs/v2, a
// native HDFS client: no hadoop command or JVM is needed on the submitting
// host. It reads Heron's heron.uploader.hdfs.* keys, works with plain and
// Kerberos clusters (ticket cache or keytab), registers as "hdfs"
// (org.apache.heron.uploader.hdfs.HdfsUploader) and reads hdfs:// URIs back.
//
// Differences from Heron, on purpose: the URI is joined cleanly (Heron's
// string join made "dir//name" from a directory URI ending in "/"); the
// package is written to a hidden temporary and renamed into place; Undo
// removes only a package this uploader wrote.
package hdfs

import (
	"context"
	"io"
	"net/url"
	"os"
	"strings"

	"github.com/heronkit/heronkit/lib/config"
	"github.com/heronkit/heronkit/lib/exitcode"
	"github.com/heronkit/heronkit/lib/uploader"
)

func init() {
	uploader.Register("hdfs", func(cfg *config.Config) (uploader.Uploader, error) { return New(cfg) })
	uploader.RegisterFetcher("hdfs", Fetch)
}

// Uploader puts one topology's package into HDFS.
type Uploader struct {
	Settings Settings
	// Location is the package: <directory URI>/<topology>-<role>-tag-0.tar.gz.
	Location Location
	// Progress receives a progress line for large packages when it is a terminal.
	Progress io.Writer
	uploaded bool
}

// New reads Heron's keys from cfg.
func New(cfg *config.Config) (*Uploader, error) {
	var s Settings
	var dirURI string
	for k, dst := range map[string]*string{KeyConfigDir: &s.ConfigDir, KeyDirURI: &dirURI, KeyKeytab: &s.Keytab, KeyPrincipal: &s.Principal} {
		v, err := cfg.String(k, "")
		if err != nil {
			return nil, exitcode.Wrap(exitcode.Config, err)
		}
		*dst = strings.TrimSpace(v)
	}
	if dirURI == "" {
		return nil, exitcode.WithHint(exitcode.Errorf(exitcode.Config, "missing %s config value", KeyDirURI),
			"set it in uploader.yaml, e.g. hdfs:///heron/topology/")
	}
	dir, err := ParseLocation(dirURI)
	if err != nil {
		return nil, exitcode.Wrap(exitcode.Config, err)
	}
	topo, _ := cfg.String(config.KeyTopologyName, "")
	role, _ := cfg.String(config.KeyRole, "")
	return &Uploader{Settings: s, Location: dir.Join(uploader.PackageName(topo, role)), Progress: os.Stderr}, nil
}

// Upload implements uploader.Uploader.
func (u *Uploader) Upload(ctx context.Context, pkg string) (string, error) {
	if err := put(ctx, u.Settings, pkg, u.Location, u.Progress); err != nil {
		return "", err
	}
	u.uploaded = true
	return u.Location.URI(), nil
}

// Undo implements uploader.Uploader: it removes the package if this
// uploader wrote it.
func (u *Uploader) Undo(ctx context.Context) error {
	if !u.uploaded {
		return nil
	}
	if err := remove(ctx, u.Settings, u.Location); err != nil {
		return err
	}
	u.uploaded = false
	return nil
}

// Fetch implements uploader.Fetcher for hdfs:// URIs. The Hadoop
// configuration comes from HADOOP_CONF_DIR (or HADOOP_HOME/conf), the user
// from HADOOP_USER_NAME or the login, Kerberos from the ticket cache.
func Fetch(ctx context.Context, u *url.URL, w io.Writer) error {
	loc, err := ParseLocation(u.String())
	if err != nil {
		return exitcode.Wrap(exitcode.Usage, err)
	}
	return get(ctx, Settings{}, loc, w, os.Stderr)
}
