package sftp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"time"

	"github.com/pkg/sftp"

	"github.com/heronkit/heronkit/lib/uploader/internal/transfer"
)

// cleanupTimeout bounds the removal of a temporary after an interrupt.
const cleanupTimeout = 10 * time.Second

// put copies the local file to remotePath atomically: the bytes go to a
// hidden temporary in the same directory, which is renamed over remotePath
// only once it is complete and closed. Readers see the old file or the new
// one, never a part. Stale temporaries of earlier killed uploads of the same
// file are removed first.
func put(ctx context.Context, t *Target, local, remotePath string, progress io.Writer) (err error) {
	src, err := os.Open(local)
	if err != nil {
		return transfer.Errorf(transfer.NotFound, "read topology package", local, err, "")
	}
	defer src.Close()
	st, err := src.Stat()
	if err != nil {
		return transfer.Errorf(transfer.Failed, "read topology package", local, err, "")
	}
	c, err := dial(ctx, t)
	if err != nil {
		return err
	}
	defer c.close()
	remote := t.String() + ":" + remotePath
	dir := path.Dir(remotePath)
	if err := c.sftp.MkdirAll(dir); err != nil {
		return remoteError(ctx, "create directory", t.String()+":"+dir, err,
			"the user must be able to create "+dir+" (set "+KeyDir+" to a writable directory)")
	}
	removeStaleTemps(c.sftp, remotePath)

	tmp := transfer.TempName(remotePath)
	f, err := c.sftp.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL)
	if err != nil {
		return remoteError(ctx, "create", t.String()+":"+tmp, err, "")
	}
	defer func() {
		if err == nil || c.sftp.Remove(tmp) == nil {
			return
		}
		// An interrupted upload closed its connection: remove the
		// temporary over a fresh one. When the server is gone this fails
		// too, and the next upload of the package removes it once stale.
		if ctx.Err() != nil {
			cctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
			defer cancel()
			_ = remove(cctx, t, tmp)
		}
	}()
	r, done := transfer.Progress(progress, "upload "+remote, st.Size(), src)
	n, err := f.ReadFromWithConcurrency(r, 0)
	done()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && n != st.Size() {
		err = fmt.Errorf("wrote %d of %d bytes", n, st.Size())
	}
	if err != nil {
		return remoteError(ctx, "upload to", remote, err, "")
	}
	if err = rename(c.sftp, tmp, remotePath); err != nil {
		return remoteError(ctx, "rename into place", remote, err, "")
	}
	return nil
}

// rename replaces to by from: atomically with OpenSSH's posix-rename
// extension, else by removing to first (SFTP's own rename refuses to
// overwrite), which leaves a moment without the file but never a part.
func rename(c *sftp.Client, from, to string) error {
	if _, ok := c.HasExtension("posix-rename@openssh.com"); ok {
		return c.PosixRename(from, to)
	}
	if err := c.Remove(to); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return c.Rename(from, to)
}

func removeStaleTemps(c *sftp.Client, remotePath string) {
	entries, err := c.ReadDir(path.Dir(remotePath))
	if err != nil {
		return
	}
	for _, e := range entries {
		if transfer.IsTempOf(e.Name(), remotePath) && time.Since(e.ModTime()) > transfer.StaleAfter {
			_ = c.Remove(path.Join(path.Dir(remotePath), e.Name()))
		}
	}
}

// remove deletes remotePath; a file that is already gone is not an error.
func remove(ctx context.Context, t *Target, remotePath string) error {
	c, err := dial(ctx, t)
	if err != nil {
		return err
	}
	defer c.close()
	if err := c.sftp.Remove(remotePath); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return remoteError(ctx, "remove", t.String()+":"+remotePath, err, "")
	}
	return nil
}

// get streams remotePath into w.
func get(ctx context.Context, t *Target, remotePath string, w io.Writer, progress io.Writer) error {
	c, err := dial(ctx, t)
	if err != nil {
		return err
	}
	defer c.close()
	remote := t.String() + ":" + remotePath
	f, err := c.sftp.Open(remotePath)
	if err != nil {
		return remoteError(ctx, "open", remote, err, "")
	}
	defer f.Close()
	var size int64
	if st, err := f.Stat(); err == nil {
		size = st.Size()
	}
	dst, done := transfer.ProgressWriter(progress, "fetch "+remote, size, w)
	_, err = f.WriteTo(dst)
	done()
	if err != nil {
		return remoteError(ctx, "download", remote, err, "")
	}
	return nil
}

// remoteError sorts an SFTP failure: missing path, permission, a connection
// that broke (or was cancelled), or anything else.
func remoteError(ctx context.Context, op, remote string, err error, hint string) error {
	var se *sftp.StatusError
	switch {
	case ctx.Err() != nil:
		return transfer.Errorf(transfer.Failed, op, remote, ctx.Err(), "")
	case errors.Is(err, fs.ErrNotExist):
		return transfer.Errorf(transfer.NotFound, op, remote, err, hint)
	case errors.Is(err, fs.ErrPermission):
		return transfer.Errorf(transfer.Denied, op, remote, err, hint)
	case errors.Is(err, sftp.ErrSSHFxConnectionLost), errors.Is(err, sftp.ErrSSHFxNoConnection),
		errors.As(err, &se) && se.FxCode() == sftp.ErrSSHFxConnectionLost,
		errors.As(err, &se) && se.FxCode() == sftp.ErrSSHFxNoConnection:
		return transfer.Errorf(transfer.Network, op, remote, err, "the server went away; try again when it is back")
	case transfer.IsNetwork(err):
		return transfer.Errorf(transfer.Network, op, remote, fmt.Errorf("connection lost: %w", err), "")
	default:
		return transfer.Errorf(transfer.Failed, op, remote, err, hint)
	}
}
