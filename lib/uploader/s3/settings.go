package s3

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"gopkg.in/ini.v1"
)

// Heron's S3Uploader keys, plus one of ours (instance credentials, which the
// AWS SDK's default chain tried without being asked; we ask, because probing
// the metadata address off EC2 only wastes time).
const (
	KeyBucket         = "heron.uploader.s3.bucket"
	KeyPathPrefix     = "heron.uploader.s3.path_prefix"
	KeyAccessKey      = "heron.uploader.s3.access_key"
	KeySecretKey      = "heron.uploader.s3.secret_key"
	KeyProfile        = "heron.uploader.s3.aws_profile"
	KeyRegion         = "heron.uploader.s3.region"
	KeyEndpoint       = "heron.uploader.s3.uri"
	KeyProxy          = "heron.uploader.s3.proxy_uri"
	KeyInstanceCreds  = "heron.uploader.s3.use_instance_credentials"
	misspeltProxyKey  = "heron.upload.s3.proxy_uri" // as in Heron's sample config
	defaultRegion     = "us-west-2"                 // the AWS SDK's default in Heron
	packageName       = "topology.tar.gz"
	backupName        = "previous_topology.tar.gz"
	awsGlobalEndpoint = "s3.amazonaws.com"
)

// Settings are Heron's S3 keys.
type Settings struct {
	Bucket     string
	PathPrefix string
	AccessKey  string
	SecretKey  string
	Profile    string
	Region     string
	// Endpoint is an S3-compatible store: host:port (HTTPS, as in Heron) or
	// a URL with http:// or https://. Empty means AWS.
	Endpoint string
	Proxy    string
	// InstanceCredentials adds the EC2/ECS metadata credentials to the chain.
	InstanceCredentials bool
}

// endpoint resolves where requests go: host[:port] and whether over TLS.
func (s Settings) endpoint() (host string, secure bool, aws bool, err error) {
	e := strings.TrimSpace(s.Endpoint)
	if e == "" {
		if s.region() == "us-east-1" {
			return awsGlobalEndpoint, true, true, nil
		}
		return "s3." + s.region() + ".amazonaws.com", true, true, nil
	}
	if !strings.Contains(e, "://") {
		e = "https://" + e
	}
	u, err := url.Parse(e)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return "", false, false, fmt.Errorf("%s: bad endpoint %q (want host:port or http(s)://host:port)", KeyEndpoint, s.Endpoint)
	}
	return u.Host, u.Scheme == "https", strings.HasSuffix(u.Hostname(), ".amazonaws.com"), nil
}

// region: the key, then AWS_REGION, AWS_DEFAULT_REGION, the profile's region
// in the AWS config file, then Heron's default.
func (s Settings) region() string {
	if s.Region != "" {
		return s.Region
	}
	for _, env := range []string{"AWS_REGION", "AWS_DEFAULT_REGION"} {
		if r := os.Getenv(env); r != "" {
			return r
		}
	}
	if r := profileRegion(s.Profile); r != "" {
		return r
	}
	return defaultRegion
}

func profileRegion(profile string) string {
	if profile == "" {
		profile = os.Getenv("AWS_PROFILE")
	}
	if profile == "" {
		profile = "default"
	}
	file := os.Getenv("AWS_CONFIG_FILE")
	if file == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return ""
		}
		file = filepath.Join(home, ".aws", "config")
	}
	cfg, err := ini.Load(file)
	if err != nil {
		return ""
	}
	for _, name := range []string{"profile " + profile, profile} {
		if sec, err := cfg.GetSection(name); err == nil {
			if r := sec.Key("region").String(); r != "" {
				return r
			}
		}
	}
	return ""
}

// credentials: the configured keys, else the standard AWS chain: the
// environment (AWS_ACCESS_KEY_ID, ...), then the shared files
// (~/.aws/credentials and ~/.aws/config, profile from the key or AWS_PROFILE),
// then instance credentials when asked for or when a container/web-identity
// variable says they exist.
func (s Settings) credentials() (*credentials.Credentials, error) {
	if (s.AccessKey == "") != (s.SecretKey == "") {
		return nil, fmt.Errorf("set both %s and %s, or neither", KeyAccessKey, KeySecretKey)
	}
	if s.AccessKey != "" {
		if s.Profile != "" {
			return nil, fmt.Errorf("%s and %s exclude each other: use keys or a profile", KeyAccessKey, KeyProfile)
		}
		return credentials.NewStaticV4(s.AccessKey, s.SecretKey, ""), nil
	}
	var chain []credentials.Provider
	if s.Profile == "" {
		chain = append(chain, &credentials.EnvAWS{})
	}
	chain = append(chain, &credentials.FileAWSCredentials{Profile: s.Profile})
	if s.InstanceCredentials || os.Getenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") != "" ||
		os.Getenv("AWS_CONTAINER_CREDENTIALS_FULL_URI") != "" || os.Getenv("AWS_WEB_IDENTITY_TOKEN_FILE") != "" {
		chain = append(chain, &credentials.IAM{})
	}
	c := credentials.NewChainCredentials(chain)
	v, err := c.Get()
	if err != nil || v.AccessKeyID == "" || v.SecretAccessKey == "" {
		return nil, errors.New("no S3 credentials: set " + KeyAccessKey + " and " + KeySecretKey +
			", or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or a profile in ~/.aws/credentials")
	}
	return c, nil
}

// client builds the S3 client and the base URL of returned package URLs.
func (s Settings) client() (*minio.Client, *url.URL, error) {
	host, secure, aws, err := s.endpoint()
	if err != nil {
		return nil, nil, err
	}
	creds, err := s.credentials()
	if err != nil {
		return nil, nil, err
	}
	tr, err := minio.DefaultTransport(secure)
	if err != nil {
		return nil, nil, err
	}
	if s.Proxy != "" {
		pu, err := url.Parse(s.Proxy)
		if err != nil || pu.Host == "" {
			return nil, nil, fmt.Errorf("%s: bad proxy %q (want http://[user:pass@]host:port)", KeyProxy, s.Proxy)
		}
		tr.Proxy = http.ProxyURL(pu)
	}
	lookup := minio.BucketLookupPath
	if aws {
		// AWS prefers virtual-host requests; the URL we return stays
		// path-style, as Heron's was, which AWS still serves.
		lookup = minio.BucketLookupAuto
	}
	c, err := minio.New(host, &minio.Options{
		Creds:        creds,
		Secure:       secure,
		Region:       s.region(),
		Transport:    tr,
		BucketLookup: lookup,
		// A store that went away fails the upload in seconds, not after
		// minio-go's default ten retries.
		MaxRetries: 3,
	})
	if err != nil {
		return nil, nil, err
	}
	scheme := "http"
	if secure {
		scheme = "https"
	}
	return c, &url.URL{Scheme: scheme, Host: host}, nil
}

// ObjectKey is where a topology's package goes: the path prefix's non-empty
// segments, the topology name, then topology.tar.gz. (Heron kept an empty
// first segment for a prefix with a leading slash, making keys that start
// with "/"; we drop it.)
func ObjectKey(prefix, topology string) string {
	var parts []string
	for _, p := range strings.Split(prefix, "/") {
		if p != "" {
			parts = append(parts, p)
		}
	}
	return strings.Join(append(parts, topology, packageName), "/")
}

// backupKey is the previous version's key, next to key.
func backupKey(key string) string {
	if i := strings.LastIndex(key, "/"); i >= 0 {
		return key[:i+1] + backupName
	}
	return backupName
}

// objectURL is Heron's package URI: a path-style URL on the endpoint.
func objectURL(base *url.URL, bucket, key string) string {
	u := *base
	u.Path = "/" + bucket + "/" + key
	return u.String()
}
