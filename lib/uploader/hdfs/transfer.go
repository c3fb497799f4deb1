package hdfs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"time"

	"github.com/colinmarc/hdfs/v2"

	"github.com/heronkit/heronkit/lib/uploader/internal/transfer"
)

// closeRetries bounds how often Close is retried while the namenode waits
// for the last block's replicas (HDFS answers "replicating" meanwhile).
const closeRetries = 10

// cleanupTimeout bounds the removal of a temporary after an interrupt.
const cleanupTimeout = 10 * time.Second

// put copies local to loc atomically: the bytes go to a hidden temporary in
// the same directory, which is renamed over loc (HDFS rename2 with
// overwrite) only once complete. Readers see the old file or the new one.
func put(ctx context.Context, s Settings, local string, loc Location, progress io.Writer) (err error) {
	src, err := os.Open(local)
	if err != nil {
		return transfer.Errorf(transfer.NotFound, "read topology package", local, err, "")
	}
	defer src.Close()
	st, err := src.Stat()
	if err != nil {
		return transfer.Errorf(transfer.Failed, "read topology package", local, err, "")
	}
	c, err := client(ctx, s, loc)
	if err != nil {
		return err
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()

	dir := Location{Authority: loc.Authority, Path: path.Dir(loc.Path)}
	if err := c.MkdirAll(dir.Path, 0o755); err != nil {
		return hdfsError(ctx, "create directory", dir.URI(), err,
			"set "+KeyDirURI+" to a directory the user may write")
	}
	removeStaleTemps(c, loc.Path)
	tmp := loc
	tmp.Path = transfer.TempName(loc.Path)
	w, err := c.Create(tmp.Path)
	if err != nil {
		return hdfsError(ctx, "create", tmp.URI(), err, "")
	}
	defer func() {
		if err == nil || c.Remove(tmp.Path) == nil {
			return
		}
		// An interrupted upload closed its client: remove the temporary
		// with a fresh one. When the namenode is gone this fails too, and
		// the next upload of the package removes it once stale.
		if ctx.Err() != nil {
			cctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
			defer cancel()
			_ = remove(cctx, s, tmp)
		}
	}()
	r, done := transfer.Progress(progress, "upload "+loc.URI(), st.Size(), src)
	_, err = io.Copy(&deadlineWriter{w: w}, r)
	done()
	if err == nil {
		err = closeWriter(ctx, w)
	} else {
		_ = w.Close()
	}
	if err != nil {
		return hdfsError(ctx, "upload to", loc.URI(), err, "")
	}
	if err := c.Rename(tmp.Path, loc.Path); err != nil {
		return hdfsError(ctx, "rename into place", loc.URI(), err, "")
	}
	return nil
}

// deadlineWriter bounds every write, so a datanode that stops answering
// fails the upload instead of hanging it.
type deadlineWriter struct{ w *hdfs.FileWriter }

func (d *deadlineWriter) Write(b []byte) (int, error) {
	_ = d.w.SetDeadline(time.Now().Add(ioTimeout))
	return d.w.Write(b)
}

func closeWriter(ctx context.Context, w *hdfs.FileWriter) error {
	for i := 0; ; i++ {
		err := w.Close()
		if err == nil || !hdfs.IsErrReplicating(err) || i >= closeRetries {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(i+1) * 200 * time.Millisecond):
		}
	}
}

func removeStaleTemps(c *hdfs.Client, p string) {
	entries, err := c.ReadDir(path.Dir(p))
	if err != nil {
		return
	}
	for _, e := range entries {
		if transfer.IsTempOf(e.Name(), p) && time.Since(e.ModTime()) > transfer.StaleAfter {
			_ = c.Remove(path.Join(path.Dir(p), e.Name()))
		}
	}
}

// remove deletes loc; a file already gone is not an error.
func remove(ctx context.Context, s Settings, loc Location) error {
	c, err := client(ctx, s, loc)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Remove(loc.Path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return hdfsError(ctx, "remove", loc.URI(), err, "")
	}
	return nil
}

// get streams loc into w.
func get(ctx context.Context, s Settings, loc Location, w io.Writer, progress io.Writer) error {
	c, err := client(ctx, s, loc)
	if err != nil {
		return err
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	f, err := c.Open(loc.Path)
	if err != nil {
		return hdfsError(ctx, "open", loc.URI(), err, "")
	}
	defer f.Close()
	if f.Stat().IsDir() {
		return transfer.Errorf(transfer.NotFound, "open", loc.URI(), fmt.Errorf("is a directory"), "")
	}
	dst, done := transfer.ProgressWriter(progress, "fetch "+loc.URI(), f.Stat().Size(), w)
	_, err = io.Copy(dst, f)
	done()
	if err != nil {
		return hdfsError(ctx, "download", loc.URI(), err, "")
	}
	return nil
}
