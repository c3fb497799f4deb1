package serviceclient

import (
	"context"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/heronkit/heronkit/lib/exitcode"
)

// UploadPath is the file server's upload endpoint under a server's base URL.
const UploadPath = "/api/v1/file/upload"

// Upload stores a file on the server's file store and returns the URL it
// can be downloaded from.
func (c *Client) Upload(ctx context.Context, path string) (string, error) {
	return UploadFile(ctx, c.hc, c.base+UploadPath, c.token, path)
}

// UploadFile sends path to an upload endpoint (Heron's HttpUploader: one
// POST, multipart, a single part named "file" with the file's base name and
// type application/octet-stream) and returns the URL the server answers
// with. Unlike Heron's HttpUploader it checks the status and that the
// answer is a URL. token may be empty.
func UploadFile(ctx context.Context, hc *http.Client, uploadURL, token, path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", exitcode.Wrap(exitcode.NotFound, err)
	}
	defer f.Close()
	return UploadReader(ctx, hc, uploadURL, token, filepath.Base(path), f)
}

// UploadReader is UploadFile for any reader, sent under name.
func UploadReader(ctx context.Context, hc *http.Client, uploadURL, token, name string, r io.Reader) (string, error) {
	if hc == nil {
		var err error
		if hc, err = NewHTTPClient(""); err != nil {
			return "", err
		}
	}
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		w, err := filePart(mw, "file", name)
		if err == nil {
			_, err = io.Copy(w, r)
		}
		if err == nil {
			err = mw.Close()
		}
		pw.CloseWithError(err)
	}()
	defer pr.Close()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, uploadURL, pr)
	if err != nil {
		return "", exitcode.Wrap(exitcode.Config, err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Expect", "100-continue")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return "", transportError(uploadURL, ctx, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", responseError(uploadURL, resp)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, 8<<10))
	if err != nil {
		return "", exitcode.Wrap(exitcode.Unavailable, err)
	}
	uri := strings.TrimSpace(string(b))
	u, err := url.Parse(uri)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return "", exitcode.Errorf(exitcode.DataErr, "upload to %s answered %q, which is not a package URL", uploadURL, uri)
	}
	return uri, nil
}
