package s3

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/minio/minio-go/v7/pkg/s3utils"
)

// defaultRegion is the region when neither the URL nor AWS_REGION nor
// AWS_DEFAULT_REGION names one (the AWS CLI's default too).
const defaultRegion = "us-east-1"

// awsHost is the endpoint when none is configured; minio-go turns it into
// the regional endpoint (s3.<region>.amazonaws.com) from the region.
const awsHost = "s3.amazonaws.com"

// config is everything Open reads from the URL and the environment.
type config struct {
	bucket   string
	prefix   string   // object key prefix without leading or trailing "/"; "" for none
	endpoint *url.URL // scheme and host of a non-AWS server; nil for AWS
	region   string
	caFile   string // AWS_CA_BUNDLE: PEM CAs trusted besides the system's
	creds    *credentials.Credentials
	credHint string // what to check when the server refuses the credentials; no secrets
}

// queryKeys are the URL query parameters Open understands.
var queryKeys = []string{"endpoint", "region"}

// parseURL splits s3://bucket/prefix?endpoint=…&region=… into its parts.
func parseURL(raw string) (bucket, prefix string, query url.Values, err error) {
	const form = "want s3://BUCKET or s3://BUCKET/PREFIX (query parameters: endpoint=URL, region=NAME)"
	u, err := url.Parse(raw)
	if err != nil {
		return "", "", nil, fmt.Errorf("remote URL %q: %v; %s", raw, err, form)
	}
	if u.Scheme != "s3" {
		return "", "", nil, fmt.Errorf("remote URL %q: scheme %q is not s3; %s", raw, u.Scheme, form)
	}
	if u.Opaque != "" || u.User != nil || u.Port() != "" || u.Fragment != "" || u.RawFragment != "" {
		return "", "", nil, fmt.Errorf("remote URL %q: %s (no user, port or fragment; credentials come from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY or ~/.aws/credentials)", raw, form)
	}
	bucket = u.Host
	if bucket == "" {
		return "", "", nil, fmt.Errorf("remote URL %q: no bucket; %s", raw, form)
	}
	if err := s3utils.CheckValidBucketName(bucket); err != nil {
		return "", "", nil, fmt.Errorf("remote URL %q: bucket %q: %v", raw, bucket, err)
	}
	prefix = strings.Trim(u.Path, "/")
	if prefix != "" {
		for seg := range strings.SplitSeq(prefix, "/") {
			if seg == "" || seg == "." || seg == ".." {
				return "", "", nil, fmt.Errorf("remote URL %q: prefix %q has an empty, \".\" or \"..\" segment", raw, prefix)
			}
			if strings.IndexFunc(seg, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0 {
				return "", "", nil, fmt.Errorf("remote URL %q: prefix %q has a control character", raw, prefix)
			}
		}
	}
	query, err = url.ParseQuery(u.RawQuery)
	if err != nil {
		return "", "", nil, fmt.Errorf("remote URL %q: query: %v; %s", raw, err, form)
	}
	for k, v := range query {
		if !slices.Contains(queryKeys, k) {
			return "", "", nil, fmt.Errorf("remote URL %q: unknown query parameter %q; %s", raw, k, form)
		}
		if len(v) != 1 || v[0] == "" {
			return "", "", nil, fmt.Errorf("remote URL %q: query parameter %q must be given once, with a value", raw, k)
		}
	}
	return bucket, prefix, query, nil
}

// parseEndpoint checks the URL of a non-AWS server: http or https, a host,
// nothing else. from names where it came from, for messages.
func parseEndpoint(raw, from string) (*url.URL, error) {
	const form = "want http://HOST[:PORT] or https://HOST[:PORT]"
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%s %q: %v; %s", from, raw, err, form)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("%s %q: scheme must be http or https; %s", from, raw, form)
	}
	if u.Host == "" || u.Hostname() == "" {
		return nil, fmt.Errorf("%s %q: no host; %s", from, raw, form)
	}
	if u.User != nil {
		return nil, fmt.Errorf("%s %q: credentials do not go in the endpoint; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY", from, u.Redacted())
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("%s %q: no path, query or fragment; %s", from, raw, form)
	}
	return &url.URL{Scheme: u.Scheme, Host: u.Host}, nil
}

// loadConfig reads the URL and the AWS variables (through env).
//
// Precedence: the URL's endpoint= over AWS_ENDPOINT_URL_S3 over
// AWS_ENDPOINT_URL; the URL's region= over AWS_REGION over
// AWS_DEFAULT_REGION over us-east-1. AWS_CA_BUNDLE names a PEM file of CAs
// that an https endpoint's certificate may chain to. Credentials: AWS_ACCESS_KEY_ID and
// AWS_SECRET_ACCESS_KEY (with AWS_SESSION_TOKEN), else the profile
// AWS_PROFILE (else "default") of the shared credentials file
// (AWS_SHARED_CREDENTIALS_FILE, else ~/.aws/credentials), else of the
// config file (AWS_CONFIG_FILE, else ~/.aws/config). With none of them the
// requests go unsigned (a public bucket can still be read).
func loadConfig(raw string, env func(string) string) (*config, error) {
	bucket, prefix, query, err := parseURL(raw)
	if err != nil {
		return nil, err
	}
	c := &config{bucket: bucket, prefix: prefix}

	for _, src := range []struct{ value, from string }{
		{query.Get("endpoint"), fmt.Sprintf("remote URL %q: endpoint", raw)},
		{env("AWS_ENDPOINT_URL_S3"), "AWS_ENDPOINT_URL_S3"},
		{env("AWS_ENDPOINT_URL"), "AWS_ENDPOINT_URL"},
	} {
		if src.value == "" {
			continue
		}
		if c.endpoint, err = parseEndpoint(src.value, src.from); err != nil {
			return nil, err
		}
		break
	}

	c.region = defaultRegion
	for _, r := range []string{query.Get("region"), env("AWS_REGION"), env("AWS_DEFAULT_REGION")} {
		if r != "" {
			c.region = r
			break
		}
	}

	c.caFile = env("AWS_CA_BUNDLE")
	c.creds, c.credHint = credentialChain(env)
	return c, nil
}

// credentialChain builds minio-go's provider chain: the environment, then
// the profile in the shared credentials file, then in the config file.
// The hint says, without secrets, what the chain will find.
func credentialChain(env func(string) string) (*credentials.Credentials, string) {
	id, secret := env("AWS_ACCESS_KEY_ID"), env("AWS_SECRET_ACCESS_KEY")
	envCreds := &credentials.Static{Value: credentials.Value{
		AccessKeyID:     id,
		SecretAccessKey: secret,
		SessionToken:    env("AWS_SESSION_TOKEN"),
		SignerType:      credentials.SignatureV4,
	}}

	profile := env("AWS_PROFILE")
	if profile == "" {
		profile = "default"
	}
	home := env("HOME")
	credsFile := env("AWS_SHARED_CREDENTIALS_FILE")
	if credsFile == "" && home != "" {
		credsFile = filepath.Join(home, ".aws", "credentials")
	}
	configFile := env("AWS_CONFIG_FILE")
	if configFile == "" && home != "" {
		configFile = filepath.Join(home, ".aws", "config")
	}

	providers := []credentials.Provider{envCreds}
	var files []string // those that exist, for the hint
	for _, f := range []string{credsFile, configFile} {
		if f == "" {
			continue
		}
		// Filename set: minio-go reads that one file, for the profile
		// named (as [name] or [profile name]), and no variable.
		providers = append(providers, &credentials.FileAWSCredentials{Filename: f, Profile: profile})
		if _, err := os.Stat(f); err == nil {
			files = append(files, f)
		}
	}

	const check = "check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
	var hint string
	switch {
	case id != "" && secret != "":
		hint = check + " (set in the environment)"
		if env("AWS_SESSION_TOKEN") != "" {
			hint += " and AWS_SESSION_TOKEN"
		}
	case len(files) > 0:
		hint = fmt.Sprintf("%s: they are not both set in the environment, so profile %q of %s was used", check, profile, strings.Join(files, " or "))
	default:
		hint = check + ": they are not set and there is no credentials file, so the requests were not signed"
	}
	return credentials.NewChainCredentials(providers), hint
}
