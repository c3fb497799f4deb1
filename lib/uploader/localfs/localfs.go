// Package localfs is Heron's LocalFileSystemUploader: it copies the package
// to heron.uploader.localfs.file.system.directory as
// <topology>-<role>-tag-0.tar.gz and returns its file:// URI. It registers
// as "localfs" (Java class org.apache.heron.uploader.localfs.LocalFileSystemUploader).
//
// Differences from Heron, on purpose: the code default directory is token
// expanded like any value (Heron leaves it raw); the copy goes to a
// temporary name and is renamed, so a reader never sees half a package; and
// Undo removes only a package this uploader wrote (Heron's undo deletes the
// file even when the upload never happened, losing the previous package).
package localfs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/heronkit/heronkit/lib/config"
	"github.com/heronkit/heronkit/lib/exitcode"
	"github.com/heronkit/heronkit/lib/uploader"
)

// DefaultDirectory is Heron's code default for the package directory.
const DefaultDirectory = "${HOME}/.herondata/repository/${CLUSTER}/${ROLE}/${TOPOLOGY}"

func init() {
	uploader.Register("localfs", func(cfg *config.Config) (uploader.Uploader, error) { return New(cfg) })
}

// Uploader copies packages into a local folder.
type Uploader struct {
	// Dest is the package's absolute destination path.
	Dest     string
	uploaded bool
}

// New reads the destination from cfg.
func New(cfg *config.Config) (*Uploader, error) {
	if !cfg.Has(config.KeyLocalFSUploadDir) {
		cfg = cfg.With(map[string]any{config.KeyLocalFSUploadDir: DefaultDirectory})
	}
	dir, err := cfg.String(config.KeyLocalFSUploadDir, "")
	if err != nil {
		return nil, exitcode.Wrap(exitcode.Config, err)
	}
	if dir == "" {
		return nil, exitcode.Errorf(exitcode.Config, "%s is empty; set it in uploader.yaml", config.KeyLocalFSUploadDir)
	}
	topo, _ := cfg.String(config.KeyTopologyName, "")
	role, _ := cfg.String(config.KeyRole, "")
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	return &Uploader{Dest: filepath.Join(abs, uploader.PackageName(topo, role))}, nil
}

// URI is the file:// URI of the destination.
func (u *Uploader) URI() string { return "file://" + filepath.ToSlash(u.Dest) }

// Upload implements uploader.Uploader.
func (u *Uploader) Upload(ctx context.Context, pkg string) (string, error) {
	src, err := os.Open(pkg)
	if errors.Is(err, os.ErrNotExist) {
		return "", exitcode.Errorf(exitcode.NotFound, "topology package does not exist at %s", pkg)
	}
	if err != nil {
		return "", err
	}
	defer src.Close()
	dir := filepath.Dir(u.Dest)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("failed to create directory for topology package at %s: %w", dir, err)
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(u.Dest)+".tmp-*")
	if err != nil {
		return "", fmt.Errorf("unable to copy topology file from %s to %s: %w", pkg, u.Dest, err)
	}
	_, err = io.Copy(tmp, src)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = ctx.Err()
	}
	if err == nil {
		err = os.Rename(tmp.Name(), u.Dest)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return "", fmt.Errorf("unable to copy topology file from %s to %s: %w", pkg, u.Dest, err)
	}
	u.uploaded = true
	return u.URI(), nil
}

// Undo implements uploader.Uploader.
func (u *Uploader) Undo(context.Context) error {
	if !u.uploaded {
		return nil
	}
	u.uploaded = false
	if err := os.Remove(u.Dest); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}
