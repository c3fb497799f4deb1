// Package httpuploader is Heron's HttpUploader
// (org.apache.heron.uploader.http.HttpUploader, short name "http"): it posts
// the package to heron.uploader.http.uri, typically a heron-apiserver's
// http://host:9000/api/v1/file/upload, as one multipart part named "file",
// and returns the URL the server answers with. Containers then download the
// package over plain HTTP.
//
// Differences from Heron, on purpose: the HTTP status is checked and the
// answer must be a URL (Heron takes any body, an error page included, as the
// package URI); a bearer token is sent when heron.uploader.http.token or
// $HERON_APISERVER_TOKEN is set; and Undo deletes the uploaded file (DELETE
// on its download URL, which heron-apiserver supports) where Heron's undo
// does nothing and leaves the package behind.
package httpuploader

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"strings"

	"github.com/heronkit/heronkit/lib/config"
	"github.com/heronkit/heronkit/lib/exitcode"
	"github.com/heronkit/heronkit/lib/serviceclient"
	"github.com/heronkit/heronkit/lib/uploader"
)

// Heron's key and ours.
const (
	KeyURI   = "heron.uploader.http.uri"
	KeyToken = "heron.uploader.http.token"
)

func init() {
	uploader.Register("http", func(cfg *config.Config) (uploader.Uploader, error) { return New(cfg) })
}

// Uploader posts packages to an upload endpoint.
type Uploader struct {
	URI   string
	token string
	hc    *http.Client
	// uploaded is the URL of the package this uploader stored, for Undo.
	uploaded string
}

// New reads heron.uploader.http.uri (required) and the optional token.
func New(cfg *config.Config) (*Uploader, error) {
	uri, err := cfg.String(KeyURI, "")
	if err != nil {
		return nil, exitcode.Wrap(exitcode.Config, err)
	}
	if strings.TrimSpace(uri) == "" {
		return nil, exitcode.WithHint(exitcode.Errorf(exitcode.Config, "%s property must be set", KeyURI),
			"set it in uploader.yaml, e.g. http://<apiserver>:9000/api/v1/file/upload")
	}
	token, err := cfg.String(KeyToken, "")
	if err != nil {
		return nil, exitcode.Wrap(exitcode.Config, err)
	}
	if token == "" {
		token = os.Getenv(serviceclient.EnvToken)
	}
	hc, err := serviceclient.NewHTTPClient("")
	if err != nil {
		return nil, err
	}
	return &Uploader{URI: strings.TrimSpace(uri), token: token, hc: hc}, nil
}

// Upload implements uploader.Uploader.
func (u *Uploader) Upload(ctx context.Context, pkg string) (string, error) {
	if _, err := os.Stat(pkg); errors.Is(err, os.ErrNotExist) {
		return "", exitcode.Errorf(exitcode.NotFound, "topology package does not exist at %s", pkg)
	}
	uri, err := serviceclient.UploadFile(ctx, u.hc, u.URI, u.token, pkg)
	if err != nil {
		return "", err
	}
	u.uploaded = uri
	return uri, nil
}

// Undo deletes the package this uploader stored; without one it does nothing.
// A server that cannot delete (Heron's API server answers 404 or 405) leaves
// the file, as Heron's own undo does.
func (u *Uploader) Undo(ctx context.Context) error {
	if u.uploaded == "" {
		return nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodDelete, u.uploaded, nil)
	if err != nil {
		return err
	}
	if u.token != "" {
		req.Header.Set("Authorization", "Bearer "+u.token)
	}
	resp, err := u.hc.Do(req)
	if err != nil {
		return exitcode.Errorf(exitcode.Unavailable, "undo upload %s: %v", u.uploaded, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	switch resp.StatusCode {
	case http.StatusOK, http.StatusNoContent, http.StatusNotFound, http.StatusMethodNotAllowed:
		u.uploaded = ""
		return nil
	}
	return exitcode.Errorf(exitcode.Failure, "undo upload %s: %s", u.uploaded, resp.Status)
}
