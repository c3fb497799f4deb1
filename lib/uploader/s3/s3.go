// Package s3 is Heron's S3Uploader on minio-go (a small client made for S3
// and S3-compatible stores; see docs/uploaders.md for why not the AWS SDK).
// It reads Heron's heron.uploader.s3.* keys, keeps Heron's previous-version
// backup (previous_topology.tar.gz, restored by Undo and dropped by Close),
// and registers as "s3" (org.apache.heron.uploader.s3.S3Uploader). It also
// reads s3://bucket/key URIs back for containers.
//
// The returned URI is Heron's: a path-style URL on the endpoint, which a
// container can fetch with plain HTTP(S) only when the object is readable
// anonymously. For private buckets set heron.uploader.s3.return_uri: s3 and
// containers fetch s3://bucket/key with their own credentials.
package s3

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"

	"github.com/minio/minio-go/v7"

	"github.com/heronkit/heronkit/lib/config"
	"github.com/heronkit/heronkit/lib/exitcode"
	"github.com/heronkit/heronkit/lib/uploader"
	"github.com/heronkit/heronkit/lib/uploader/internal/transfer"
)

// KeyReturnURI is ours: "https" (default, Heron's URL) or "s3" (s3://bucket/key).
const KeyReturnURI = "heron.uploader.s3.return_uri"

// Environment variables fetch reads for an S3-compatible store; they are the
// AWS SDKs' own names.
const (
	EndpointEnv       = "AWS_ENDPOINT_URL_S3"
	GlobalEndpointEnv = "AWS_ENDPOINT_URL"
)

func init() {
	uploader.Register("s3", func(cfg *config.Config) (uploader.Uploader, error) { return New(cfg) })
	uploader.RegisterFetcher("s3", Fetch)
}

// Uploader puts one topology's package into a bucket.
type Uploader struct {
	Settings Settings
	// Key is the package's object key: [prefix/]<topology>/topology.tar.gz.
	Key string
	// S3URI makes Upload return s3://bucket/key instead of Heron's URL.
	S3URI bool
	// Progress receives a progress line for large packages when it is a terminal.
	Progress io.Writer

	client   *minio.Client
	base     *url.URL
	uploaded bool
}

// New reads Heron's keys from cfg and sets up the client (credentials are
// resolved here, so a missing one is reported before anything is sent).
func New(cfg *config.Config) (*Uploader, error) {
	var s Settings
	for k, dst := range map[string]*string{
		KeyBucket: &s.Bucket, KeyPathPrefix: &s.PathPrefix, KeyAccessKey: &s.AccessKey,
		KeySecretKey: &s.SecretKey, KeyProfile: &s.Profile, KeyRegion: &s.Region,
		KeyEndpoint: &s.Endpoint, KeyProxy: &s.Proxy,
	} {
		v, err := cfg.String(k, "")
		if err != nil {
			return nil, exitcode.Wrap(exitcode.Config, err)
		}
		*dst = strings.TrimSpace(v)
	}
	if s.Proxy == "" {
		s.Proxy, _ = cfg.String(misspeltProxyKey, "")
	}
	var err error
	if s.InstanceCredentials, err = cfg.Bool(KeyInstanceCreds, false); err != nil {
		return nil, exitcode.Wrap(exitcode.Config, err)
	}
	if s.Bucket == "" {
		return nil, exitcode.WithHint(exitcode.Errorf(exitcode.Config, "missing %s config value", KeyBucket), "set it in uploader.yaml")
	}
	ret, err := cfg.String(KeyReturnURI, "https")
	if err != nil || (ret != "https" && ret != "s3") {
		return nil, exitcode.Errorf(exitcode.Config, "%s must be https or s3, not %q", KeyReturnURI, ret)
	}
	topo, _ := cfg.String(config.KeyTopologyName, "")
	u := &Uploader{Settings: s, Key: ObjectKey(s.PathPrefix, topo), S3URI: ret == "s3", Progress: os.Stderr}
	if u.client, u.base, err = s.client(); err != nil {
		code := exitcode.Config
		if strings.Contains(err.Error(), "no S3 credentials") {
			code = exitcode.Forbidden
		}
		return nil, exitcode.Wrap(code, fmt.Errorf("s3 uploader: %w", err))
	}
	return u, nil
}

// URI is where Upload says the package is.
func (u *Uploader) URI() string {
	if u.S3URI {
		return "s3://" + u.Settings.Bucket + "/" + u.Key
	}
	return objectURL(u.base, u.Settings.Bucket, u.Key)
}

// remote names the object in messages.
func (u *Uploader) remote() string { return "s3://" + u.Settings.Bucket + "/" + u.Key }

// Upload implements uploader.Uploader.
func (u *Uploader) Upload(ctx context.Context, pkg string) (string, error) {
	if _, err := os.Stat(pkg); err != nil {
		return "", transfer.Errorf(transfer.NotFound, "read topology package", pkg, err, "")
	}
	if _, err := put(ctx, u.client, u.remote(), u.Settings.Bucket, u.Key, pkg, u.Progress); err != nil {
		return "", err
	}
	u.uploaded = true
	return u.URI(), nil
}

// Undo implements uploader.Uploader: the previous package comes back from
// the backup, or, when there was none, the package is removed.
func (u *Uploader) Undo(ctx context.Context) error {
	if !u.uploaded {
		return nil
	}
	if err := restore(ctx, u.client, u.remote(), u.Settings.Bucket, u.Key); err != nil {
		return err
	}
	u.uploaded = false
	return nil
}

// Close drops the previous-version backup, as Heron's close does once a
// submission is over (whether it succeeded or was undone).
func (u *Uploader) Close(ctx context.Context) error {
	return dropBackup(ctx, u.client, u.remote(), u.Settings.Bucket, u.Key)
}

// Fetch implements uploader.Fetcher for s3://bucket/key: credentials and
// region come from the AWS environment and files, the endpoint from
// AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL (AWS itself when unset).
func Fetch(ctx context.Context, u *url.URL, w io.Writer) error {
	bucket, key := u.Host, strings.TrimPrefix(u.Path, "/")
	if bucket == "" || key == "" {
		return exitcode.Errorf(exitcode.Usage, "%q is not an s3://bucket/key URI", u)
	}
	s := Settings{Bucket: bucket, Endpoint: os.Getenv(EndpointEnv)}
	if s.Endpoint == "" {
		s.Endpoint = os.Getenv(GlobalEndpointEnv)
	}
	c, _, err := s.client()
	if err != nil {
		return exitcode.Wrap(exitcode.Config, fmt.Errorf("fetch %s: %w", u, err))
	}
	return get(ctx, c, u.String(), bucket, key, w, os.Stderr)
}
